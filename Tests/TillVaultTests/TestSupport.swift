import Foundation
import Synchronization
import TillCore
import TillCrypto
import TillStore
@testable import TillVault

/// A clock tests move by hand.
final class TestClock: Sendable {
    private let time: Mutex<Date>

    init(_ start: Date = utc(2025, 3, 15, 12, 0, 0)) {
        time = Mutex(start)
    }

    var now: Date { time.withLock { $0 } }

    func advance(seconds: TimeInterval) {
        time.withLock { $0 = $0.addingTimeInterval(seconds) }
    }

    var function: @Sendable () -> Date { { self.now } }
}

func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0, _ second: Int = 0) -> Date {
    var calendar = Calendar(identifier: .gregorian)
    calendar.timeZone = TimeZone(identifier: "UTC")!
    return calendar.date(
        from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute, second: second))!
}

/// A temporary data directory, removed by `cleanup()`.
struct TemporaryDirectory {
    let path: String

    init() throws {
        path = FileManager.default.temporaryDirectory
            .appendingPathComponent("till-vault-\(UUID().uuidString)", isDirectory: true).path
        try FileManager.default.createDirectory(
            atPath: path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
    }

    func file(_ name: String) -> String { (path as NSString).appendingPathComponent(name) }

    func cleanup() { try? FileManager.default.removeItem(atPath: path) }
}

/// A vault on a fresh database file, keys initialized.
struct VaultFixture {
    let directory: TemporaryDirectory
    let store: StoreDatabase
    let kek: KeyEncryptionKey
    let audit: RecordingVaultAuditSink
    let clock: TestClock
    let vault: Vault

    init(configuration: Vault.Configuration = .init(), initializeKeys: Bool = true) async throws {
        directory = try TemporaryDirectory()
        store = try StoreDatabase.open(path: directory.file("till.sqlite"), migrations: VaultSchema.migrations)
        kek = KeyEncryptionKey(key: try SymmetricKey.generate(), origin: "test key")
        audit = RecordingVaultAuditSink()
        clock = TestClock()
        vault = Vault(store: store, kek: kek, audit: audit, configuration: configuration, now: clock.function)
        if initializeKeys { _ = try await vault.initializeKeys() }
    }

    /// Another vault over the same database and clock (a restarted process).
    func reopened(kek: KeyEncryptionKey? = nil, configuration: Vault.Configuration = .init()) -> Vault {
        Vault(store: store, kek: kek ?? self.kek, audit: audit, configuration: configuration, now: clock.function)
    }

    func cleanup() { directory.cleanup() }
}

/// A card valid at the fixture clock's time.
func card(_ number: String, cvc: String? = nil, name: String? = "Ada Lovelace", month: Int = 12, year: Int = 2030)
    -> CardInput
{
    CardInput(number: number, expMonth: month, expYear: year, cvc: cvc, holderName: name)
}

/// `prefix` completed with random digits to `length`, the last one the Luhn check digit.
func luhnNumber(prefix: String, length: Int) -> String {
    var digits = Array(prefix.utf8).map { Int($0) - 48 }
    while digits.count < length - 1 { digits.append(Int.random(in: 0...9)) }
    for check in 0...9 {
        let candidate = digits + [check]
        let text = String(candidate.map { Character(String($0)) })
        if CardValidation.passesLuhn(Array(text.utf8)) { return text }
    }
    return ""
}

/// A number that fails the Luhn check (the last digit changed).
func breakingLuhn(_ number: String) -> String {
    let last = Int(number.utf8.last! - 48)
    return String(number.dropLast()) + String((last + 1) % 10)
}

extension SecureBytes {
    var string: String { withUnsafeBytes { String(decoding: $0, as: UTF8.self) } }
}
