import TillCore
import TillStore

/// A row that another layer writes in the same durable transaction as the engine's next
/// payment write: the API's idempotency record, so that "the payment was saved" and "this
/// request was answered" can never disagree after a crash.
public protocol PaymentWriteCompanion: Sendable {
    /// The idempotency record to commit with this write of `loaded`, or `nil` for none.
    func idempotencyRecord(forWriteOf loaded: PaymentEngine.Loaded) -> IdempotencyRecord?
    /// The write that carried `record` committed.
    func saved(_ record: IdempotencyRecord)
}

/// Where the engine finds the companion of the work running now: set by the caller around
/// a call into the engine, and read by every payment write under it.
public enum PaymentWrites {
    @TaskLocal public static var companion: (any PaymentWriteCompanion)?
}
