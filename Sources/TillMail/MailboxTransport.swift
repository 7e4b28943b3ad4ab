public import struct Foundation.Data
public import struct Foundation.Date

/// An in-memory mailbox for sandbox mode: accepts every message, keeps the last
/// ``capacity`` so a developer can read what would have been sent.
///
/// It refuses what a real server would refuse for its size, so sandbox and production fail
/// alike on an oversized invoice.
public actor MailboxTransport: MailTransport {
    public struct Delivery: Sendable, Equatable, Identifiable {
        /// Increasing from 1 for the mailbox's lifetime; never reused after eviction.
        public let id: Int
        public let envelope: MailEnvelope
        public let message: Data
        public let receivedAt: Date
    }

    public let capacity: Int
    public let maxMessageSize: Int
    private var deliveries: [Delivery] = []
    private var nextID = 1
    private let clock: @Sendable () -> Date

    public init(capacity: Int = 100, maxMessageSize: Int = EmailMessage.defaultMaxSize,
                clock: @escaping @Sendable () -> Date = { Date() }) {
        self.capacity = max(1, capacity)
        self.maxMessageSize = maxMessageSize
        self.clock = clock
    }

    public func send(_ envelope: MailEnvelope, message: Data) async throws {
        guard message.count <= maxMessageSize else { throw MailError.tooLarge(message.count, limit: maxMessageSize) }
        deliveries.append(Delivery(id: nextID, envelope: envelope, message: message, receivedAt: clock()))
        nextID += 1
        if deliveries.count > capacity { deliveries.removeFirst(deliveries.count - capacity) }
    }

    /// Oldest first.
    public var messages: [Delivery] { deliveries }

    public func message(id: Int) -> Delivery? { deliveries.first { $0.id == id } }

    /// The messages whose envelope includes `recipient` (compared case-insensitively), oldest first.
    public func messages(to recipient: String) -> [Delivery] {
        let wanted = recipient.lowercased()
        return deliveries.filter { $0.envelope.recipients.contains { $0.addrSpec.lowercased() == wanted } }
    }

    public func removeAll() { deliveries.removeAll() }
}
