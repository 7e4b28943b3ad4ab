"""Shared fixtures for the contract tests.

The tests run the real `till sandbox` executable on free loopback ports, with a small
webhook receiver of their own, and drive it with the gateways' official client libraries.
`TILL_BIN` names the executable (default: .build/debug/till, built by `swift build`).
"""

import http.server
import json
import os
import pathlib
import re
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
WEBHOOK_SECRET = "whsec_contract_test_secret_0123456789"


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class WebhookInbox:
    """Collects webhook requests posted to a loopback HTTP server."""

    def __init__(self):
        self.requests = []
        self._lock = threading.Lock()
        inbox = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with inbox._lock:
                    inbox.requests.append(
                        {"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
                    )
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}/webhooks"

    def wait_for(self, predicate, timeout=15.0):
        """Returns the first request whose parsed JSON body satisfies `predicate`."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for request in self.requests:
                    try:
                        body = json.loads(request["body"])
                    except ValueError:
                        continue
                    if predicate(body):
                        return request
            time.sleep(0.05)
        raise AssertionError("no matching webhook arrived in time")

    def close(self):
        self.server.shutdown()


@pytest.fixture(scope="session")
def webhook_inbox():
    inbox = WebhookInbox()
    yield inbox
    inbox.close()


@pytest.fixture(scope="session")
def sandbox(webhook_inbox):
    """Runs `till sandbox` for the whole session; yields its URLs and credentials."""
    binary = os.environ.get("TILL_BIN", str(ROOT / ".build" / "debug" / "till"))
    stripe_port, paypal_port = _free_port(), _free_port()
    process = subprocess.Popen(
        [
            binary, "sandbox", "--host", "127.0.0.1",
            "--stripe-port", str(stripe_port), "--paypal-port", str(paypal_port),
            "--webhook", webhook_inbox.url, "--webhook-secret", WEBHOOK_SECRET,
            "--log-level", "warning",
        ],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    banner = []
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        banner.append(line)
        if "Press Ctrl-C" in line:
            break
    text = "".join(banner)
    if "Press Ctrl-C" not in text:
        process.kill()
        raise RuntimeError("till sandbox did not start:\n" + text)

    def field(name):
        match = re.search(rf"{name}\s+(\S+)", text)
        return match.group(1) if match else None

    # Keep draining output so the process never blocks on a full pipe.
    threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
    info = {
        "stripe_url": f"http://127.0.0.1:{stripe_port}",
        "paypal_url": f"http://127.0.0.1:{paypal_port}",
        "webhook_secret": WEBHOOK_SECRET,
        "paypal_client_id": field("client id"),
        "paypal_client_secret": field("client secret"),
        "paypal_webhook_id": field("webhook id"),
    }
    yield info
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()


@pytest.fixture(scope="module")
def daemon():
    """Runs `till serve --sandbox` in a fresh data directory; yields its credentials file."""
    binary = os.environ.get("TILL_BIN", str(ROOT / ".build" / "debug" / "till"))
    data = tempfile.mkdtemp(prefix="till-contract-")
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
