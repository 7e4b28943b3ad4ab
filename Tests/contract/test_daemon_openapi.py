"""The daemon's answers match its OpenAPI document.

Runs `till serve --sandbox` as a process, exercises every route family with valid and
invalid requests, and validates each JSON answer against the schema the document gives for
that route and status (JSON Schema 2020-12, as OpenAPI 3.1 uses).
"""

import json
import time
import urllib.error
import urllib.request

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012


class Checker:
    def __init__(self, info):
        self.base = info["api_base_url"]
        self.doc = json.load(urllib.request.urlopen(self.base + "/openapi.json"))
        self.registry = Registry().with_resource(
            "urn:till", Resource.from_contents(self.doc, default_specification=DRAFT202012))
        self.failures = []

    def call(self, method, path, key, body=None):
        request = urllib.request.Request(
            self.base + path, method=method, data=None if body is None else json.dumps(body).encode(),
            headers={"Authorization": "Bearer " + key, "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read())

    def schema(self, method, template, status):
        responses = self.doc["paths"][template][method.lower()]["responses"]
        response = responses.get(str(status)) or responses.get("default")
        if response is None:
            return None
        if "$ref" in response:
            response = self.doc["components"]["responses"][response["$ref"].split("/")[-1]]
        return response["content"]["application/json"]["schema"]

    def check(self, method, template, path, key, body=None):
        status, payload = self.call(method, path, key, body)
        schema = self.schema(method, template, status)
        if schema is None:
            self.failures.append(f"{method} {template}: status {status} is not documented")
            return payload
        rooted = json.loads(json.dumps(schema).replace('"#/components', '"urn:till#/components'))
        errors = list(Draft202012Validator(rooted, registry=self.registry).iter_errors(payload))
        for error in errors[:3]:
            self.failures.append(f"{method} {template} {status}: {list(error.path)} {error.message[:200]}")
        return payload


def test_every_answer_matches_the_document(daemon):
    checker = Checker(daemon)
    check = checker.check
    sk, pk = daemon["secret_key"], daemon["publishable_key"]
    tok = check("POST", "/v1/tokens", "/v1/tokens", pk, {"card": {"number": "4242424242424242", "exp_month": 12, "exp_year": 2034, "cvc": "123"}})
    check("POST", "/v1/tokens", "/v1/tokens", pk, {"card": {"number": "4242424242424241", "exp_month": 12, "exp_year": 2034}})
    pay = check("POST", "/v1/payments", "/v1/payments", sk, {"amount": 1200, "currency": "usd", "token": tok["id"], "capture": "manual"})
    tokd = check("POST", "/v1/tokens", "/v1/tokens", pk, {"card": {"number": "4000000000009995", "exp_month": 12, "exp_year": 2034}})
    check("POST", "/v1/payments", "/v1/payments", sk, {"amount": 1200, "currency": "usd", "token": tokd["id"]})
    check("POST", "/v1/payments", "/v1/payments", sk, {"amount": -1, "currency": "usd", "token": tok["id"]})
    check("GET", "/v1/payments/{id}", "/v1/payments/" + pay["id"], sk)
    check("GET", "/v1/payments/{id}", "/v1/payments/pay_nope", sk)
    check("GET", "/v1/payments", "/v1/payments?limit=2", sk)
    check("POST", "/v1/payments/{id}/capture", "/v1/payments/%s/capture" % pay["id"], sk, {"amount": 700})
    check("POST", "/v1/payments/{id}/refunds", "/v1/payments/%s/refunds" % pay["id"], sk, {"amount": 100})
    check("GET", "/v1/payments/{id}/refunds", "/v1/payments/%s/refunds" % pay["id"], sk)
    check("POST", "/v1/payments/{id}/void", "/v1/payments/%s/void" % pay["id"], sk, {})
    # A card the sandbox disputes after capture.
    disputed_token = check("POST", "/v1/tokens", "/v1/tokens", pk, {"card": {"number": "4000000000000259", "exp_month": 12, "exp_year": 2034}})
    disputed = check("POST", "/v1/payments", "/v1/payments", sk, {"amount": 3000, "currency": "usd", "token": disputed_token["id"]})
    deadline = time.monotonic() + 30
    disputes = {"data": []}
    while not disputes["data"] and time.monotonic() < deadline:
        time.sleep(0.2)
        disputes = checker.call("GET", "/v1/disputes?payment=" + disputed["id"], sk)[1]
    assert disputes["data"], "the sandbox opened no dispute"
    check("GET", "/v1/disputes", "/v1/disputes?payment=" + disputed["id"], sk)
    dispute = disputes["data"][0]["id"]
    check("GET", "/v1/disputes/{id}", "/v1/disputes/" + dispute, sk)
    check("POST", "/v1/disputes/{id}/evidence", "/v1/disputes/%s/evidence" % dispute, sk, {"uncategorized_text": "winning_evidence"})
    check("POST", "/v1/disputes/{id}/accept", "/v1/disputes/%s/accept" % dispute, sk, {})
    check("GET", "/v1/disputes/{id}", "/v1/disputes/dp_nope", sk)
    ev = check("GET", "/v1/events", "/v1/events?limit=3", sk)
    check("GET", "/v1/events/{id}", "/v1/events/" + ev["data"][0]["id"], sk)
    we = check("POST", "/v1/webhook_endpoints", "/v1/webhook_endpoints", sk, {"url": "https://shop.example/hooks"})
    check("GET", "/v1/webhook_endpoints", "/v1/webhook_endpoints", sk)
    check("GET", "/v1/webhook_endpoints/{id}", "/v1/webhook_endpoints/" + we["id"], sk)
    check("POST", "/v1/webhook_endpoints/{id}/rotate_secret", "/v1/webhook_endpoints/%s/rotate_secret" % we["id"], sk, {})
    check("DELETE", "/v1/webhook_endpoints/{id}", "/v1/webhook_endpoints/" + we["id"], sk)
    check("GET", "/v1/payments", "/v1/payments", "sk_test_bad")
    assert checker.failures == []


def test_the_validator_catches_a_wrong_shape(daemon):
    checker = Checker(daemon)
    validator = Draft202012Validator({"$ref": "urn:till#/components/schemas/Payment"}, registry=checker.registry)
    assert list(validator.iter_errors({"id": 5}))

