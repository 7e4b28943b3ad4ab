import Foundation

/// Polls `check` until it returns a value: for effects that land asynchronously
/// (reconciliation, webhooks). Ten seconds at most, never a timing assertion.
func eventually<T>(_ check: () async throws -> T?) async throws -> T {
    for _ in 0..<200 {
        if let value = try await check() { return value }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw TestFailure(description: "the condition did not hold in time")
}

struct TestFailure: Error, CustomStringConvertible {
    let description: String
}
