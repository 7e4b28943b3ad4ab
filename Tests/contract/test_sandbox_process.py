"""`till sandbox` as a process: it starts, serves both admin APIs, and refuses bad input."""

import json
import urllib.error
import urllib.request


def _call(method, url, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_both_sandboxes_serve_their_ledgers(sandbox):
    for base in (sandbox["stripe_url"], sandbox["paypal_url"]):
        status, body = _call("GET", base + "/_sandbox/ledger")
        assert status == 200
        assert isinstance(body["data"], list)


def test_paypal_credentials_are_printed(sandbox):
    assert sandbox["paypal_client_id"]
    assert sandbox["paypal_client_secret"]
    assert sandbox["paypal_webhook_id"]


def test_invalid_fault_rule_is_refused_and_changes_nothing(sandbox):
    base = sandbox["stripe_url"]
    status, body = _call("POST", base + "/_sandbox/faults", {"kind": "error", "status": 200})
    assert status == 400
    assert "status" in body["error"]["message"]
    status, body = _call("GET", base + "/_sandbox/faults")
    assert body["data"] == []
