import Logging
import TillCore

/// Wraps a log handler so that nothing PAN-like reaches it: the message, every metadata key
/// and value (the handler's own, the provider's and the line's), and the error are masked
/// with ``PANScreen/mask(_:)`` before the wrapped handler sees them.
///
/// Installed once where a logger is made (the daemon, the `till` CLI), it covers every log
/// line of every component, including the ones no one thought could hold a card number (a
/// URL path, a gateway's error text), instead of each call site remembering to mask.
public struct PANMaskingLogHandler: LogHandler {
    private var inner: any LogHandler
    /// Kept here and applied before masking, so the provider's values are masked too.
    public var metadataProvider: Logger.MetadataProvider?

    public init(wrapping inner: any LogHandler) {
        var inner = inner
        self.metadataProvider = inner.metadataProvider
        // Only when there is one: handlers without provider support warn on the set.
        if inner.metadataProvider != nil { inner.metadataProvider = nil }
        // The handler's stored metadata may predate the wrapping.
        inner.metadata = Self.mask(inner.metadata)
        self.inner = inner
    }

    /// `logger` with its handler wrapped (once: wrapping twice only masks twice).
    public static func masking(_ logger: Logger) -> Logger {
        guard !(logger.handler is PANMaskingLogHandler) else { return logger }
        var logger = logger
        logger.handler = PANMaskingLogHandler(wrapping: logger.handler)
        return logger
    }

    public var logLevel: Logger.Level {
        get { inner.logLevel }
        set { inner.logLevel = newValue }
    }

    public var metadata: Logger.Metadata {
        get { inner.metadata }
        set { inner.metadata = Self.mask(newValue) }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { inner[metadataKey: key] }
        set { inner[metadataKey: PANScreen.mask(key)] = newValue.map(Self.mask) }
    }

    public func log(event: LogEvent) {
        var event = event
        event.message = Logger.Message(stringLiteral: PANScreen.mask(event.message.description))
        var metadata = metadataProvider?.get() ?? [:]
        if let extra = event.metadata { metadata.merge(extra) { _, line in line } }
        // An error's description is text like any other; it goes on as masked metadata.
        if let error = event.error {
            if metadata["error"] == nil { metadata["error"] = .string(String(describing: error)) }
            event.error = nil
        }
        event.metadata = metadata.isEmpty ? nil : Self.mask(metadata)
        inner.log(event: event)
    }

    static func mask(_ metadata: Logger.Metadata) -> Logger.Metadata {
        var masked: Logger.Metadata = [:]
        for (key, value) in metadata { masked[PANScreen.mask(key)] = mask(value) }
        return masked
    }

    static func mask(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let text): .string(PANScreen.mask(text))
        case .stringConvertible(let convertible): .string(PANScreen.mask(convertible.description))
        case .dictionary(let dictionary): .dictionary(mask(dictionary))
        case .array(let values): .array(values.map(mask))
        }
    }
}
