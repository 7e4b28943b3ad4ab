"""Schemathesis against the daemon's own OpenAPI document.

Starts `till serve --sandbox`, loads `/openapi.json` and sends every operation requests that
Schemathesis generates from the document (valid and invalid), with the sandbox's secret
API key. Every answer must be no 5xx and match the document: a declared status code, the
declared content type, and a body valid against the schema for that status.

Bounded: SCHEMATHESIS_EXAMPLES valid and as many invalid examples per operation (default
50), no shrinking, no example database: about 15 s against a debug build on 2 cores.
"""

import os
import re

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, assume, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES = int(os.environ.get("SCHEMATHESIS_EXAMPLES", "50"))
TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def is_valid_header(name, value):
    text = str(value)
    if not TOKEN.match(str(name)) or any(ord(c) < 0x20 and c != "\t" or ord(c) == 0x7F for c in text):
        return False
    return str(name).lower() != "content-length" or text.isdigit()


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


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
                # A request that is not valid HTTP (a header name outside RFC 9110's token
                # characters, a control character in a value, a non-numeric Content-Length)
                # is refused by the HTTP layer before it reaches the API the document
                # describes; it says nothing about the API, so it is not sent.
                assume(all(is_valid_header(name, value) for name, value in (case.headers or {}).items()))
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
