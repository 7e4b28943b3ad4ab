import ServiceLifecycle

/// A sandbox's own timer for delayed behaviours (a pending refund settling, a dispute after
/// capture): it runs as a service beside the HTTP server and stops with it.
public final class DelayedWork: Service, Sendable {
    private struct Job: Sendable {
        var delay: Duration
        var action: @Sendable () -> Void
    }

    private let jobs: AsyncStream<Job>
    private let queue: AsyncStream<Job>.Continuation

    public init() {
        (jobs, queue) = AsyncStream.makeStream(of: Job.self)
    }

    /// Runs `action` once `delay` has passed, unless the sandbox stops first.
    public func schedule(after delay: Duration, _ action: @escaping @Sendable () -> Void) {
        queue.yield(Job(delay: delay, action: action))
    }

    public func run() async throws {
        await withDiscardingTaskGroup { group in
            await withGracefulShutdownHandler {
                for await job in jobs {
                    group.addTask {
                        do {
                            try await Task.sleep(for: job.delay)
                        } catch {
                            return
                        }
                        job.action()
                    }
                }
            } onGracefulShutdown: {
                self.queue.finish()
            }
            group.cancelAll()
        }
    }
}
