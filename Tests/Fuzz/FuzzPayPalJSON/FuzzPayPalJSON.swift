// Fuzz target: the PayPal sandbox's JSON bodies, parsed and read the way an order creation
// reads them (amounts, payment source, card).
import Foundation
import FuzzSupport

// The sandbox's JSON reading is internal; debug builds (fuzz builds are debug) allow
// testable imports, a release build compiles this target as an empty replayer.
#if DEBUG
@testable import PayPalSandbox

private let now = Date(timeIntervalSince1970: 1_700_000_000)

func fuzzPayPalJSON(_ input: UnsafeRawBufferPointer) {
    guard let value = JSONValue.parse(Array(input)) else { return }
    _ = value.canonical
    guard case .object(let members) = value, let body = try? Fields(value, pointer: "", allowed: Set(members.keys))
    else { return }
    for key in members.keys {
        _ = try? body.string(key)
        _ = try? body.bool(key)
        _ = try? body.money(key)
        _ = try? body.array(key)
    }
    _ = try? parsePaymentSource(body, now: now)
    if let units = try? body.array("purchase_units") {
        for (index, unit) in units.enumerated() {
            guard case .object(let fields) = unit,
                let unit = try? Fields(unit, pointer: "/purchase_units/\(index)", allowed: Set(fields.keys))
            else { continue }
            _ = try? unit.money("amount", extraAllowed: ["breakdown"])
        }
    }
}
#else
func fuzzPayPalJSON(_ input: UnsafeRawBufferPointer) {}
#endif

#if TILL_FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzPayPalJSON(fuzzInput(data, size))
    return 0
}
#else
@main enum Replay {
    static func main() { replayFiles(fuzzPayPalJSON) }
}
#endif
