import Foundation
import Synchronization
import TillCrypto

/// CVCs waiting for the authorization that uses them. Memory only: nothing here is ever
/// written anywhere. An entry leaves when it is taken or once it expires; dropping the
/// last copy of its ``SecureBytes`` wipes it.
final class CVCStore: Sendable {
    private struct Entry {
        var merchant: String
        var cvc: SecureBytes
        var expires: Date
    }

    private let entries = Mutex<[String: Entry]>([:])

    func put(_ cvc: SecureBytes, token: String, merchant: String, expires: Date) {
        entries.withLock { $0[token] = Entry(merchant: merchant, cvc: cvc, expires: expires) }
    }

    /// Removes and returns the CVC for `token` if it belongs to `merchant` and has not
    /// expired at `now`. An expired one is removed (wiped) and nil returned.
    func take(token: String, merchant: String, now: Date) -> SecureBytes? {
        entries.withLock { entries -> SecureBytes? in
            guard let entry = entries[token], entry.merchant == merchant else { return nil }
            entries[token] = nil
            return entry.expires > now ? entry.cvc : nil
        }
    }

    /// Whether an unexpired CVC is held for `token` under `merchant`.
    func contains(token: String, merchant: String, now: Date) -> Bool {
        entries.withLock { entries in
            guard let entry = entries[token] else { return false }
            return entry.merchant == merchant && entry.expires > now
        }
    }

    /// Drops every CVC expired at `now`; returns how many.
    func purge(now: Date) -> Int {
        entries.withLock { entries in
            let expired = entries.filter { $0.value.expires <= now }.map(\.key)
            for token in expired { entries[token] = nil }
            return expired.count
        }
    }

    var count: Int { entries.withLock { $0.count } }
}
