"""KuCoin's errors in words, for pages, jobs and the CLI."""
from __future__ import annotations

from django.core.exceptions import ValidationError as FormError

from kucoin.errors import (AuthenticationError, BadRequestError, InvalidTimestampError, KuCoinError, OutcomeUnknownError,
                           PartnerSignatureError, RateLimitError, ServiceUnavailableError, ValidationError)

# Answers that prove a request was not executed, and are worth another try: refused at KuCoin's gateway (429,
# the timestamp), no room at our own rate limiter (BudgetWaitExceeded, a RateLimitError), or never sent (the
# connection refused).
NOTHING_EXECUTED = (RateLimitError, InvalidTimestampError, ServiceUnavailableError)

# Answers that refuse the request itself, so nothing was done: its parameters or the balance (KuCoin's
# business codes), the key, its IP whitelist or permissions, the partner signature (KuCoin's gateway), or a
# check made here before sending. Not the timestamp refusal: that one is tried again after a clock sync.
REQUEST_REFUSED = (BadRequestError, AuthenticationError, PartnerSignatureError, ValidationError)

# What staff should make of the codes that mean a set-up problem rather than a bad request.
HINTS = {
    "400001": "a KuCoin authentication header is missing",
    "400002": "this machine's clock is too far from KuCoin's",
    "400003": "KuCoin does not know this API key",
    "400004": "the API passphrase is wrong",
    "400005": "the API signature is wrong: check the API secret",
    "400006": "this server's IP address is not on the key's whitelist",
    "400007": "the API key lacks the permission this action needs",
    "400009": "the key version (KC-API-KEY-VERSION) is not accepted",
    "400200": "KuCoin does not know the partner id",
    "400201": "the partner signature is wrong: check the broker key and the partner id",
    "429000": "KuCoin's rate limit was reached",
}


def error_code(exc: BaseException) -> str:
    return (getattr(exc, "code", None) or "") if isinstance(exc, KuCoinError) else ""


def failure_fields(exc: BaseException) -> dict:
    """`error_code` and `error_message` of a row the error ended: KuCoin's code and message, or the error in
    words when KuCoin did not answer it."""
    return {"error_code": error_code(exc),
            "error_message": exc.msg if isinstance(exc, KuCoinError) else error_in_words(exc)[:2000]}


def error_in_words(exc: BaseException) -> str:
    """One sentence: KuCoin's code and message, and what it means when that is known."""
    if isinstance(exc, ValidationError):
        return exc.msg
    if isinstance(exc, FormError):
        return " ".join(exc.messages)
    if isinstance(exc, OutcomeUnknownError):
        return f"No answer from KuCoin ({exc.msg}); whether it happened is being checked before anything is retried."
    if isinstance(exc, KuCoinError):
        code = exc.code or ""
        hint = HINTS.get(code)
        head = f"KuCoin {code}: {exc.msg}" if code else f"KuCoin: {exc.msg}"
        return f"{head} — {hint}." if hint else head
    return str(exc) or exc.__class__.__name__
