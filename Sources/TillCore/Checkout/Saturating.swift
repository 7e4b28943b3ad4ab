// Sums of amounts are bounded far below Int64.max by the invariants, but a stored payment
// read back from disk is input: arithmetic on it must clamp, never trap.
extension Int64 {
    static func saturating(_ a: Int64, plus b: Int64) -> Int64 {
        let (result, overflow) = a.addingReportingOverflow(b)
        return overflow ? (b > 0 ? .max : .min) : result
    }

    static func saturating(_ a: Int64, minus b: Int64) -> Int64 {
        let (result, overflow) = a.subtractingReportingOverflow(b)
        return overflow ? (b < 0 ? .max : .min) : result
    }
}
