import Testing
import TillAudit

@Suite("Redacting events: masked, never refused")
struct RedactionTests {
    @Test("card numbers are masked, secrets redacted, card-data keys dropped, and the changed fields named")
    func redacts() throws {
        let event = try AuditEvent.redacting(
            actor: "anonymous", action: .authenticationFailure,
            subject: "/v1/payments/4242 4242 4242 4242/sk_live_abcdef123?x=1", result: .denied, origin: "api",
            details: ["reason": "Bearer whsec_0123456789 rejected", "cvc": "123", "peer": "127.0.0.1"])
        #expect(event.subject == "/v1/payments/**** **** **** 4242/[redacted]?x=1")
        #expect(event.details["reason"] == "[redacted] rejected")
        #expect(event.details["cvc"] == nil)
        #expect(event.details["redacted_1"] == "[redacted]")
        #expect(event.details["peer"] == "127.0.0.1")
        #expect(event.details["redacted"] == "subject,details key,details.reason")
        // What comes out passes the strict screen that refuses such text outright.
        #expect(throws: Never.self) {
            try AuditEvent(
                actor: event.actor, action: event.action, subject: event.subject, result: event.result,
                origin: event.origin, details: event.details)
        }
        #expect(throws: AuditError.self) {
            try AuditEvent(actor: "a", action: .adminCommand, subject: "4242424242424242", origin: "cli")
        }
    }

    @Test("clean text is left exactly as it was, with no redacted detail")
    func clean() throws {
        let event = try AuditEvent.redacting(
            actor: "till.admin:root(uid 0)", action: .adminCommand, subject: "merchants create", origin: "cli",
            details: ["name": "Blue Mug Ltd", "at": "2026-12-02T18:00:00.000Z"])
        #expect(event.subject == "merchants create" && event.details["name"] == "Blue Mug Ltd")
        #expect(event.details["redacted"] == nil)
    }

    @Test("non-ASCII text holding a secret marker is replaced whole")
    func nonASCII() throws {
        let event = try AuditEvent.redacting(
            actor: "a", action: .adminCommand, subject: "Grüße sk_test_zzz", origin: "cli")
        #expect(event.subject == "[redacted]")
    }

    @Test("long text is cut to a byte limit after masking, so nothing of a card survives the cut")
    func bounded() throws {
        let long = String(repeating: "é", count: 2000) + " 4242424242424242"
        let event = try AuditEvent.redacting(
            actor: "a", action: .authenticationFailure, subject: "/" + String(repeating: "x", count: 100_000), origin: "api",
            details: ["reason": long])
        #expect(event.subject.utf8.count <= AuditEvent.maxRedactedFieldBytes && event.subject.hasSuffix("…"))
        #expect((event.details["reason"]?.utf8.count ?? 0) <= AuditEvent.maxRedactedFieldBytes)
        #expect(event.details["redacted"] == "subject,details.reason")
        let many = try AuditEvent.redacting(
            actor: "a", action: .adminCommand, subject: "s", origin: "cli",
            details: Dictionary(uniqueKeysWithValues: (0..<100).map { ("k\($0)", "v") }))
        #expect(many.details.count <= AuditEvent.maxRedactedDetails + 1)
    }
}
