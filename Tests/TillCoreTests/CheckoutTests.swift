import Foundation
import Testing
import TillCore

@Suite("Checkout state machine")
struct CheckoutTests {
    // MARK: Authorization

    @Test func newPaymentIsProcessingWithItsAuthorizationPending() throws {
        let payment = try newPayment()
        #expect(payment.status == .processing)
        #expect(payment.authorization.status == .pending)
        #expect(payment.authorization.sequence == 1)
        #expect(payment.idempotencyKey(for: payment.authorization) == "pay_1-authorize-1")
        #expect(payment.checkInvariants().isEmpty)
    }

    @Test func nonPositiveAmountIsRefused() {
        #expect(throws: CheckoutError.self) {
            try Payment(id: "pay_1", amount: usd(0), authorizationID: "txn_a", at: epoch)
        }
    }

    @Test func authorizationOutcomesSetTheStatus() throws {
        #expect(try paymentIn(.authorized).status == .authorized)
        #expect(try paymentIn(.declined).status == .declined)
        #expect(try paymentIn(.failed).status == .failed)
        #expect(try paymentIn(.declined).authorization.failure == decline)
    }

    @Test func threeDSecureChallengeRequiresActionThenSucceeds() throws {
        var payment = try newPayment()
        #expect(try payment.resolve(transaction: "txn_auth", outcome: .requiresAction, at: at(1)) == .applied)
        #expect(payment.status == .requiresAction)
        #expect(try payment.resolve(transaction: "txn_auth", outcome: .requiresAction, at: at(2)) == .unchanged)
        try payment.resolve(transaction: "txn_auth", outcome: .succeeded(gatewayReference: "ch_1"), at: at(3))
        #expect(payment.status == .authorized)
        #expect(payment.authorization.requiresAction == false)
    }

    @Test func unknownOutcomeIsResolvedLater() throws {
        var payment = try newPayment()
        try payment.resolve(transaction: "txn_auth", outcome: .unknown, at: at(1))
        #expect(payment.status == .processing)
        #expect(try payment.resolve(transaction: "txn_auth", outcome: .unknown, at: at(2)) == .unchanged)
        try payment.resolve(transaction: "txn_auth", outcome: .succeeded(gatewayReference: "ch_1"), at: at(3))
        #expect(payment.status == .authorized)

        try payment.beginCapture(transactionID: "txn_c1", amount: usd(600), at: at(4))
        try payment.resolve(transaction: "txn_c1", outcome: .unknown, at: at(5))
        // While the outcome is lost its amount stays reserved.
        #expect(payment.capturable == usd(400))
        let (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.beginCapture(transactionID: "txn_c2", amount: usd(500), at: at(6))
        }
        #expect(error?.code == .amountExceedsLimit)
        #expect(unchanged)
        try payment.resolve(transaction: "txn_c1", outcome: .failed(TransactionFailure(code: .processingError)), at: at(7))
        #expect(payment.capturable == usd(1000))
        #expect(payment.status == .authorized)
    }

    // MARK: Captures

    @Test func partialAndMultipleCaptures() throws {
        var payment = try authorizedPayment()
        try capture(&payment, 300, id: "txn_c1")
        #expect(payment.status == .partiallyCaptured)
        try capture(&payment, 200, id: "txn_c2")
        #expect(payment.captured == usd(500))
        #expect(payment.status == .partiallyCaptured)
        try capture(&payment, 500, id: "txn_c3")
        #expect(payment.status == .captured)
        #expect(payment.transactions.map(\.sequence) == [1, 2, 3, 4])
        #expect(payment.idempotencyKey(for: payment.transactions[3]) == "pay_1-capture-4")
        #expect(payment.checkInvariants().isEmpty)
    }

    @Test func overCaptureIsRefusedAndChangesNothing() throws {
        var payment = try authorizedPayment()
        let (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.beginCapture(transactionID: "txn_c1", amount: usd(1500), at: at(2))
        }
        #expect(error?.code == .amountExceedsLimit)
        #expect(error?.message == "capture of 1500 exceeds capturable 1000")
        #expect(error?.paymentStatus == .authorized)
        #expect(unchanged)
    }

    @Test func captureWithoutAmountTakesEverythingCapturable() throws {
        var payment = try authorizedPayment()
        try capture(&payment, 250, id: "txn_c1")
        let transaction = try payment.beginCapture(transactionID: "txn_c2", at: at(3))
        #expect(transaction.amount == usd(750))
    }

    @Test func finalPartialCaptureReleasesTheRest() throws {
        var payment = try authorizedPayment()
        try capture(&payment, 400, id: "txn_c1", final: true)
        #expect(payment.status == .captured)
        #expect(payment.capturable == usd(0))
        let (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.beginCapture(transactionID: "txn_c2", amount: usd(1), at: at(4))
        }
        #expect(error?.code == .notAllowed)
        #expect(error?.message == "cannot capture a payment that is captured")
        #expect(unchanged)
    }

    @Test func currencyMismatchIsRefused() throws {
        var payment = try authorizedPayment()
        let (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.beginCapture(transactionID: "txn_c1", amount: Money(minorUnits: 100, currency: .eur), at: at(2))
        }
        #expect(error?.code == .currencyMismatch)
        #expect(unchanged)
    }

    @Test func transactionIdsAreUniqueAndKnown() throws {
        var payment = try authorizedPayment()
        try payment.beginCapture(transactionID: "txn_c1", amount: usd(100), at: at(2))
        var (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.beginCapture(transactionID: "txn_c1", amount: usd(100), at: at(3))
        }
        #expect(error?.code == .duplicateIdentifier)
        #expect(unchanged)
        (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.resolve(transaction: "txn_nope", outcome: .unknown, at: at(3))
        }
        #expect(error?.code == .unknownTransaction)
        #expect(unchanged)
    }

    // MARK: Voids

    @Test func voidBeforeCapture() throws {
        var payment = try paymentIn(.voided)
        #expect(payment.status == .voided)
        let (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.beginCapture(transactionID: "txn_c1", amount: usd(100), at: at(4))
        }
        #expect(error?.message == "cannot capture a payment that is voided")
        #expect(unchanged)
    }

    @Test func voidAfterPartialCaptureReleasesTheRest() throws {
        var payment = try paymentIn(.partiallyCaptured)
        let void = try payment.beginVoid(transactionID: "txn_v1", at: at(4))
        #expect(void.amount == usd(600))
        try payment.resolve(transaction: "txn_v1", outcome: .succeeded(gatewayReference: nil), at: at(5))
        #expect(payment.status == .captured)
        #expect(payment.capturable == usd(0))
        #expect(payment.checkInvariants().isEmpty)
    }

    @Test func voidAfterFullCaptureIsRefused() throws {
        var payment = try paymentIn(.captured)
        let (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.beginVoid(transactionID: "txn_v1", at: at(4))
        }
        #expect(error?.code == .notAllowed)
        #expect(error?.message == "cannot void a payment that is captured")
        #expect(unchanged)
    }

    @Test func voidAndCaptureDoNotRace() throws {
        var payment = try authorizedPayment()
        try payment.beginCapture(transactionID: "txn_c1", amount: usd(100), at: at(2))
        var (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.beginVoid(transactionID: "txn_v1", at: at(3))
        }
        #expect(error?.code == .operationInFlight)
        #expect(unchanged)
        try payment.resolve(transaction: "txn_c1", outcome: .failed(decline), at: at(4))
        try payment.beginVoid(transactionID: "txn_v1", at: at(5))
        (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.beginCapture(transactionID: "txn_c2", amount: usd(100), at: at(6))
        }
        #expect(error?.code == .operationInFlight)
        #expect(unchanged)
    }

    // MARK: Refunds

    @Test func partialAndMultipleRefunds() throws {
        var payment = try paymentIn(.captured)
        try refund(&payment, 300, id: "txn_r1")
        #expect(payment.status == .partiallyRefunded)
        try refund(&payment, 300, id: "txn_r2")
        #expect(payment.refunded == usd(600))
        try refund(&payment, 400, id: "txn_r3")
        #expect(payment.status == .refunded)
        #expect(payment.checkInvariants().isEmpty)
    }

    @Test func overRefundIsRefusedCountingRefundsInFlight() throws {
        var payment = try paymentIn(.captured)
        try payment.beginRefund(transactionID: "txn_r1", amount: usd(700), at: at(4))
        try payment.resolve(transaction: "txn_r1", outcome: .unknown, at: at(5))
        let (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.beginRefund(transactionID: "txn_r2", amount: usd(400), at: at(6))
        }
        #expect(error?.message == "refund of 400 exceeds refundable 300")
        #expect(unchanged)
    }

    @Test func refundBeforeCaptureIsRefused() throws {
        var payment = try authorizedPayment()
        let (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.beginRefund(transactionID: "txn_r1", amount: usd(1), at: at(2))
        }
        #expect(error?.message == "cannot refund a payment that is authorized")
        #expect(unchanged)
    }

    @Test func refundMadeOutsideTillIsDeduplicatedByGatewayReference() throws {
        var payment = try paymentIn(.captured)
        #expect(try payment.recordRefund(transactionID: "txn_x1", amount: usd(200), gatewayReference: "re_9", at: at(6)) == .applied)
        #expect(try payment.recordRefund(transactionID: "txn_x2", amount: usd(200), gatewayReference: "re_9", at: at(7)) == .unchanged)
        #expect(payment.refunded == usd(200))
        let (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.recordRefund(transactionID: "txn_x3", amount: usd(300), gatewayReference: "re_9", at: at(8))
        }
        #expect(error?.code == .conflictingOutcome)
        #expect(unchanged)
    }

    @Test func captureMadeOutsideTill() throws {
        var payment = try authorizedPayment()
        #expect(try payment.recordCapture(transactionID: "txn_x1", amount: usd(1000), gatewayReference: "cap_1", at: at(2)) == .applied)
        #expect(payment.status == .captured)
        #expect(payment.transactions.last?.origin == .gateway)
        #expect(try payment.recordCapture(transactionID: "txn_x2", amount: usd(1000), gatewayReference: "cap_1", at: at(3)) == .unchanged)
    }

    // MARK: Duplicated, late and conflicting events

    @Test func duplicatedAndLateEventsNeverMoveBackwards() throws {
        var payment = try paymentIn(.captured)
        let before = payment
        #expect(try payment.resolve(transaction: "txn_auth", outcome: .succeeded(gatewayReference: "ch_1"), at: at(9)) == .unchanged)
        #expect(try payment.resolve(transaction: "txn_c1", outcome: .succeeded(gatewayReference: "gw_txn_c1"), at: at(9)) == .unchanged)
        #expect(try payment.resolve(transaction: "txn_c1", outcome: .unknown, at: at(9)) == .unchanged)
        #expect(try payment.resolve(transaction: "txn_auth", outcome: .requiresAction, at: at(9)) == .unchanged)
        #expect(payment == before)
    }

    @Test func contradictoryOutcomesAreRefused() throws {
        var payment = try paymentIn(.captured)
        var (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.resolve(transaction: "txn_c1", outcome: .failed(decline), at: at(9))
        }
        #expect(error?.code == .conflictingOutcome)
        #expect(unchanged)

        var declined = try paymentIn(.declined)
        (error, unchanged) = refusal(&declined) { (p) throws(CheckoutError) in
            try p.resolve(transaction: "txn_auth", outcome: .succeeded(gatewayReference: nil), at: at(9))
        }
        #expect(error?.code == .conflictingOutcome)
        #expect(unchanged)
    }

    @Test func gatewayReferenceCannotSettleTwoTransactions() throws {
        var payment = try authorizedPayment()
        try capture(&payment, 100, id: "txn_c1")
        try payment.beginCapture(transactionID: "txn_c2", amount: usd(100), at: at(4))
        let (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.resolve(transaction: "txn_c2", outcome: .succeeded(gatewayReference: "gw_txn_c1"), at: at(5))
        }
        #expect(error?.code == .conflictingOutcome)
        #expect(unchanged)
    }

    // MARK: Expiry

    @Test func expiryBeforeCapture() throws {
        var payment = try authorizedPayment()
        #expect(try payment.expireAuthorization(at: at(9)) == .applied)
        #expect(payment.status == .expired)
        #expect(try payment.expireAuthorization(at: at(10)) == .unchanged)
        let (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.beginCapture(transactionID: "txn_c1", amount: usd(1), at: at(11))
        }
        #expect(error?.message == "cannot capture a payment that is expired")
        #expect(unchanged)
    }

    @Test func expiryAfterPartialCaptureReleasesTheRest() throws {
        var payment = try paymentIn(.partiallyCaptured)
        try payment.expireAuthorization(at: at(9))
        #expect(payment.status == .captured)
        #expect(payment.capturable == usd(0))
    }

    @Test func expiryWhileCaptureInFlightLetsItSucceed() throws {
        var payment = try authorizedPayment()
        try payment.beginCapture(transactionID: "txn_c1", amount: usd(1000), at: at(2))
        try payment.expireAuthorization(at: at(3))
        try payment.resolve(transaction: "txn_c1", outcome: .succeeded(gatewayReference: nil), at: at(4))
        #expect(payment.status == .captured)
        #expect(payment.checkInvariants().isEmpty)
    }

    @Test func lateExpiryAfterVoidChangesNothing() throws {
        var payment = try paymentIn(.voided)
        #expect(try payment.expireAuthorization(at: at(9)) == .unchanged)
        #expect(payment.status == .voided)
    }

    // MARK: Disputes

    @Test func inquiryEscalatesToChargebackAndAWinReversesExactly() throws {
        var payment = try paymentIn(.captured)
        try payment.openDispute(id: "dp_1", stage: .inquiry, amount: usd(600), reason: "fraudulent", at: at(6))
        #expect(payment.status == .disputed)
        let (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.recordChargeback(disputeID: "dp_1", transactionID: "txn_cb1", amount: usd(600), at: at(7))
        }
        #expect(error?.code == .notAllowed)
        #expect(unchanged)

        try payment.escalateDispute(id: "dp_1", to: .chargeback, at: at(7))
        try payment.recordChargeback(disputeID: "dp_1", transactionID: "txn_cb1", amount: usd(400), gatewayReference: "cb_1", at: at(8))
        try payment.recordChargeback(disputeID: "dp_1", transactionID: "txn_cb2", amount: usd(200), gatewayReference: "cb_2", at: at(8))
        #expect(payment.chargedBack == usd(600))
        #expect(try payment.submitDisputeEvidence(id: "dp_1", at: at(9)) == .applied)
        #expect(payment.dispute(id: "dp_1")?.status == .underReview)
        #expect(try payment.submitDisputeEvidence(id: "dp_1", at: at(9)) == .unchanged)
        #expect(try payment.closeDispute(id: "dp_1", outcome: .won, transactionID: "txn_rev1", at: at(10)) == .applied)
        #expect(payment.chargedBack == usd(0))
        #expect(payment.transaction(id: "txn_rev1")?.amount == usd(600))
        #expect(payment.status == .captured)
        #expect(try payment.closeDispute(id: "dp_1", outcome: .won, transactionID: "txn_rev2", at: at(11)) == .unchanged)
        #expect(payment.checkInvariants().isEmpty)
    }

    @Test func lostDisputeChargesBackTheWholeAmount() throws {
        var payment = try paymentIn(.captured)
        try payment.openDispute(id: "dp_1", amount: usd(500), at: at(6))
        try payment.recordChargeback(disputeID: "dp_1", transactionID: "txn_cb1", amount: usd(500), gatewayReference: "cb_1", at: at(7))
        try payment.closeDispute(id: "dp_1", outcome: .lost, transactionID: "txn_cb2", at: at(8))
        #expect(payment.transaction(id: "txn_cb2") == nil)
        #expect(payment.status == .chargedBack)
        #expect(payment.chargedBack == usd(500))
        // Won after lost contradicts the record.
        let (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.closeDispute(id: "dp_1", outcome: .won, transactionID: "txn_rev", at: at(9))
        }
        #expect(error?.code == .notAllowed)
        #expect(unchanged)
        // A late withdrawal report after the outcome changes nothing.
        #expect(try payment.recordChargeback(disputeID: "dp_1", transactionID: "txn_cb3", amount: usd(100), gatewayReference: "cb_3", at: at(9)) == .unchanged)
        // The undisputed rest can still be refunded.
        try refund(&payment, 500, id: "txn_r1")
        #expect(payment.checkInvariants().isEmpty)
    }

    @Test func acceptedDispute() throws {
        var payment = try paymentIn(.captured)
        try payment.openDispute(id: "dp_1", amount: usd(1000), at: at(6))
        try payment.acceptDispute(id: "dp_1", transactionID: "txn_cb1", at: at(7))
        #expect(payment.dispute(id: "dp_1")?.status == .accepted)
        #expect(payment.status == .chargedBack)
        #expect(try payment.closeDispute(id: "dp_1", outcome: .lost, transactionID: "txn_cb2", at: at(8)) == .unchanged)
    }

    @Test func preArbitrationAndStagesNeverMoveBackwards() throws {
        var payment = try paymentIn(.captured)
        try payment.openDispute(id: "dp_1", amount: usd(300), at: at(6))
        try payment.submitDisputeEvidence(id: "dp_1", stage: .chargeback, at: at(7))
        #expect(try payment.escalateDispute(id: "dp_1", to: .preArbitration, at: at(8)) == .applied)
        #expect(payment.dispute(id: "dp_1")?.status == .needsResponse)
        #expect(try payment.escalateDispute(id: "dp_1", to: .chargeback, at: at(9)) == .unchanged)
        // Late evidence for the earlier stage does not answer pre-arbitration.
        #expect(try payment.submitDisputeEvidence(id: "dp_1", stage: .chargeback, at: at(9)) == .unchanged)
        #expect(payment.dispute(id: "dp_1")?.stage == .preArbitration)
        #expect(try payment.openDispute(id: "dp_1", amount: usd(300), at: at(10)) == .unchanged)
    }

    @Test func disputesAreBoundedAndFreezeRefunds() throws {
        var payment = try paymentIn(.partiallyRefunded)
        var (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.openDispute(id: "dp_1", amount: usd(800), at: at(6))
        }
        #expect(error?.message == "dispute of 800 exceeds disputable 700")
        #expect(unchanged)
        try payment.openDispute(id: "dp_1", amount: usd(700), at: at(6))
        (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.beginRefund(transactionID: "txn_r9", amount: usd(1), at: at(7))
        }
        #expect(error?.message == "cannot refund a payment that is disputed")
        #expect(unchanged)
        (error, unchanged) = refusal(&payment) { (p) throws(CheckoutError) in
            try p.submitDisputeEvidence(id: "dp_2", at: at(7))
        }
        #expect(error?.code == .unknownDispute)
        #expect(unchanged)
    }

    // MARK: Persistence

    @Test func paymentsRoundTripThroughJSON() throws {
        for status in PaymentStatus.allCases {
            var payment = try paymentIn(status)
            if status == .disputed { try payment.submitDisputeEvidence(id: "dp_1", at: at(8)) }
            let data = try JSONEncoder().encode(payment)
            let decoded = try JSONDecoder().decode(Payment.self, from: data)
            #expect(decoded == payment)
            #expect(decoded.status == status)
        }
    }

    @Test func corruptStoredPaymentsAreReportedNotTrapped() throws {
        let payment = try paymentIn(.partiallyRefunded)
        // Every amount pushed to Int64.min: sums must clamp, and the checker must say so.
        let json = try #require(String(data: JSONEncoder().encode(payment), encoding: .utf8))
        let hostile = json.replacingOccurrences(
            of: #""amount":(\d+)"#, with: "\"amount\":-9223372036854775808", options: .regularExpression)
        let decoded = try JSONDecoder().decode(Payment.self, from: Data(hostile.utf8))
        _ = decoded.status
        _ = (decoded.capturable, decoded.refundable, decoded.chargedBack)
        #expect(!decoded.checkInvariants().isEmpty)

        let noAuthorization = json.replacingOccurrences(of: #""kind":"authorize""#, with: #""kind":"capture""#)
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(Payment.self, from: Data(noAuthorization.utf8))
        }
    }

    @Test func statusesHaveTheirAPINames() {
        #expect(PaymentStatus.partiallyCaptured.apiName == "partially_captured")
        #expect(PaymentStatus.requiresAction.apiName == "requires_action")
        #expect(PaymentStatus.chargedBack.apiName == "charged_back")
    }
}
