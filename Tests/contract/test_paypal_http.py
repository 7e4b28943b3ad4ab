"""The PayPal-like sandbox over plain HTTP: headers, errors for bad input, webhooks and
disputes, checked against PayPal's OpenAPI documents."""

import base64
import json
import urllib.request
import uuid
import zlib

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from test_paypal_sdk import VISA, raw, validate


def card_order(intent="AUTHORIZE", value="10.00", currency="USD", number=VISA):
    return {
        "intent": intent,
        "purchase_units": [{"amount": {"currency_code": currency, "value": value}}],
        "payment_source": {"card": {"number": number, "expiry": "2035-12", "security_code": "123"}},
    }


def test_prefer_minimal_is_the_default(sandbox):
    status, _, body = raw(sandbox, "POST", "/v2/checkout/orders", card_order())
    assert status == 201
    assert set(body) == {"id", "status", "links"}
    status, _, body = raw(sandbox, "POST", "/v2/checkout/orders", card_order(), {"Prefer": "return=representation"})
    assert "purchase_units" in body
    authorization = body["purchase_units"][0]["payments"]["authorizations"][0]["id"]
    status, _, body = raw(sandbox, "POST", f"/v2/payments/authorizations/{authorization}/void", b"")
    assert status == 204 and body is None


def test_request_id_replays_the_first_response(sandbox):
    key = str(uuid.uuid4())
    headers = {"PayPal-Request-Id": key, "Prefer": "return=representation"}
    first = raw(sandbox, "POST", "/v2/checkout/orders", card_order("CAPTURE"), headers)
    again = raw(sandbox, "POST", "/v2/checkout/orders", card_order("CAPTURE"), headers)
    assert first[0] == 201 and again[0] == 200
    assert again[2] == first[2]
    ledger = raw(sandbox, "GET", "/_sandbox/ledger")[2]["data"]
    assert len([e for e in ledger if e["payment"] == first[2]["id"] and e["kind"] == "capture"]) == 1
    status, _, body = raw(sandbox, "POST", "/v2/checkout/orders", card_order("CAPTURE", value="11.00"), headers)
    assert status == 422
    assert body["details"][0]["issue"] == "PAYPAL_REQUEST_ID_PREVIOUSLY_USED"


@pytest.mark.parametrize(
    "mutate, status, issue",
    [
        (lambda o: o["purchase_units"][0]["amount"].update(value="10.001"), 422, "DECIMAL_PRECISION"),
        (lambda o: o["purchase_units"][0]["amount"].update(currency_code="JPY", value="10.5"), 422, "DECIMAL_PRECISION"),
        (lambda o: o["purchase_units"][0]["amount"].update(value="0.00"), 422, "CANNOT_BE_ZERO_OR_NEGATIVE"),
        (lambda o: o["purchase_units"][0]["amount"].update(value="-5.00"), 422, "CANNOT_BE_ZERO_OR_NEGATIVE"),
        (lambda o: o["purchase_units"][0]["amount"].update(currency_code="XYZ"), 422, "INVALID_CURRENCY_CODE"),
        (lambda o: o["purchase_units"][0]["amount"].update(value="ten"), 400, "INVALID_PARAMETER_SYNTAX"),
        (lambda o: o["purchase_units"][0]["amount"].update(value=10), 400, "INVALID_PARAMETER_SYNTAX"),
        (lambda o: o["purchase_units"][0]["amount"].pop("value"), 400, "MISSING_REQUIRED_PARAMETER"),
        (lambda o: o.update(intent="SALE"), 400, "INVALID_PARAMETER_VALUE"),
        (lambda o: o.update(colour="blue"), 400, "UNKNOWN_FIELD"),
        (lambda o: o["payment_source"]["card"].update(number="4242424242424241"), 422, "INVALID_PARAMETER_VALUE"),
        (lambda o: o["payment_source"]["card"].update(expiry="2020-01"), 422, "CARD_EXPIRED"),
        (lambda o: o["payment_source"]["card"].update(
            stored_credential={"payment_initiator": "ROBOT", "payment_type": "RECURRING"}), 400, "INVALID_PARAMETER_VALUE"),
    ],
)
def test_bad_input_gets_paypal_errors(sandbox, mutate, status, issue):
    order = card_order()
    mutate(order)
    got, _, body = raw(sandbox, "POST", "/v2/checkout/orders", order)
    assert got == status
    assert body["details"][0]["issue"] == issue
    assert body["debug_id"]
    validate(body, "checkout_orders_v2", "error_422" if status == 422 else "error_400")


def test_jpy_whole_amounts_are_accepted(sandbox):
    status, _, body = raw(sandbox, "POST", "/v2/checkout/orders", card_order(currency="JPY", value="1000"),
                          {"Prefer": "return=representation"})
    assert status == 201
    assert body["purchase_units"][0]["amount"] == {"currency_code": "JPY", "value": "1000"}


def test_malformed_and_oversized_bodies(sandbox):
    status, _, body = raw(sandbox, "POST", "/v2/checkout/orders", b"{not json")
    assert status == 400 and body["name"] == "INVALID_REQUEST"
    assert body["details"][0]["issue"] == "MALFORMED_REQUEST_JSON"
    status, _, body = raw(sandbox, "POST", "/v2/checkout/orders", b'{"intent": "' + b"x" * 200_000 + b'"}')
    assert status == 413 and body["name"] == "INVALID_REQUEST"


def test_missing_or_unknown_tokens_get_401(sandbox):
    status, _, body = raw(sandbox, "GET", "/v2/checkout/orders/ANY", token="")
    assert status == 401 and body["name"] == "AUTHENTICATION_FAILURE"
    status, _, body = raw(sandbox, "GET", "/v2/checkout/orders/ANY", token="A21AAbogus")
    assert status == 401 and body["error"] == "invalid_token"


def _verify_locally(sandbox, request, webhook_id):
    """Checks a delivery as a PayPal integration does, with the `cryptography` package:
    the chain at PAYPAL-CERT-URL up to the sandbox's root, then SHA256withRSA over
    id|time|webhook id|crc32(body) under the signing certificate."""
    headers = request["headers"]
    assert headers["paypal-auth-algo"] == "SHA256withRSA"
    cert_url = headers["paypal-cert-url"]
    assert cert_url.startswith(sandbox["paypal_url"] + "/v1/notifications/certs/CERT-")
    with urllib.request.urlopen(cert_url, timeout=10) as response:
        chain = x509.load_pem_x509_certificates(response.read())
    with urllib.request.urlopen(sandbox["paypal_url"] + "/_sandbox/ca.pem", timeout=10) as response:
        root = x509.load_pem_x509_certificate(response.read())
    signer, intermediate = chain
    signer.verify_directly_issued_by(intermediate)
    intermediate.verify_directly_issued_by(root)
    message = "|".join(
        [headers["paypal-transmission-id"], headers["paypal-transmission-time"], webhook_id,
         str(zlib.crc32(request["body"]) & 0xFFFFFFFF)]
    )
    try:
        signer.public_key().verify(
            base64.b64decode(headers["paypal-transmission-sig"]), message.encode(), padding.PKCS1v15(), hashes.SHA256()
        )
    except InvalidSignature:
        return False
    return True


def test_webhooks_are_signed_and_verifiable(sandbox, webhook_inbox):
    _, _, order = raw(sandbox, "POST", "/v2/checkout/orders", card_order("CAPTURE", value="12.34"),
                      {"Prefer": "return=representation"})
    capture_id = order["purchase_units"][0]["payments"]["captures"][0]["id"]
    request = webhook_inbox.wait_for(
        lambda b: b.get("event_type") == "PAYMENT.CAPTURE.COMPLETED" and b["resource"]["id"] == capture_id
    )
    assert _verify_locally(sandbox, request, sandbox["paypal_webhook_id"])
    forged = dict(request, body=request["body"].replace(b"12.34", b"99.99"))
    assert not _verify_locally(sandbox, forged, sandbox["paypal_webhook_id"])
    event = json.loads(request["body"])
    validate(event["resource"], "payments_payment_v2", "capture-2")
    headers = request["headers"]
    verification = {
        "auth_algo": headers["paypal-auth-algo"],
        "cert_url": headers.get("paypal-cert-url", ""),
        "transmission_id": headers["paypal-transmission-id"],
        "transmission_sig": headers["paypal-transmission-sig"],
        "transmission_time": headers["paypal-transmission-time"],
        "webhook_id": sandbox["paypal_webhook_id"],
        "webhook_event": event,
    }
    status, _, body = raw(sandbox, "POST", "/v1/notifications/verify-webhook-signature", verification)
    assert status == 200 and body == {"verification_status": "SUCCESS"}
    tampered = dict(verification, transmission_sig=base64.b64encode(b"x" * 32).decode())
    assert raw(sandbox, "POST", "/v1/notifications/verify-webhook-signature", tampered)[2] == {
        "verification_status": "FAILURE"
    }


def test_dispute_lost_then_events(sandbox, webhook_inbox):
    _, _, order = raw(sandbox, "POST", "/v2/checkout/orders", card_order("CAPTURE", value="30.00"),
                      {"Prefer": "return=representation"})
    capture_id = order["purchase_units"][0]["payments"]["captures"][0]["id"]
    status, _, dispute = raw(sandbox, "POST", "/_sandbox/disputes",
                             {"payment": capture_id, "reason": "product_not_received", "stage": "chargeback"})
    assert status == 201
    validate(dispute, "customer_disputes_v1", "dispute")
    assert dispute["reason"] == "MERCHANDISE_OR_SERVICE_NOT_RECEIVED"
    webhook_inbox.wait_for(
        lambda b: b.get("event_type") == "CUSTOMER.DISPUTE.CREATED" and b["resource"]["dispute_id"] == dispute["dispute_id"]
    )
    status, _, lost = raw(sandbox, "POST", f"/_sandbox/disputes/{dispute['dispute_id']}/lose", b"")
    assert status == 200 and lost["status"] == "RESOLVED"
    assert lost["dispute_outcome"]["outcome_code"] == "RESOLVED_BUYER_FAVOUR"
    webhook_inbox.wait_for(
        lambda b: b.get("event_type") == "CUSTOMER.DISPUTE.RESOLVED" and b["resource"]["dispute_id"] == dispute["dispute_id"]
    )
    webhook_inbox.wait_for(lambda b: b.get("event_type") == "PAYMENT.CAPTURE.REVERSED" and b["resource"]["id"] == capture_id)
    status, _, fetched = raw(sandbox, "GET", f"/v1/customer/disputes/{dispute['dispute_id']}")
    assert status == 200
    validate(fetched, "customer_disputes_v1", "dispute")
    ledger = raw(sandbox, "GET", "/_sandbox/ledger")[2]["data"]
    assert [(e["kind"], e["amount"]) for e in ledger if e["payment"] == order["id"]] == [
        ("authorization", 3000), ("capture", 3000), ("chargeback", 3000)
    ]
