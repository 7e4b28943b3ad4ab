// Fuzz target: audit log lines, as `till audit verify` reads them from a copy of the log.
import FuzzSupport
@_spi(Fuzzing) import TillAudit

/// Parses the input as one stored line. An entry that parses must serialize to a line that
/// parses back to the same entry, and the verifier's fast header read must never accept a
/// line the checked parser refuses, or read it differently.
func fuzzAuditLine(_ input: UnsafeRawBufferPointer) {
    guard AuditEntry.fastHeaderAgreesWithParser(input) else {
        fuzzFailure("the fast header read disagrees with the parser")
    }
    guard let entry = try? AuditEntry(line: Array(input)) else { return }
    guard let again = try? AuditEntry(line: entry.line), again == entry else {
        fuzzFailure("entry \(entry.sequence) does not read back from its own line")
    }
}

#if TILL_FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzAuditLine(fuzzInput(data, size))
    return 0
}
#else
@main enum Replay {
    static func main() { replayFiles(fuzzAuditLine) }
}
#endif
