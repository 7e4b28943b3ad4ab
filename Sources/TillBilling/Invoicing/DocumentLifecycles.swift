import TillCore

/// Where an invoice stands. Only a draft changes; finalizing freezes it (number, lines, tax,
/// totals), and from then on only its collection moves.
public enum InvoiceStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case draft, open, paid, void, uncollectible
}

/// What can be asked of an invoice.
public enum InvoiceOperation: String, Sendable, Hashable, CaseIterable {
    /// Change lines, discounts, rates or the customer's details on the document.
    case edit
    /// Freeze the draft and number it.
    case finalize
    /// Record that the invoice was paid (collected, or paid out of band).
    case pay
    /// Give up collecting; the debt stays on record and may still be paid.
    case markUncollectible
    /// Cancel a finalized invoice; it stays on record with its number, owing nothing.
    case void
    /// Remove a draft, which has no number yet, so no gap appears.
    case delete
    /// Try to collect: an attempt may succeed (paid) or leave the invoice open.
    case attemptPayment
}

/// A row of ``InvoiceLifecycle/table``. Invoice rows need no guard, so the subject is empty.
public typealias InvoiceRule = TransitionRule<Void?, InvoiceStatus, InvoiceOperation>

/// The invoice state machine as data, read top to bottom; an operation no row speaks for is
/// refused with `invoice_state_invalid`.
public enum InvoiceLifecycle {
    private static let finalized: Set<InvoiceStatus> = [.open, .paid, .void, .uncollectible]

    public static let table = TransitionTable<Void?, InvoiceStatus, InvoiceOperation>([
        .allow("edit_draft", .edit, from: [.draft], to: [.draft], why: "Only a draft is still being written."),
        .refuse(
            "edit_finalized", .edit, from: finalized, code: Code.notEditable,
            why: "A finalized invoice never changes; a credit note amends it."),
        .allow(
            "finalize", .finalize, from: [.draft], to: [.open],
            why: "Finalizing freezes the draft and gives it the next number."),
        .allow(
            "delete_draft", .delete, from: [.draft], to: [],
            why: "A draft has no number yet, so deleting it leaves no gap; a finalized invoice is voided instead."),

        .allow("pay", .pay, from: [.open], to: [.paid], why: "Collected or paid out of band."),
        .allow(
            "pay_uncollectible", .pay, from: [.uncollectible], to: [.paid],
            why: "A customer may still pay a debt the merchant gave up on."),
        .ignore("pay_again", .pay, from: [.paid], why: "A duplicate payment report changes nothing."),
        .allow(
            "attempt_payment", .attemptPayment, from: [.open], to: [.open, .paid],
            why: "An attempt either collects or leaves the invoice open for the next one."),

        .allow(
            "void_open", .void, from: [.open], to: [.void],
            why: "Cancels a finalized invoice; its number stays used."),
        .allow(
            "void_uncollectible", .void, from: [.uncollectible], to: [.void],
            why: "Writes off a debt the merchant gave up on."),
        .allow(
            "mark_uncollectible", .markUncollectible, from: [.open], to: [.uncollectible],
            why: "Stops collection while keeping the debt on record."),
    ])

    /// The refusal codes of the invoice machine.
    public enum Code {
        /// Any change to an invoice that is no longer a draft.
        public static let notEditable = "invoice_not_editable"
        /// Every other operation its state refuses.
        public static let stateInvalid = "invoice_state_invalid"
    }

    /// The table's verdict on `operation` from `status`: `.allowed` or `.ignored`.
    ///
    /// - Throws: a conflict naming the state, with the row's code (`invoice_not_editable` for
    ///   an edit after finalizing) or `invoice_state_invalid`.
    @discardableResult
    public static func check(_ operation: InvoiceOperation, from status: InvoiceStatus) throws(BillingError) -> Verdict {
        let rule = table.rule(for: operation, in: status, subject: nil)
        guard let rule, rule.verdict != .refused else {
            throw .conflict(
                rule?.refusal ?? Code.stateInvalid,
                "cannot \(operation.phrase) an invoice that is \(status.rawValue)")
        }
        return rule.verdict
    }
}

extension InvoiceOperation {
    /// The operation as a verb phrase for messages.
    var phrase: String {
        switch self {
        case .edit: "edit"
        case .finalize: "finalize"
        case .pay: "pay"
        case .markUncollectible: "mark uncollectible"
        case .void: "void"
        case .delete: "delete"
        case .attemptPayment: "attempt payment on"
        }
    }
}

/// Where a credit note stands: issued (it amends its invoice) or void (it no longer does).
public enum CreditNoteStatus: String, Sendable, Hashable, Codable, CaseIterable {
    case issued, void
}

/// What can be asked of a credit note once issued. Issuing is its creation.
public enum CreditNoteOperation: String, Sendable, Hashable, CaseIterable {
    case void
}

/// A row of ``CreditNoteLifecycle/table``.
public typealias CreditNoteRule = TransitionRule<Void?, CreditNoteStatus, CreditNoteOperation>

/// The credit-note state machine: voiding is the only change, and only once.
public enum CreditNoteLifecycle {
    public static let table = TransitionTable<Void?, CreditNoteStatus, CreditNoteOperation>([
        .allow(
            "void", .void, from: [.issued], to: [.void],
            why: "Voiding withdraws the amendment; what it credited is creditable again."),
    ])

    /// The code every refusal of the credit-note machine carries.
    public static let stateInvalidCode = "credit_note_state_invalid"

    /// The table's verdict on `operation` from `status`.
    ///
    /// - Throws: a conflict naming the state, code `credit_note_state_invalid`.
    @discardableResult
    public static func check(_ operation: CreditNoteOperation, from status: CreditNoteStatus) throws(BillingError) -> Verdict {
        let rule = table.rule(for: operation, in: status, subject: nil)
        guard let rule, rule.verdict != .refused else {
            throw .conflict(
                rule?.refusal ?? stateInvalidCode,
                "cannot \(operation.rawValue) a credit note that is \(status.rawValue)")
        }
        return rule.verdict
    }
}
