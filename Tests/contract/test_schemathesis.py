"""Schemathesis against the daemon's own OpenAPI document.

Starts `till serve --sandbox`, loads `/openapi.json` and sends every operation requests that
Schemathesis generates from the document (valid and invalid), with the sandbox's secret
API key. Every answer must be no 5xx and match the document: a declared status code, the
declared content type, and a body valid against the schema for that status.

Bounded: SCHEMATHESIS_EXAMPLES examples per operation (default 20), no shrinking, no
example database, so a run takes well under a minute against a debug build.
"""

import json
import os
import pathlib
import subprocess
import tempfile
import time
import urllib.request

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "20"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def daemon():
    binary = os.environ.get("TILL_BIN", str(ROOT / ".build" / "debug" / "till"))
    data = tempfile.mkdtemp(prefix="till-schemathesis-")
    process = subprocess.Popen(
        [binary, "serve", "--sandbox", "--data", data, "--port", "0", "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    credentials = pathlib.Path(data) / "sandbox-credentials.json"
    deadline = time.monotonic() + 60
    info = None
    while time.monotonic() < deadline and info is None:
        if credentials.exists():
            try:
                info = json.loads(credentials.read_text())
                urllib.request.urlopen(info["api_base_url"] + "/healthz", timeout=5)
            except (ValueError, OSError):
                info = None
        time.sleep(0.1)
    if info is None:
        process.kill()
        raise RuntimeError("till serve --sandbox did not start")
    yield info
    process.terminate()
    process.wait(timeout=30)


@pytest.fixture(scope="module")
def api_schema(daemon):
    return schemathesis.openapi.from_url(daemon["api_base_url"] + "/openapi.json")


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_matches_its_document(case, daemon):
    case.call_and_validate(
        base_url=daemon["api_base_url"],
        headers={"Authorization": "Bearer " + daemon["secret_key"]},
        checks=CHECKS,
        timeout=30,
    )
