"""Errors sent to Sentry, with the options settings.py gives it, carry where the process's HTTP requests went,
never their queries, the query of the web request they happened in, or any local variable."""
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import requests
import sentry_sdk
from sentry_sdk.transport import Transport

from brokeroffice.sentry import safe_options

MADE_UP_CODE = "made-up-oauth-code-7d1e"
MADE_UP_CLIENT_SECRET = "made-up-client-secret-c04a"
MADE_UP_ACCESS_TOKEN = "made-up-access-token-91b2"


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


def sent_to_sentry(action) -> str:
    """What Sentry would receive while `action` runs, with the project's options."""
    transport = Kept()
    sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=transport, **safe_options())
    try:
        action()
        sentry_sdk.flush()
    finally:
        sentry_sdk.init(dsn=None)
    return b"".join(transport.sent).decode()


def test_an_error_event_lists_the_token_call_without_its_code_or_secret():
    server = HTTPServer(("127.0.0.1", 0), Answer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    transport = Kept()
    sentry_sdk.init(dsn="https://public@sentry.invalid/1", transport=transport, **safe_options())
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


def test_an_exception_is_sent_without_the_local_variables_of_its_frames():
    def create_key(access_token: str) -> None:
        headers = {"Authorization": f"bearer {access_token}"}  # a plain string, as a client builds it
        raise TimeoutError(f"no answer to the key creation ({len(headers)} header)")

    def fail_and_report():
        try:
            create_key(MADE_UP_ACCESS_TOKEN)
        except TimeoutError:
            sentry_sdk.capture_exception()

    sent = sent_to_sentry(fail_and_report)
    assert "no answer to the key creation" in sent and "create_key" in sent  # the error and where it happened
    assert MADE_UP_ACCESS_TOKEN not in sent


def test_an_event_of_a_web_request_is_sent_without_its_query():
    def report():
        sentry_sdk.capture_event({"message": "the callback failed", "request": {
            "url": f"https://office.example.com/connect/kucoin/callback/?code={MADE_UP_CODE}&state=s",
            "query_string": f"code={MADE_UP_CODE}&state=s", "method": "GET"}})

    sent = sent_to_sentry(report)
    assert "/connect/kucoin/callback/" in sent and MADE_UP_CODE not in sent
