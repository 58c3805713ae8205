"""KuCoin errors as exceptions a caller can catch by family.

Every exception carries KuCoin's code and msg, the HTTP status and the
endpoint ("METHOD /path"), never a header, a secret or a request body.
"""
from __future__ import annotations


class KuCoinError(Exception):
    def __init__(self, msg: str, *, code: str | None = None, http_status: int | None = None,
                 endpoint: str | None = None) -> None:
        self.code = code
        self.msg = msg
        self.http_status = http_status
        self.endpoint = endpoint
        super().__init__(msg)

    def __str__(self) -> str:
        parts = []
        if self.code:
            parts.append(f"code={self.code}")
        if self.http_status is not None:
            parts.append(f"http={self.http_status}")
        if self.endpoint:
            parts.append(self.endpoint)
        suffix = f" ({', '.join(parts)})" if parts else ""
        return f"{self.msg}{suffix}"

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(code={self.code!r}, msg={self.msg!r}, "
                f"http_status={self.http_status!r}, endpoint={self.endpoint!r})")


class AuthenticationError(KuCoinError):
    """400001-400010: missing/invalid key, passphrase, signature, IP, permission, version."""


class InvalidTimestampError(AuthenticationError):
    """400002: KC-API-TIMESTAMP too far from KuCoin's clock."""


class PartnerSignatureError(KuCoinError):
    """400200 (unknown partner), 400201 (invalid KC-API-PARTNER-SIGN), 400202 (partner IP)."""


class RateLimitError(KuCoinError):
    """429000: the pool's budget is exhausted."""

    def __init__(self, msg: str, *, reset_ms: int | None = None, **kw) -> None:
        self.reset_ms = reset_ms
        super().__init__(msg, **kw)


class BudgetWaitExceeded(RateLimitError):
    """The local limiter would have to wait longer than allowed before sending."""


class BadRequestError(KuCoinError):
    """A definite rejection of the request (parameters, balance, order rules...)."""


class NotFoundError(BadRequestError):
    """404000, or a business 'does not exist' code."""


class AlreadyExistsError(BadRequestError):
    """260000: the deposit address already exists (read it with GET instead)."""


class ServerError(KuCoinError):
    """5xx or an unusable answer from KuCoin; for a GET, safe to retry later."""


class OutcomeUnknownError(KuCoinError):
    """The request may have reached KuCoin but no answer was read (timeout, dropped connection,
    5xx or unreadable answer on a POST/DELETE). Check by clientOid / name before trying again."""


class ValidationError(KuCoinError, ValueError):
    """Refused locally, before sending, because KuCoin would reject it."""

    def __init__(self, msg: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(msg)


# Business "does not exist" codes (spot HF order, futures order).
_NOT_FOUND_CODES = {"404000", "126043"}
_PARTNER_CODES = {"400200", "400201", "400202"}
_ALREADY_EXISTS_CODES = {"260000"}


def error_for(code: str | None, msg: str, http_status: int | None, endpoint: str | None) -> KuCoinError:
    """The exception KuCoin's answer means."""
    code = str(code) if code is not None else None
    kw = dict(code=code, http_status=http_status, endpoint=endpoint)
    msg = msg or "KuCoin error"
    if code == "400002":
        return InvalidTimestampError(msg, **kw)
    if code in _PARTNER_CODES:
        return PartnerSignatureError(msg, **kw)
    if code is not None and code.isdigit() and 400001 <= int(code) <= 400010:
        return AuthenticationError(msg, **kw)
    if code == "429000" or http_status == 429:
        return RateLimitError(msg, **kw)
    if code in _ALREADY_EXISTS_CODES:
        return AlreadyExistsError(msg, **kw)
    if code in _NOT_FOUND_CODES or http_status == 404:
        return NotFoundError(msg, **kw)
    if (http_status is not None and http_status >= 500) or code == "500000":
        return ServerError(msg, **kw)
    return BadRequestError(msg, **kw)


class ServiceUnavailableError(ServerError):
    """KuCoin could not be reached; the request certainly did not arrive (or, for a GET, retries ran out)."""


class OAuthError(KuCoinError):
    """The Fast API (OAuth) refused a call."""


class TokenExpiredError(OAuthError):
    """The access (or refresh) token is expired or no longer valid: log in again or refresh."""


class DuplicateApiNameError(OAuthError):
    """The user already has an API key with that apiName."""


class TooManyApiKeysError(OAuthError):
    """The user's number of API keys has reached KuCoin's maximum."""


class OAuthServerError(OAuthError, ServerError):
    """A 5xx from KuCoin's OAuth endpoints: worth another try later, like any server error."""
