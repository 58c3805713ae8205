"""Errors sent to Sentry carry where the process's HTTP requests went, never their queries."""
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests
import sentry_sdk
from sentry_sdk.transport import Transport

from brokeroffice.sentry import breadcrumb_without_query

MADE_UP_CODE = "made-up-oauth-code-7d1e"
MADE_UP_CLIENT_SECRET = "made-up-client-secret-c04a"


class Kept(Transport):
    """Keeps what would be sent to Sentry."""

    def __init__(self, options=None):
        super().__init__(options)
        self.sent: list[bytes] = []

    def capture_envelope(self, envelope):
        self.sent.append(envelope.serialize())


class Answer(BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_an_error_event_lists_the_token_call_without_its_code_or_secret():
    server = HTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    transport = Kept()
    sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=transport,
                    before_breadcrumb=breadcrumb_without_query)
    try:
        url = f"http://127.0.0.1:{server.server_port}/oauth/token"
        requests.get(url, params={"code": MADE_UP_CODE, "client_secret": MADE_UP_CLIENT_SECRET}, timeout=5)
        sentry_sdk.capture_message("the token call went wrong")
        sentry_sdk.flush()
    finally:
        sentry_sdk.init(dsn=None)
        server.shutdown()
    sent = b"".join(transport.sent).decode()
    assert "/oauth/token" in sent  # the breadcrumb is there
    assert MADE_UP_CODE not in sent and MADE_UP_CLIENT_SECRET not in sent
