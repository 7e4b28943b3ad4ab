// Fuzz target: checkpoint notes (C2SP signed notes), as `till audit verify` reads them.
import FuzzSupport
import TillAudit

/// Parses the input as a signed note and as a checkpoint's text. A checkpoint that parses
/// must read back from the text it prints.
func fuzzCheckpoint(_ input: UnsafeRawBufferPointer) {
    let text = String(decoding: input, as: UTF8.self)
    if let note = try? SignedNote(parsing: text) {
        _ = try? Checkpoint(text: note.text)
    }
    if let checkpoint = try? Checkpoint(text: text) {
        guard let again = try? Checkpoint(text: checkpoint.text), again == checkpoint else {
            fuzzFailure("checkpoint \(checkpoint.size) does not read back from its own text")
        }
    }
}

#if TILL_FUZZING
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    fuzzCheckpoint(fuzzInput(data, size))
    return 0
}
#else
@main enum Replay {
    static func main() { replayFiles(fuzzCheckpoint) }
}
#endif
