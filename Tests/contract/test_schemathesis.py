"""Schemathesis against the daemon's own OpenAPI document.

Starts `till serve --sandbox`, loads `/openapi.json` and sends every operation requests that
Schemathesis generates from the document (valid and invalid), with the sandbox's secret
API key. Every answer must be no 5xx and match the document: a declared status code, the
declared content type, and a body valid against the schema for that status.

Bounded: SCHEMATHESIS_EXAMPLES valid and as many invalid examples per operation (default
50), no shrinking, no example database: about 15 s against a debug build on 2 cores.
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
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "50"))
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


def test_api_matches_its_document(daemon):
    # Operations are walked here rather than with `schemathesis.pytest.from_fixture`, whose
    # lazy parametrization does not run under pytest 9.
    schema = schemathesis.openapi.from_url(daemon["api_base_url"] + "/openapi.json")
    headers = {"Authorization": "Bearer " + daemon["secret_key"]}
    failures = []
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(
                max_examples=EXAMPLES,
                deadline=None,
                database=None,
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            def run(case):
                case.call_and_validate(base_url=daemon["api_base_url"], headers=headers, checks=CHECKS, timeout=30)

            try:
                run()
            except Unsatisfiable:
                # An operation without parameters or body has no invalid request to make.
                continue
            except (Exception, BaseExceptionGroup) as error:  # every finding is collected and reported
                failures.append(f"{operation.method.upper()} {operation.path} ({mode}): {error}")
    assert operations > 0, "the document has no operations"
    assert not failures, "\n\n".join(failures)
