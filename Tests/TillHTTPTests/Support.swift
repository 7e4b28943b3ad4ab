import TillHTTP

/// Fails a test instead of hanging it: every await in these tests has a bound.
struct BoundExceeded: Error, CustomStringConvertible {
    let seconds: Int
    var description: String { "operation did not finish within \(seconds) s" }
}

func bounded<T: Sendable>(
    seconds: Int = 30,
    _ operation: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await operation() }
        group.addTask {
            try await Task.sleep(for: .seconds(seconds))
            throw BoundExceeded(seconds: seconds)
        }
        defer { group.cancelAll() }
        guard let first = try await group.next() else { throw BoundExceeded(seconds: seconds) }
        return first
    }
}

/// Polls `condition` until it holds or `seconds` pass; returns whether it held.
func eventually(seconds: Int = 10, _ condition: () -> Bool) async -> Bool {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if condition() { return true }
        try? await Task.sleep(for: .milliseconds(10))
    }
    return condition()
}

/// Runs `execute` and returns its error, or nil when it succeeded.
func failure(
    _ client: HTTPClient,
    _ request: HTTPRequest,
    timeout: Duration? = nil
) async throws -> HTTPClientError? {
    try await bounded { () async throws -> HTTPClientError? in
        do throws(HTTPClientError) {
            _ = try await client.execute(request, timeout: timeout)
            return nil
        } catch {
            return error
        }
    }
}

extension HTTPResponse {
    var text: String { String(decoding: body, as: UTF8.self) }
}
