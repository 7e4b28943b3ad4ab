// Fuzz target: the API's JSON request bodies (`RequestBody` over the strict reader
// `StrictJSON`) and how the payment, token, capture, refund and dispute-evidence routes read
// their fields; the media-type check on the same bytes read as a header value.
import TillCore
import FuzzSupport

// The routes' field readers are internal; debug builds (fuzz builds are debug) allow
// testable imports, a release build compiles this target as an empty replayer.
#if DEBUG
@testable import TillServer

private let routeFields: [Set<String>] = [
    ["amount", "currency", "token", "capture", "gateway", "description", "metadata"],
    ["card"], ["amount", "final"], ["amount", "reason"], ["url"], Set(TillServer.evidenceFields), [],
]

func fuzzRequestBody(_ input: UnsafeRawBufferPointer) {
    let bytes = Array(input)
    // What the strict reader accepts, it reads back equal from its own serialization.
    if let value = try? StrictJSON.parse(bytes) {
        guard let again = try? StrictJSON.parse(Array(value.data)), again == value else {
            fatalError("StrictJSON does not read back its own output")
        }
    }
    _ = try? RequestBody.checkMediaType([String(decoding: bytes.prefix(256), as: UTF8.self)])
    for allowed in routeFields {
        guard let body = try? RequestBody(bytes, allowed: allowed, cardNumberFields: ["card.number"]) else { continue }
        for name in body.fields.keys {
            _ = try? body.string(name)
            _ = try? body.integer(name)
            _ = try? body.bool(name)
            _ = try? body.metadata(name)
        }
        _ = try? TillServer.newPayment(body)
        _ = try? TillServer.evidence(body)
        if let card = try? body.object("card"),
            let fields = try? RequestBody(
                fields: card, allowed: ["number", "exp_month", "exp_year", "cvc", "name"], prefix: "card")
        {
            _ = try? fields.requiredString("number")
            _ = try? fields.integer("exp_month")
        }
    }
}
#else
func fuzzRequestBody(_ input: UnsafeRawBufferPointer) {}
#endif

#if TILL_FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzRequestBody(fuzzInput(data, size))
    return 0
}
#else
@main enum Replay {
    static func main() { replayFiles(fuzzRequestBody) }
}
#endif
