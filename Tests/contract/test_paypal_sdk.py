"""The PayPal-like sandbox driven by PayPal's official Python SDK (paypal-server-sdk 2.4.0).

Responses are checked against PayPal's own OpenAPI documents in ../shared/specs/paypal.
"""

import base64
import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
import uuid
import zlib

import jsonschema
import pytest
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT7

from paypalserversdk.configuration import Configuration, Server
from paypalserversdk.exceptions.error_exception import ErrorException
from paypalserversdk.exceptions.o_auth_provider_exception import OAuthProviderException
from paypalserversdk.http.auth.o_auth_2 import ClientCredentialsAuthCredentials
from paypalserversdk.models.amount_with_breakdown import AmountWithBreakdown
from paypalserversdk.models.capture_request import CaptureRequest
from paypalserversdk.models.card_request import CardRequest
from paypalserversdk.models.checkout_payment_intent import CheckoutPaymentIntent
from paypalserversdk.models.money import Money
from paypalserversdk.models.order_request import OrderRequest
from paypalserversdk.models.payment_source import PaymentSource
from paypalserversdk.models.purchase_unit_request import PurchaseUnitRequest
from paypalserversdk.models.reauthorize_request import ReauthorizeRequest
from paypalserversdk.models.refund_request import RefundRequest
from paypalserversdk.paypal_serversdk_client import PaypalServersdkClient

from conftest import SHARED

SPECS = SHARED / "specs" / "paypal"
VISA = "4242424242424242"


# --- PayPal's OpenAPI documents as JSON Schema ------------------------------------------


def _registry():
    registry = Registry()
    for name in ("checkout_orders_v2", "payments_payment_v2", "customer_disputes_v1", "notifications_webhooks_v1"):
        document = json.loads((SPECS / f"{name}.json").read_text())
        registry = registry.with_resource(f"urn:{name}", Resource.from_contents(document, default_specification=DRAFT7))
    return registry


REGISTRY = _registry()


def validate(instance, document, schema):
    """Validates `instance` against `#/components/schemas/<schema>` of a PayPal document.

    OpenAPI 3.0 schemas are close enough to draft 7 for these shapes: `readOnly`,
    `nullable` and unknown `format`s are annotations there.
    """
    ref = {"$ref": f"urn:{document}#/components/schemas/{schema}"}
    jsonschema.Draft7Validator(ref, registry=REGISTRY).validate(instance)


# --- Clients ------------------------------------------------------------------------------


class SandboxConfiguration(Configuration):
    """Points the SDK at the sandbox instead of api-m.sandbox.paypal.com."""

    def __init__(self, base_url, **kwargs):
        super().__init__(**kwargs)
        self._sandbox_base_url = base_url

    def get_base_uri(self, server=Server.DEFAULT):
        return self._sandbox_base_url


def make_client(sandbox, secret=None):
    credentials = ClientCredentialsAuthCredentials(
        o_auth_client_id=sandbox["paypal_client_id"],
        o_auth_client_secret=secret or sandbox["paypal_client_secret"],
    )
    config = SandboxConfiguration(sandbox["paypal_url"], client_credentials_auth_credentials=credentials, timeout=15)
    return PaypalServersdkClient(config=config)


@pytest.fixture(scope="module")
def client(sandbox):
    return make_client(sandbox)


def raw(sandbox, method, path, body=None, headers=None, token=None):
    """A plain HTTP call; returns (status, headers, parsed body or None)."""
    if token is None:
        token = access_token(sandbox)
    data = body if isinstance(body, bytes) else (None if body is None else json.dumps(body).encode())
    request = urllib.request.Request(sandbox["paypal_url"] + path, data=data, method=method)
    request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            text = response.read()
            return response.status, dict(response.headers), (json.loads(text) if text else None)
    except urllib.error.HTTPError as error:
        text = error.read()
        return error.code, dict(error.headers), (json.loads(text) if text else None)


def access_token(sandbox):
    basic = base64.b64encode(f"{sandbox['paypal_client_id']}:{sandbox['paypal_client_secret']}".encode()).decode()
    request = urllib.request.Request(
        sandbox["paypal_url"] + "/v1/oauth2/token", data=b"grant_type=client_credentials", method="POST",
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/x-www-form-urlencoded"},
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())["access_token"]


def order_request(intent, number=VISA, value="10.00", currency="USD", invoice_id=None):
    return OrderRequest(
        intent=intent,
        purchase_units=[
            PurchaseUnitRequest(
                amount=AmountWithBreakdown(currency_code=currency, value=value),
                **({"invoice_id": invoice_id} if invoice_id else {}),
            )
        ],
        payment_source=PaymentSource(
            card=CardRequest(number=number, expiry="2035-12", security_code="123", name="Ada Lovelace")
        ),
    )


def full(**options):
    return {"prefer": "return=representation", "paypal_request_id": str(uuid.uuid4()), **options}


def as_dict(model):
    from paypalserversdk.api_helper import APIHelper

    return APIHelper.to_dictionary(model)


# --- Flows through the SDK ------------------------------------------------------------------


def test_authorize_partial_capture_refund_and_void_the_rest(client, sandbox):
    created = client.orders.create_order(full(body=order_request(CheckoutPaymentIntent.AUTHORIZE)))
    assert created.status_code == 201
    order = created.body
    assert order.status == "COMPLETED"
    validate(json.loads(created.text), "checkout_orders_v2", "order")
    authorization = order.purchase_units[0].payments.authorizations[0]
    assert authorization.status == "CREATED"
    assert authorization.amount.value == "10.00"

    fetched = client.payments.get_authorized_payment({"authorization_id": authorization.id})
    validate(json.loads(fetched.text), "payments_payment_v2", "authorization-2")

    first = client.payments.capture_authorized_payment(
        full(authorization_id=authorization.id, body=CaptureRequest(amount=Money(currency_code="USD", value="4.00")))
    )
    assert first.status_code == 201
    assert first.body.status == "COMPLETED"
    assert first.body.final_capture is False
    validate(json.loads(first.text), "payments_payment_v2", "capture-2")
    assert client.payments.get_authorized_payment({"authorization_id": authorization.id}).body.status == "PARTIALLY_CAPTURED"

    refund = client.payments.refund_captured_payment(
        full(capture_id=first.body.id, body=RefundRequest(amount=Money(currency_code="USD", value="1.50")))
    )
    assert refund.status_code == 201
    assert refund.body.status == "COMPLETED"
    validate(json.loads(refund.text), "payments_payment_v2", "refund")
    assert client.payments.get_refund({"refund_id": refund.body.id}).body.amount.value == "1.50"
    capture = client.payments.get_captured_payment({"capture_id": first.body.id})
    assert capture.body.status == "PARTIALLY_REFUNDED"
    validate(json.loads(capture.text), "payments_payment_v2", "capture-2")

    rest = client.payments.refund_captured_payment(full(capture_id=first.body.id))
    assert rest.body.amount.value == "2.50"
    assert client.payments.get_captured_payment({"capture_id": first.body.id}).body.status == "REFUNDED"
    with pytest.raises(ErrorException) as refused:
        client.payments.refund_captured_payment(full(capture_id=first.body.id))
    assert refused.value.name == "UNPROCESSABLE_ENTITY"
    assert refused.value.details[0].issue == "CAPTURE_FULLY_REFUNDED"

    voided = client.payments.void_payment(full(authorization_id=authorization.id))
    assert voided.body.status == "VOIDED"
    with pytest.raises(ErrorException) as refused:
        client.payments.capture_authorized_payment(full(authorization_id=authorization.id))
    assert refused.value.details[0].issue == "AUTHORIZATION_VOIDED"

    ledger = raw(sandbox, "GET", "/_sandbox/ledger")[2]["data"]
    mine = [(e["kind"], e["amount"]) for e in ledger if e["payment"] == order.id]
    assert mine == [("authorization", 1000), ("capture", 400), ("refund", 150), ("refund", 250), ("void", 600)]


def test_final_capture_closes_the_authorization(client):
    order = client.orders.create_order(full(body=order_request(CheckoutPaymentIntent.AUTHORIZE))).body
    authorization = order.purchase_units[0].payments.authorizations[0].id
    capture = client.payments.capture_authorized_payment(
        full(
            authorization_id=authorization,
            body=CaptureRequest(amount=Money(currency_code="USD", value="3.00"), final_capture=True),
        )
    )
    assert capture.body.final_capture is True
    assert client.payments.get_authorized_payment({"authorization_id": authorization}).body.status == "CAPTURED"
    with pytest.raises(ErrorException) as refused:
        client.payments.void_payment(full(authorization_id=authorization))
    assert refused.value.details[0].issue == "PREVIOUSLY_CAPTURED"


def test_capture_more_than_authorized_is_refused(client):
    order = client.orders.create_order(full(body=order_request(CheckoutPaymentIntent.AUTHORIZE))).body
    authorization = order.purchase_units[0].payments.authorizations[0].id
    with pytest.raises(ErrorException) as refused:
        client.payments.capture_authorized_payment(
            full(authorization_id=authorization, body=CaptureRequest(amount=Money(currency_code="USD", value="10.01")))
        )
    assert refused.value.response_code == 422
    assert refused.value.details[0].issue == "MAX_CAPTURE_AMOUNT_EXCEEDED"
    assert refused.value.debug_id


def test_capture_intent_order_is_captured_at_once(client):
    created = client.orders.create_order(full(body=order_request(CheckoutPaymentIntent.CAPTURE, value="25.00")))
    order = created.body
    assert order.status == "COMPLETED"
    capture = order.purchase_units[0].payments.captures[0]
    assert capture.status == "COMPLETED"
    fetched = client.orders.get_order({"id": order.id})
    assert fetched.body.purchase_units[0].payments.captures[0].id == capture.id
    validate(json.loads(fetched.text), "checkout_orders_v2", "order")


def test_order_without_source_is_authorized_with_a_card_later(client):
    request = OrderRequest(
        intent=CheckoutPaymentIntent.AUTHORIZE,
        purchase_units=[PurchaseUnitRequest(amount=AmountWithBreakdown(currency_code="EUR", value="7.50"))],
    )
    created = client.orders.create_order(full(body=request))
    assert created.body.status == "CREATED"
    from paypalserversdk.models.order_authorize_request import OrderAuthorizeRequest

    authorized = client.orders.authorize_order(
        full(
            id=created.body.id,
            body=OrderAuthorizeRequest(
                payment_source=PaymentSource(card=CardRequest(number=VISA, expiry="2035-01", security_code="123"))
            ),
        )
    )
    assert authorized.body.status == "COMPLETED"
    assert authorized.body.purchase_units[0].payments.authorizations[0].amount.currency_code == "EUR"
    validate(json.loads(authorized.text), "checkout_orders_v2", "order_authorize_response")
    with pytest.raises(ErrorException) as refused:
        client.orders.authorize_order(full(id=created.body.id))
    assert refused.value.details[0].issue == "ORDER_ALREADY_AUTHORIZED"


def test_reauthorize(client):
    order = client.orders.create_order(full(body=order_request(CheckoutPaymentIntent.AUTHORIZE))).body
    authorization = order.purchase_units[0].payments.authorizations[0].id
    again = client.payments.reauthorize_payment(
        full(authorization_id=authorization, body=ReauthorizeRequest(amount=Money(currency_code="USD", value="11.00")))
    )
    assert again.status_code == 201
    assert again.body.id != authorization
    assert again.body.status == "CREATED"
    assert again.body.amount.value == "11.00"
    validate(json.loads(again.text), "payments_payment_v2", "authorization-2")
    captured = client.payments.capture_authorized_payment(full(authorization_id=again.body.id))
    assert captured.body.amount.value == "11.00"


@pytest.mark.parametrize(
    "number, issue, code",
    [
        ("4000000000000002", "INSTRUMENT_DECLINED", "0500"),
        ("4000000000009995", "INSTRUMENT_DECLINED", "5120"),
        ("4000000000009987", "INSTRUMENT_DECLINED", "9520"),
        ("4000000000009979", "INSTRUMENT_DECLINED", "9520"),
        ("4000000000000069", "CARD_EXPIRED", "5400"),
        ("4000000000000127", "INSTRUMENT_DECLINED", "5110"),
        ("4000000000000119", "INSTRUMENT_DECLINED", "8000"),
    ],
)
def test_declines_raise_error_exception(client, number, issue, code):
    with pytest.raises(ErrorException) as declined:
        client.orders.create_order(full(body=order_request(CheckoutPaymentIntent.CAPTURE, number=number)))
    error = declined.value
    assert error.response_code == 422
    assert error.name == "UNPROCESSABLE_ENTITY"
    assert error.message
    assert error.debug_id
    assert error.details[0].issue == issue
    assert error.details[0].value == code
    validate(json.loads(error.response.text), "checkout_orders_v2", "error_422")


def test_mock_response_header(client):
    with pytest.raises(ErrorException) as mocked:
        client.orders.create_order(
            full(
                body=order_request(CheckoutPaymentIntent.CAPTURE),
                paypal_mock_response=json.dumps({"mock_application_codes": "INSTRUMENT_DECLINED"}),
            )
        )
    assert mocked.value.details[0].issue == "INSTRUMENT_DECLINED"


def test_wrong_client_secret_gets_oauth_error(sandbox):
    bad = make_client(sandbox, secret="not-the-secret")
    with pytest.raises(OAuthProviderException):
        bad.o_auth_authorization.request_token(
            {"authorization": bad.oauth_2.build_basic_auth_header()}
        )
    with pytest.raises(Exception):
        bad.orders.create_order(full(body=order_request(CheckoutPaymentIntent.CAPTURE)))


def test_not_found_raises(client):
    with pytest.raises(ErrorException) as missing:
        client.orders.get_order({"id": "NOSUCHORDER000000"})
    assert missing.value.response_code == 404
    assert missing.value.name == "RESOURCE_NOT_FOUND"
