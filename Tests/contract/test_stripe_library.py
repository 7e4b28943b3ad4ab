"""The official `stripe` Python library, pointed at the Stripe-like sandbox, completes
authorize / partial capture / refund / void / decline flows, raises the right exception
classes, and accepts the sandbox's webhook signatures."""

import json
import time
import urllib.request

import pytest
import stripe


@pytest.fixture()
def client(sandbox):
    stripe.api_key = "sk_test_contract_0123456789"
    stripe.api_base = sandbox["stripe_url"]
    stripe.max_network_retries = 0
    return stripe


def _admin(sandbox, path, body):
    request = urllib.request.Request(
        sandbox["stripe_url"] + path, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_authorize_partial_capture_and_partial_refunds(client):
    intent = stripe.PaymentIntent.create(
        amount=2000, currency="usd", payment_method="pm_card_visa", confirm=True,
        capture_method="manual", metadata={"order": "o 1"}, expand=["latest_charge"])
    assert intent.status == "requires_capture"
    assert intent.amount_capturable == 2000
    assert intent.latest_charge.object == "charge"
    assert intent.metadata["order"] == "o 1"

    captured = stripe.PaymentIntent.capture(intent.id, amount_to_capture=1500)
    assert captured.status == "succeeded"
    assert captured.amount_received == 1500

    first = stripe.Refund.create(payment_intent=intent.id, amount=500)
    assert first.status == "succeeded" and first.amount == 500
    second = stripe.Refund.create(payment_intent=intent.id, amount=1000)
    assert second.status == "succeeded"
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe.Refund.create(payment_intent=intent.id, amount=1)
    assert refused.value.code == "charge_already_refunded"

    charge = stripe.Charge.retrieve(captured.latest_charge)
    assert charge.amount_captured == 1500 and charge.amount_refunded == 1500 and charge.refunded
    refunds = stripe.Refund.list(payment_intent=intent.id)
    assert [r.id for r in refunds.data] == [second.id, first.id]
    assert stripe.Refund.retrieve(first.id).amount == 500


def test_over_refund_is_refused(client):
    intent = stripe.PaymentIntent.create(amount=1000, currency="eur", payment_method="pm_card_visa", confirm=True)
    with pytest.raises(stripe.InvalidRequestError) as refused:
        stripe.Refund.create(payment_intent=intent.id, amount=1001)
    assert refused.value.code == "amount_too_large"


def test_void_by_cancel(client):
    intent = stripe.PaymentIntent.create(
        amount=1200, currency="usd", payment_method="pm_card_mastercard", confirm=True, capture_method="manual")
    canceled = stripe.PaymentIntent.cancel(intent.id, cancellation_reason="requested_by_customer")
    assert canceled.status == "canceled"
    assert canceled.cancellation_reason == "requested_by_customer"


def test_confirm_later_with_inline_card_and_list(client):
    intent = stripe.PaymentIntent.create(amount=777, currency="jpy")
    assert intent.status == "requires_payment_method"
    method = stripe.PaymentMethod.create(
        type="card", card={"number": "4242424242424242", "exp_month": 12, "exp_year": 2040, "cvc": "123"})
    assert method.card.last4 == "4242" and method.card.brand == "visa"
    confirmed = stripe.PaymentIntent.confirm(intent.id, payment_method=method.id)
    assert confirmed.status == "succeeded"
    assert stripe.PaymentIntent.retrieve(intent.id).amount_received == 777
    page = stripe.PaymentIntent.list(limit=1)
    assert len(page.data) == 1 and page.has_more
    following = stripe.PaymentIntent.list(limit=1, starting_after=page.data[0].id)
    assert following.data[0].id != page.data[0].id


def test_declines_raise_card_error_with_the_intent(client):
    cases = {
        "pm_card_visa_chargeDeclined": ("card_declined", "generic_decline"),
        "pm_card_visa_chargeDeclinedInsufficientFunds": ("card_declined", "insufficient_funds"),
        "pm_card_visa_chargeDeclinedLostCard": ("card_declined", "lost_card"),
        "pm_card_visa_chargeDeclinedStolenCard": ("card_declined", "stolen_card"),
        "pm_card_chargeDeclinedExpiredCard": ("expired_card", "expired_card"),
        "pm_card_chargeDeclinedIncorrectCvc": ("incorrect_cvc", "incorrect_cvc"),
        "pm_card_chargeDeclinedProcessingError": ("processing_error", "processing_error"),
    }
    for method, (code, decline_code) in cases.items():
        with pytest.raises(stripe.CardError) as declined:
            stripe.PaymentIntent.create(amount=1000, currency="usd", payment_method=method, confirm=True)
        error = declined.value
        assert error.code == code
        assert error.error.decline_code == decline_code
        intent = error.error.payment_intent
        assert intent.status == "requires_payment_method"
        assert intent.last_payment_error.code == code
        assert stripe.PaymentIntent.retrieve(intent.id).status == "requires_payment_method"


def test_off_session_on_a_card_that_needs_authentication_declines(client):
    with pytest.raises(stripe.CardError) as declined:
        stripe.PaymentIntent.create(
            amount=1000, currency="usd", payment_method="pm_card_authenticationRequired", confirm=True, off_session=True)
    assert declined.value.code == "authentication_required"
    assert declined.value.error.decline_code == "authentication_required"
    saved = stripe.PaymentIntent.create(
        amount=1000, currency="usd", payment_method="pm_card_visa", confirm=True, setup_future_usage="off_session")
    assert saved.setup_future_usage == "off_session"


def test_inline_card_data_declines_too(client):
    with pytest.raises(stripe.CardError) as declined:
        stripe.PaymentIntent.create(
            amount=1000, currency="usd", confirm=True,
            payment_method_data={"type": "card", "card": {"number": "4000000000009995", "exp_month": 1, "exp_year": 2041}})
    assert declined.value.error.decline_code == "insufficient_funds"


def test_error_classes(client, sandbox):
    with pytest.raises(stripe.InvalidRequestError) as bad:
        stripe.PaymentIntent.create(amount=-5, currency="usd")
    assert bad.value.code == "amount_too_small"
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        stripe.PaymentIntent.create(amount=5, currency="usd", nonsense="x")
    assert unknown.value.code == "parameter_unknown"
    with pytest.raises(stripe.InvalidRequestError):
        stripe.PaymentIntent.create(amount=5, currency="zzz")
    with pytest.raises(stripe.InvalidRequestError) as missing:
        stripe.PaymentIntent.retrieve("pi_missing")
    assert missing.value.code == "resource_missing" and missing.value.http_status == 404
    with pytest.raises(stripe.AuthenticationError):
        stripe.PaymentIntent.list(api_key="sk_live_nope")
    stripe.PaymentIntent.create(amount=100, currency="usd", idempotency_key="contract-key-1")
    with pytest.raises(stripe.IdempotencyError):
        stripe.PaymentIntent.create(amount=200, currency="usd", idempotency_key="contract-key-1")


def test_client_with_base_addresses(sandbox):
    client = stripe.StripeClient(
        "sk_test_contract_client", base_addresses={"api": sandbox["stripe_url"]}, max_network_retries=0)
    intent = client.v1.payment_intents.create(
        params={"amount": 900, "currency": "gbp", "payment_method": "pm_card_visa", "confirm": True})
    assert intent.status == "succeeded"
    assert client.v1.payment_intents.retrieve(intent.id).id == intent.id


def test_dispute_flow_and_webhook_signatures(client, sandbox, webhook_inbox):
    intent = stripe.PaymentIntent.create(amount=3000, currency="usd", payment_method="pm_card_visa", confirm=True)
    opened = _admin(sandbox, "/_sandbox/disputes", {"payment": intent.id, "reason": "fraudulent", "stage": "chargeback"})
    disputes = stripe.Dispute.list(payment_intent=intent.id)
    assert [d.id for d in disputes.data] == [opened["id"]]
    dispute = stripe.Dispute.retrieve(opened["id"])
    assert dispute.status == "needs_response" and dispute.amount == 3000
    updated = stripe.Dispute.modify(dispute.id, evidence={"uncategorized_text": "winning_evidence"})
    assert updated.status == "under_review"
    deadline = time.monotonic() + 15
    while stripe.Dispute.retrieve(dispute.id).status != "won":
        assert time.monotonic() < deadline, "dispute was not won in time"
        time.sleep(0.1)

    request = webhook_inbox.wait_for(
        lambda body: body.get("type") == "charge.dispute.closed" and body["data"]["object"]["id"] == dispute.id)
    event = stripe.Webhook.construct_event(
        request["body"].decode(), request["headers"]["stripe-signature"], sandbox["webhook_secret"])
    assert event.type == "charge.dispute.closed"
    assert event.data.object.status == "won"
    with pytest.raises(stripe.SignatureVerificationError):
        stripe.Webhook.construct_event(request["body"].decode(), request["headers"]["stripe-signature"], "whsec_wrong")
    assert stripe.Event.retrieve(event.id).type == "charge.dispute.closed"
    assert any(e.id == event.id for e in stripe.Event.list(type="charge.dispute.closed", limit=100).data)

    second = stripe.PaymentIntent.create(amount=800, currency="usd", payment_method="pm_card_visa", confirm=True)
    opened = _admin(sandbox, "/_sandbox/disputes", {"payment": second.id, "reason": "general", "stage": "chargeback"})
    closed = stripe.Dispute.close(opened["id"])
    assert closed.status == "lost"
