// What every fuzz target shares. A fuzz target is built two ways:
// - by .ci/fuzz with `--sanitize=fuzzer -Xswiftc -DTILL_FUZZING`: it exports
//   `LLVMFuzzerTestOneInput` and libFuzzer supplies `main`;
// - by a plain `swift build`: it is a replayer whose `main` feeds each file named on the
//   command line through the same code, so a crash input can be rerun under a debugger.
import Foundation

/// Feeds every file named in `CommandLine.arguments` to `body`, for replaying crash inputs
/// and corpora without libFuzzer.
public func replayFiles(_ body: (UnsafeRawBufferPointer) -> Void) {
    var paths: [String] = []
    for argument in CommandLine.arguments.dropFirst() {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: argument, isDirectory: &isDirectory) else {
            print("no such file: \(argument)")
            continue
        }
        if isDirectory.boolValue {
            let names = (try? FileManager.default.contentsOfDirectory(atPath: argument)) ?? []
            paths += names.sorted().map { argument + "/" + $0 }
        } else {
            paths.append(argument)
        }
    }
    for path in paths {
        guard let data = FileManager.default.contents(atPath: path) else { continue }
        data.withUnsafeBytes { body($0) }
    }
    print("replayed \(paths.count) input(s)")
}

/// The fuzz input as a buffer; libFuzzer may pass a null pointer for the empty input.
public func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> UnsafeRawBufferPointer {
    guard let data, size > 0 else { return UnsafeRawBufferPointer(start: nil, count: 0) }
    return UnsafeRawBufferPointer(start: data, count: size)
}

/// A property a fuzz target checks failed: stop, so libFuzzer records the input.
public func fuzzFailure(_ message: String) -> Never {
    fatalError(message)
}

/// Runs `body` to completion on the calling thread. libFuzzer's entry point is
/// synchronous while some parsers under test are `async` (they may fetch a certificate);
/// the fuzz inputs never reach the network, so the wait is short.
public func blocking(_ body: @escaping @Sendable () async -> Void) {
    let done = DispatchSemaphore(value: 0)
    Task {
        await body()
        done.signal()
    }
    done.wait()
}
