// Fuzz target: the Stripe sandbox's form bodies and query strings (`FormParameters`).
import FuzzSupport

// FormParameters is internal to the sandbox; debug builds (fuzz builds are debug) allow
// testable imports, a release build compiles this target as an empty replayer.
#if DEBUG
@testable import StripeSandbox

/// Decodes the input as `application/x-www-form-urlencoded` and reads it the ways the
/// endpoints do.
func fuzzStripeForm(_ input: UnsafeRawBufferPointer) {
    guard let form = try? FormParameters(decoding: input) else { return }
    _ = form.canonical
    for (key, value) in form.values {
        _ = value.list
        _ = try? form.string(key)
        _ = try? form.integer(key)
        _ = try? form.boolean(key)
        _ = try? form.hash(key)
        _ = try? form.metadata(key)
        _ = try? form.strings(key)
    }
    _ = try? form.allowOnly(["amount", "currency", "metadata", "expand", "payment_method"])
}
#else
func fuzzStripeForm(_ input: UnsafeRawBufferPointer) {}
#endif

#if TILL_FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzStripeForm(fuzzInput(data, size))
    return 0
}
#else
@main enum Replay {
    static func main() { replayFiles(fuzzStripeForm) }
}
#endif
