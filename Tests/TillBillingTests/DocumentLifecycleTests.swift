import Testing
import TillBilling
import TillCore

@Suite("Invoice and credit-note lifecycles")
struct DocumentLifecycleTests {
    /// What the issue says of every (status, operation) pair: the verdict, and for a refusal
    /// its code. Pairs not listed are refused with `invoice_state_invalid`.
    static let expected: [InvoiceStatus: [InvoiceOperation: Verdict]] = [
        .draft: [.edit: .allowed, .finalize: .allowed, .delete: .allowed],
        .open: [.pay: .allowed, .attemptPayment: .allowed, .void: .allowed, .markUncollectible: .allowed],
        .uncollectible: [.pay: .allowed, .void: .allowed],
        .paid: [.pay: .ignored],
        .void: [:],
    ]

    static let pairs: [(InvoiceStatus, InvoiceOperation)] = InvoiceStatus.allCases.flatMap { status in
        InvoiceOperation.allCases.map { (status, $0) }
    }

    @Test("every (status, operation) pair has the verdict the issue gives it", arguments: pairs)
    func everyPair(_ status: InvoiceStatus, _ operation: InvoiceOperation) throws {
        let verdict = Self.expected[status]?[operation] ?? .refused
        #expect(InvoiceLifecycle.table.verdict(for: operation, in: status, subject: nil) == verdict)
        if verdict == .refused {
            let error = #expect(throws: BillingError.self) { try InvoiceLifecycle.check(operation, from: status) }
            #expect(error?.kind == .conflict)
            let code = operation == .edit ? "invoice_not_editable" : "invoice_state_invalid"
            #expect(error?.code == code)
            #expect(error?.message.contains(status.rawValue) == true, "the refusal names the state")
        } else {
            #expect(try InvoiceLifecycle.check(operation, from: status) == verdict)
        }
    }

    @Test("a finalized invoice refuses edits")
    func finalizedRefusesEdit() throws {
        #expect(try InvoiceLifecycle.check(.edit, from: .draft) == .allowed)
        let finalize = try #require(InvoiceLifecycle.table.rule(for: .finalize, in: .draft, subject: nil))
        #expect(finalize.to == [.open])
        for status in finalize.to.union([.paid, .void, .uncollectible]) {
            let error = #expect(throws: BillingError.self) { try InvoiceLifecycle.check(.edit, from: status) }
            #expect(error?.code == "invoice_not_editable")
        }
    }

    @Test("allowed rows lead where the issue says")
    func destinations() {
        let table = InvoiceLifecycle.table
        #expect(table.rule(for: .pay, in: .open, subject: nil)?.to == [.paid])
        #expect(table.rule(for: .attemptPayment, in: .open, subject: nil)?.to == [.open, .paid])
        #expect(table.rule(for: .void, in: .open, subject: nil)?.to == [.void])
        #expect(table.rule(for: .markUncollectible, in: .open, subject: nil)?.to == [.uncollectible])
        #expect(table.rule(for: .pay, in: .uncollectible, subject: nil)?.to == [.paid])
        #expect(table.rule(for: .void, in: .uncollectible, subject: nil)?.to == [.void])
        #expect(Set(table.rules.map(\.name)).count == table.rules.count, "row names are unique")
        #expect(table.operations == Set(InvoiceOperation.allCases))
    }

    @Test("a credit note is voided from issued only")
    func creditNotes() throws {
        #expect(try CreditNoteLifecycle.check(.void, from: .issued) == .allowed)
        #expect(CreditNoteLifecycle.table.rule(for: .void, in: .issued, subject: nil)?.to == [.void])
        let again = #expect(throws: BillingError.self) { try CreditNoteLifecycle.check(.void, from: .void) }
        #expect(again?.code == "credit_note_state_invalid")
        #expect(again?.message.contains("void") == true)
        for status in CreditNoteStatus.allCases {
            for operation in CreditNoteOperation.allCases {
                let verdict = CreditNoteLifecycle.table.verdict(for: operation, in: status, subject: nil)
                #expect(verdict == (status == .issued ? .allowed : .refused))
            }
        }
    }
}
