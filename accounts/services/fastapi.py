"""Fast API: a customer connects their own KuCoin account ("Log in with KuCoin", OAuth2 authorization code),
then KuCoin creates an API key for them, bound to the broker (kucoin-api.md section 10).

Who does what:
- the start view (`fastapi_connect_start`) writes a pending connection with a random, single-use, expiring
  `state` (only its SHA-256 is stored) bound to a cookie of the starting browser, and answers with KuCoin's
  authorize URL;
- the callback view (`fastapi_callback_accept`) checks the state and that it came back to the browser that
  started the login, keeps the authorization code encrypted and queues `fastapi_connect_task`: the view never
  calls KuCoin;
- the task (`fastapi_connect_complete`) exchanges the code for tokens, stores them encrypted with their
  expiry times, and creates the key with the bearer token;
- a schedule (`fastapi_tokens_refresh`) refreshes access tokens before their hour is up; a connection whose
  refresh token ran out needs the customer to connect again (its key keeps working);
- a key creation whose task gave up without a key is asked for again by the resume schedule, or after the
  customer logs in again on the same row: always under the same apiName, so never as a second key;
- workers write only their own fields and never over a disconnect (`_write`): a disconnect always stands.

No token, code or state ever goes into a log line, a page, or an error message; the call log records
the OAuth calls by path only.
"""
from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import re
import secrets
from contextlib import closing
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.broker import broker_identity
from accounts.models import FastApiConnection, FastApiSettings
from accounts.services.resume import STALLED_AFTER
from brokeroffice.jobs import JobRun, job_start
from brokeroffice.kucoin_clients import make_client, make_oauth_client
from brokeroffice.kucoin_errors import error_code
from brokeroffice.leases import LeaseHeld, leased
from brokeroffice.models import Job
from brokeroffice.tasking import TRANSIENT_ERRORS
from kucoin import Credentials, KuCoinClient
from kucoin.errors import (DuplicateApiNameError, OAuthError, OutcomeUnknownError, RateLimitError, ServerError,
                           ServiceUnavailableError, TokenExpiredError, TooManyApiKeysError)
from kucoin.oauth import OAuthClient

logger = logging.getLogger("accounts.fastapi")

CUSTOMER_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,63}$")
STATE_TTL = timedelta(minutes=10)  # as long as KuCoin's authorization code lives
MAX_CODE_LENGTH = 512
BROWSER_NONCE = re.compile(r"^[A-Za-z0-9_-]{43}$")  # secrets.token_urlsafe(32)
# Refresh every access token that ends within this horizon (the schedule runs every 10 minutes).
REFRESH_HORIZON = timedelta(minutes=20)
# Logins never finished are forgotten after this long.
ABANDONED_AFTER = timedelta(days=1)
KEY_VERSION = "2"  # the header value the broker's tests confirmed for V3 keys (kucoin/credentials.py)

State = FastApiConnection.State


# -- settings ------------------------------------------------------------------------------------

def fastapi_settings() -> FastApiSettings:
    row, _ = FastApiSettings.objects.get_or_create(pk=1)
    return row


def oauth_client(row: FastApiSettings | None = None, *, connection: FastApiConnection | None = None) -> OAuthClient:
    """The OAuth client of the broker's Fast API app; its calls are logged under the connection they serve."""
    row = row or fastapi_settings()
    client = make_oauth_client(client_id=row.client_id, client_secret=row.client_secret or None,
                               api_key_add_path=row.key_creation_path)
    if connection is not None and client.on_request is not None:
        log = client.on_request
        client.on_request = lambda record: log(dataclasses.replace(record, credential_id=connection.credential_id))
    return client


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


class ConnectionDisconnected(Exception):
    """Staff disconnected the connection while a worker was acting on it: the worker stops there."""


def _write(connection: FastApiConnection, *, touch: bool = True, **changes) -> None:
    """Saves `changes` to the row (and the object) unless staff disconnected it meanwhile.

    A worker's copy of the row was read before its KuCoin call; saving it whole afterwards would put back the tokens
    and the state a disconnect made during the call removed. So workers write only their own fields, and never over
    a disconnect. `touch=False` leaves `updated_at`, which says when the connection last made progress.
    """
    if touch:
        changes["updated_at"] = timezone.now()
    if not FastApiConnection.objects.filter(pk=connection.pk).exclude(state=State.DISCONNECTED).update(**changes):
        raise ConnectionDisconnected(f"Nothing more to do: customer {connection.customer_ref}'s connection was "
                                     "disconnected meanwhile.")
    for name, value in changes.items():
        setattr(connection, name, value)


# -- refusals in words ---------------------------------------------------------------------------

@dataclass(eq=False)
class Refusal(Exception):
    """A customer-facing request refused: `reason` is logged, `title` and `message` are the customer's page."""

    kind: str
    reason: str
    title: str
    message: str
    status: int = 400
    customer_ref: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.reason}"


def _refuse(kind: str, reason: str, title: str, message: str, *, status: int = 400, customer_ref: str = "") -> Refusal:
    logger.warning("Fast API %s refused (%s): %s", "start" if kind.startswith("start") else "callback", kind, reason)
    return Refusal(kind, reason, title, message, status, customer_ref)


START_AGAIN = "Go back to where you started and choose “Connect KuCoin” again; it takes a minute."


# -- connect: the start URL -----------------------------------------------------------------------

def validate_customer_ref(value: str) -> str:
    value = (value or "").strip()
    if not CUSTOMER_REF.match(value):
        raise ValidationError("The customer reference is 1 to 64 letters, digits, '_', '.', ':', '@' or '-'.")
    return value


def link_signature(secret: str, customer_ref: str) -> str:
    """What the broker's site puts in `sig` when the settings hold a link signing secret."""
    return hmac.new(secret.encode("utf-8"), customer_ref.encode("utf-8"), hashlib.sha256).hexdigest()


def browser_nonce_new() -> str:
    """A random value for the cookie that ties a login to the browser that started it."""
    return secrets.token_urlsafe(32)


def browser_nonce_valid(value: str | None) -> bool:
    return bool(value) and BROWSER_NONCE.match(value) is not None


def _state_for(browser_nonce: str) -> str:
    # RFC 6749 10.12: the state carries the digest of the starting browser's cookie, so that a KuCoin login URL
    # forwarded to someone else comes back to a browser without that cookie. The stored state digest covers it.
    return f"{secrets.token_urlsafe(32)}.{_digest(browser_nonce)}"


def _state_from_this_browser(state: str, browser_nonce: str | None) -> bool:
    _, dot, bound = state.rpartition(".")
    return bool(dot) and browser_nonce_valid(browser_nonce) and hmac.compare_digest(bound, _digest(browser_nonce))


def fastapi_connect_start(*, customer_ref: str, browser_nonce: str, redirect_uri: str | None = None,
                          signature: str | None = None) -> tuple[FastApiConnection, str]:
    """A pending connection for the customer and the KuCoin login URL to send them to.

    A customer who starts again while a login is pending keeps the same row with a fresh state, so the
    public start URL cannot fill the table; an already connected customer is told so. So does a customer whose key
    creation ended without a key (the task gave up, or failed): the row keeps its apiName and `sent_at`, so the key
    asked for after the new login cannot be a second one. `browser_nonce` is the value of the starting browser's
    login cookie: only that browser can finish the login.
    """
    try:
        customer_ref = validate_customer_ref(customer_ref)
    except ValidationError:
        raise _refuse("start_bad_customer", "customer reference missing or malformed",
                      "This link is not complete",
                      "The link that brought you here is missing who you are. Go back to the broker's site and "
                      "use its “Connect KuCoin” button.") from None
    row = fastapi_settings()
    if not row.is_configured:
        raise _refuse("start_not_configured", "Fast API settings are incomplete", "Connecting is not available yet",
                      "Connecting a KuCoin account is not available at the moment. Please try again later.",
                      status=503)
    if row.link_secret and not hmac.compare_digest(link_signature(row.link_secret, customer_ref), signature or ""):
        raise _refuse("start_bad_signature", "the link's signature is missing or wrong", "This link is not valid",
                      "This link was not made by the broker's site. Go back there and use its “Connect KuCoin” "
                      "button.", status=403)
    if redirect_uri is not None and redirect_uri != row.redirect_url:
        raise _refuse("start_bad_redirect", "a redirect URL other than the registered one was asked for",
                      "This link is not valid",
                      "This link asks KuCoin to send you somewhere we do not know. Use the broker's own "
                      "“Connect KuCoin” button.", customer_ref=customer_ref)
    if not browser_nonce_valid(browser_nonce):
        raise ValueError("a browser nonce from browser_nonce_new() is needed")
    state = _state_for(browser_nonce)
    now = timezone.now()
    with transaction.atomic():
        latest = (FastApiConnection.objects.select_for_update().filter(customer_ref=customer_ref)
                  .exclude(state__in=[State.FAILED, State.DISCONNECTED]).order_by("-pk").first())
        if latest is not None and (latest.state == State.KEY_CREATED
                                   or latest.state == State.CONNECTED and latest.api_key):
            raise _refuse("start_already_connected", f"connection {latest.pk} is already {latest.state}",
                          "Your KuCoin account is already connected",
                          "There is nothing more to do. If something does not work, contact the broker's support.",
                          status=200, customer_ref=customer_ref)
        if latest is not None and latest.state == State.CONNECTED and key_creation_under_way(latest, now):
            raise _refuse("start_in_progress", f"connection {latest.pk} is creating its key",
                          "Your KuCoin account is being connected",
                          "We are asking KuCoin to create your API key. Please wait a few minutes, then check "
                          "again.", status=200, customer_ref=customer_ref)
        if latest is not None and latest.code and not latest.failure_kind and latest.state_used_at \
                and latest.state_used_at > now - STATE_TTL:  # the worker has not exchanged the code yet
            raise _refuse("start_in_progress", f"connection {latest.pk} is being completed",
                          "Your KuCoin account is being connected",
                          "We are finishing the connection you started a moment ago. Please wait a minute, then "
                          "check again.", status=200, customer_ref=customer_ref)
        login = {"state_digest": _digest(state), "state_expires_at": now + STATE_TTL, "state_used_at": None,
                 "redirect_url": row.redirect_url, "code": "", "code_received_at": None, "failure_kind": ""}
        if latest is not None:
            # Only the login's fields: a worker may be writing the row's tokens or key (it holds no lock).
            FastApiConnection.objects.filter(pk=latest.pk).update(**login, updated_at=now)
            latest.refresh_from_db()
            connection = latest
        else:
            connection = FastApiConnection.objects.create(customer_ref=customer_ref, **login)
    return connection, oauth_client(row).authorize_url(row.redirect_url, state)


def key_creation_under_way(connection: FastApiConnection, now: datetime | None = None) -> bool:
    """Whether a worker holds the connection, or its key creation may still be retried by its task.

    As the customer's status page reads it: from the callback until the task's whole retry schedule is over,
    unless the attempt ended with a failure.
    """
    now = now or timezone.now()
    if connection.lease_until is not None and connection.lease_until > now:
        return True
    return bool(connection.code_received_at is not None and not connection.failure_kind
                and connection.updated_at and connection.updated_at > now - STALLED_AFTER)


# -- connect: the callback ------------------------------------------------------------------------

ERROR_PARAM = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def fastapi_callback_accept(*, params, callback_url: str, browser_nonce: str | None,
                            requested_by_label: str = "") -> tuple[FastApiConnection, Job]:
    """Checks what KuCoin's redirect brought and keeps the code for the worker; `Refusal` when anything is off.

    `browser_nonce` is the login cookie of the browser that came back: it must be the one that started the login.

    A refused callback stores nothing, except that a customer who said no at KuCoin (a valid state with an
    error) has their pending connection marked failed.
    """
    row = fastapi_settings()
    if not row.redirect_url or callback_url != row.redirect_url:
        raise _refuse("wrong_redirect", "the callback was reached at a URL other than the registered redirect URL",
                      "This link is not valid",
                      "KuCoin can only send you back to the address the broker registered. " + START_AGAIN)
    state = params.get("state", "")
    if not state:
        raise _refuse("missing_state", "no state parameter", "This link is not valid",
                      "The answer from KuCoin is incomplete. " + START_AGAIN)
    if len(state) > 200:
        raise _refuse("tampered_state", "state parameter too long", "This link is not valid",
                      "The answer from KuCoin was changed on the way. " + START_AGAIN)
    connection = FastApiConnection.objects.filter(state_digest=_digest(state)).first()
    if connection is None:
        raise _refuse("unknown_state", "state unknown (tampered, or from an older login)", "This link is not valid",
                      "We do not recognise this answer from KuCoin: it was changed, or it belongs to an older "
                      "attempt. " + START_AGAIN)
    if not _state_from_this_browser(state, browser_nonce):
        # Before any other answer: no page here may offer a "start again" link for someone else's reference.
        raise _refuse("other_browser", f"state of connection {connection.pk} came back to a browser that did not "
                      "start the login", "This login was started in another browser",
                      "This KuCoin login was started in another browser; start again from your link. Nothing was "
                      "connected.")
    ref = connection.customer_ref
    if connection.state_used_at is not None:
        raise _refuse("reused_state", f"state of connection {connection.pk} already used", "This link was already used",
                      "Each KuCoin login can be used once, and this one already was. If your account is not "
                      "connected yet, start again.", customer_ref=ref)
    now = timezone.now()
    if connection.state_expires_at is None or connection.state_expires_at <= now:
        raise _refuse("expired_state", f"state of connection {connection.pk} expired", "This link has expired",
                      "You took longer than 10 minutes to log in at KuCoin, so this login has expired. Nothing was "
                      "connected. " + START_AGAIN, customer_ref=ref)
    error = params.get("error", "")
    if error:
        error = error if ERROR_PARAM.match(error) else "unreadable"
        claimed = FastApiConnection.objects.filter(pk=connection.pk, state_used_at__isnull=True).update(
            state_used_at=now, **({"state": State.FAILED} if connection.state == State.PENDING else {}),
            failure_kind="denied" if error == "access_denied" else "kucoin_refused",
            error_code="", error_message=f"KuCoin sent the customer back with the error “{error}”.")
        denied = error == "access_denied"
        raise _refuse("kucoin_error", f"KuCoin answered with error {error} for connection {connection.pk}"
                      + ("" if claimed else " (state already used)"),
                      "Your KuCoin account was not connected",
                      ("You chose not to give access at KuCoin, so nothing was shared. If that was a mistake, "
                       "start again." if denied else
                       f"KuCoin did not complete the login (it said “{error}”). Nothing was shared. " + START_AGAIN),
                      customer_ref=ref)
    code = params.get("code", "")
    if not code or len(code) > MAX_CODE_LENGTH or not code.isprintable():
        raise _refuse("missing_code", f"no usable code for connection {connection.pk}", "This link is not valid",
                      "The answer from KuCoin is incomplete. " + START_AGAIN, customer_ref=ref)
    code_digest = _digest(code)
    if FastApiConnection.objects.filter(code_digest=code_digest).exists():
        raise _refuse("replayed_code", f"authorization code already seen (connection {connection.pk})",
                      "This link was already used",
                      "This KuCoin login was already used. If your account is not connected yet, start again.",
                      customer_ref=ref)
    from accounts.tasks import fastapi_connect_task

    try:
        with transaction.atomic():
            claimed = FastApiConnection.objects.filter(pk=connection.pk, state_used_at__isnull=True).update(
                state_used_at=now, code_digest=code_digest, code_received_at=now, failure_kind="",
                error_code="", error_message="")
            if not claimed:
                raise _refuse("reused_state", f"state of connection {connection.pk} used concurrently",
                              "This link was already used", "Each KuCoin login can be used once. If your account is "
                              "not connected yet, start again.", customer_ref=ref)
            connection.refresh_from_db()
            connection.code = code  # encrypted on save; the worker exchanges it and forgets it
            connection.save(update_fields=["code", "updated_at"])
            job = job_start(kind="fastapi_connect", label=f"Connect the KuCoin account of customer {ref}",
                            task=fastapi_connect_task, args=(connection.pk,),
                            requested_by_label=requested_by_label or f"customer {ref}")
    except IntegrityError:
        raise _refuse("replayed_code", f"authorization code already seen (connection {connection.pk})",
                      "This link was already used", "This KuCoin login was already used. If your account is not "
                      "connected yet, start again.", customer_ref=ref) from None
    return connection, job


# -- the worker: tokens and the key --------------------------------------------------------------

FAILURES = {
    # failure_kind: (what staff read, what the customer reads)
    "denied": ("The customer refused access at KuCoin.",
               "You chose not to give access at KuCoin, so nothing was shared. If that was a mistake, connect again."),
    "duplicate_api_name": (
        "KuCoin refused the key: the customer's account already has a key with this apiName. The customer deletes "
        "that key at KuCoin (API Management) and connects again.",
        "Your KuCoin account already has an API key with the name we use. Delete that key at KuCoin (Account › API "
        "Management), then connect again."),
    "key_lost": (
        "The key-creation answer was lost and KuCoin now reports the apiName as taken: a key was probably created "
        "whose secret we never received. The customer deletes it at KuCoin (API Management) and connects again.",
        "We could not finish setting up your API key. Delete the key named below at KuCoin (Account › API "
        "Management), then connect again."),
    "key_unknown": (
        "The key-creation answer was lost and no apiName was sent, so whether KuCoin made the key cannot be checked: "
        "nothing more is sent. The customer deletes the key made just now at KuCoin (API Management) and connects again.",
        "We could not finish setting up your API key. Check your API keys at KuCoin (Account › API Management), delete "
        "the one created just now, then connect again."),
    "too_many_keys": (
        "KuCoin refused the key: the customer's account has the maximum number of API keys. The customer deletes a "
        "key they no longer use at KuCoin, then connects again.",
        "Your KuCoin account already has as many API keys as KuCoin allows. Delete one you no longer use at KuCoin "
        "(Account › API Management), then connect again."),
    "token_expired": (
        "KuCoin refused the access token as expired or revoked before the key was made: the customer connects again.",
        "The permission you gave at KuCoin ran out before we could finish. Please connect again; it takes a minute."),
    "code_refused": (
        "KuCoin refused the authorization code (expired, already used or issued for another redirect URL).",
        "KuCoin did not accept this login any more. Please connect again; it takes a minute."),
    "kucoin_refused": (
        "KuCoin refused the connection (see its message).",
        "KuCoin did not accept the connection. Please try again in a few minutes; if it keeps happening, contact "
        "the broker's support."),
}


def failure_for_staff(connection: FastApiConnection) -> str:
    hint = FAILURES.get(connection.failure_kind, ("", ""))[0]
    return " ".join(part for part in (connection.error_in_words, hint) if part)


def failure_for_customer(connection: FastApiConnection) -> str:
    return FAILURES.get(connection.failure_kind, FAILURES["kucoin_refused"])[1]


def _failure_kind(exc: OAuthError, *, lost_before: bool = False) -> str:
    if isinstance(exc, DuplicateApiNameError):
        return "key_lost" if lost_before else "duplicate_api_name"
    if isinstance(exc, TooManyApiKeysError):
        return "too_many_keys"
    if isinstance(exc, TokenExpiredError):
        return "token_expired"
    return "kucoin_refused"


def _token_fields(tokens) -> dict:
    now = timezone.now()
    # KuCoin's answer has no refresh lifetime: it is documented as 3 days.
    return {"access_token": tokens.access_token, "access_expires_at": tokens.expires_at,
            "refresh_token": tokens.refresh_token or "",
            "refresh_expires_at": now + timedelta(days=3) if tokens.refresh_token else None,
            "tokens_refreshed_at": now}


def _fail(connection: FastApiConnection, kind: str, exc: BaseException | None = None, *, keep_state: bool = False,
          **changes) -> None:
    changes.update(failure_kind=kind, error_code=error_code(exc) if exc is not None else "",
                   error_message=getattr(exc, "msg", "") if exc is not None else "")
    if not keep_state:
        changes["state"] = State.FAILED
    _write(connection, **changes)


class ConnectionFailed(Exception):
    """The connection could not be completed (the connection row says why, in words)."""


def fastapi_connect_complete(*, connection_id: int, run: JobRun) -> FastApiConnection:
    """Exchanges the code for tokens (once), then creates the key (once). Safe to run twice."""
    with leased(FastApiConnection, connection_id):
        connection = FastApiConnection.objects.get(pk=connection_id)
        with closing(oauth_client(connection=connection)) as client:
            try:
                return _connect_complete(connection, client, run)
            except ConnectionDisconnected as exc:
                run.succeed(str(exc))
                return FastApiConnection.objects.get(pk=connection_id)


def _connect_complete(connection: FastApiConnection, client: OAuthClient, run: JobRun) -> FastApiConnection:
    if connection.code:
        run.progress(1, 3, "Exchanging the authorization code for tokens")
        try:
            tokens = client.exchange_code(connection.code, connection.redirect_url)
        except ServerError:
            raise  # a 5xx (an OAuthServerError too) is KuCoin's trouble, not a refusal: the task tries again
        except OAuthError as exc:
            # A connection that held tokens before keeps its state, and with it the apiName of a key creation that
            # may have gone through: the customer's next login reuses it rather than starting a row of its own.
            _fail(connection, "code_refused" if "grant" in (exc.msg or "") else _failure_kind(exc), exc,
                  keep_state=connection.state in (State.RECONNECT_NEEDED, State.CONNECTED), code="")
            raise ConnectionFailed(failure_for_staff(connection)) from None
        _write(connection, code="", **_token_fields(tokens), connected_at=timezone.now(),
               state=State.KEY_CREATED if connection.api_key else State.CONNECTED,
               error_code="", error_message="", failure_kind="")
    if connection.state == State.CONNECTED and not connection.api_key:
        run.progress(2, 3, "Asking KuCoin to create the API key")
        _create_key(connection, client)
    if connection.state == State.KEY_CREATED:
        run.succeed(f"Customer {connection.customer_ref} is connected; API key {connection.api_key}.",
                    {"connection_id": connection.pk})
    else:
        run.succeed(f"Nothing to do: the connection is {connection.get_state_display().lower()}.")
    return connection


def _key_body(row: FastApiSettings, connection: FastApiConnection) -> dict | None:
    body = dict(row.key_creation_body or {})
    if row.send_api_name:
        body["apiName"] = connection.api_name
    return body or None


def _create_key(connection: FastApiConnection, client: OAuthClient) -> None:
    row = fastapi_settings()
    lost_before = connection.sent_at is not None
    if not connection.api_name:
        _write(connection, api_name=f"broker-{connection.pk}-{secrets.token_hex(3)}")  # chosen and saved before sending
    if lost_before and not row.send_api_name:
        # Without a name KuCoin cannot tell us whether the lost call made the key: never send a second one.
        _fail(connection, "key_unknown")
        raise ConnectionFailed(failure_for_staff(connection))
    try:
        if connection.access_expires_at and connection.access_expires_at <= timezone.now() + timedelta(seconds=30):
            _refresh_tokens(connection, client)
        try:
            key = _send_key_creation(connection, client, row)
        except TokenExpiredError:
            if not connection.refresh_token:
                raise
            _refresh_tokens(connection, client)
            key = _send_key_creation(connection, client, row)
    except (OutcomeUnknownError, ServerError):
        raise  # retried by the task: the same apiName (or no second call at all) makes a second key impossible
    except OAuthError as exc:
        kind = _failure_kind(exc, lost_before=lost_before)
        # After a lost answer this refusal says nothing about the earlier call: the row stays connected with its
        # apiName, so that the customer's next login asks under that name instead of a new row making a second key.
        _fail(connection, kind, exc, keep_state=lost_before and kind != "key_lost")
        raise ConnectionFailed(failure_for_staff(connection)) from None
    key_fields = {"api_name": key.api_name or connection.api_name, "api_key": key.api_key,
                  "api_secret": key.secret, "api_passphrase": key.passphrase,  # encrypted on save, never shown
                  "broker_id": key.broker_id or "", "auth_group": ",".join(key.auth_group),
                  "ip_whitelist": key.ip_whitelist or "", "key_created_at": timezone.now()}
    try:
        _write(connection, **key_fields, key_in_use=True, state=State.KEY_CREATED, error_code="", error_message="",
               failure_kind="")
    except ConnectionDisconnected:
        # Disconnected during the call: the disconnect stands, and the key KuCoin made is kept (not orphaned) but
        # not used: staff stopped this customer before the key existed.
        FastApiConnection.objects.filter(pk=connection.pk).update(**key_fields, key_in_use=False,
                                                                  updated_at=timezone.now())
        raise ConnectionDisconnected(
            f"Customer {connection.customer_ref}'s connection was disconnected while KuCoin created its key: API key "
            f"{key.api_key} is recorded on it, not used for trading, and it stays disconnected.") from None


def _send_key_creation(connection: FastApiConnection, client: OAuthClient, row: FastApiSettings):
    """One key-creation call; `sent_at` says it may have reached KuCoin while that is possible."""
    sent_before = connection.sent_at
    _write(connection, sent_at=timezone.now())  # nothing is sent for a connection staff disconnected
    try:
        return client.create_api_key(connection.access_token, body=_key_body(row, connection))
    except (TokenExpiredError, RateLimitError, ServiceUnavailableError):
        # Refused before anything was made, or never arrived: not a lost answer for the next attempt.
        FastApiConnection.objects.filter(pk=connection.pk).update(sent_at=sent_before, updated_at=timezone.now())
        connection.sent_at = sent_before
        raise


def _refresh_tokens(connection: FastApiConnection, client: OAuthClient) -> None:
    tokens = client.refresh(connection.refresh_token)
    # No progress of the connection: a stalled key creation must still look stalled to its page and the schedule.
    _write(connection, touch=False, **_token_fields(tokens))


# Failures after which KuCoin surely made no key.
DEFINITE_REFUSALS = ("duplicate_api_name", "too_many_keys", "token_expired", "kucoin_refused")


def _refused_by_older_code(connection: FastApiConnection) -> bool:
    """Whether a row failed "kucoin_refused" by older code on an answer that left the outcome unknown: a 5xx, or
    an unreadable answer to the key creation."""
    return connection.error_code.startswith("5") or connection.error_message.startswith(
        ("unreadable answer", "unexpected answer"))


def key_retry_refusal(connection: FastApiConnection, now: datetime | None = None) -> str:
    """Why staff may not ask for the key again now, in words; "" when they may.

    Only once the last attempt has ended: failed for sure, or (connected) untouched for longer than the task's
    whole retry schedule, so that no retry of a lost answer is still on its way.
    """
    now = now or timezone.now()
    if connection.api_key:
        return "This connection already has its key."
    if connection.state not in (State.FAILED, State.CONNECTED):
        return ("A key can only be asked for again for a failed connection, and this one is "
                f"{connection.get_state_display().lower()}.")
    if not connection.refresh_token or not connection.refresh_expires_at or connection.refresh_expires_at <= now:
        return "The connection holds no valid token any more: the customer has to connect again."
    if connection.state == State.FAILED and connection.failure_kind == "key_unknown":
        return ("KuCoin may have made a key whose answer was lost, and without an apiName that cannot be checked: the "
                "customer deletes that key at KuCoin (API Management) and connects again.")
    if connection.state == State.CONNECTED and not connection.failure_kind and connection.updated_at \
            and connection.updated_at > now - STALLED_AFTER:
        return ("The key is still being created (KuCoin's answer may be on its way, or the task is waiting to try "
                "again): wait for that attempt to end, then look again.")
    return ""


def fastapi_key_retry(*, connection: FastApiConnection, requested_by=None) -> Job:
    """Staff ask for the key again (after the customer freed a name or a slot), while the tokens last.

    Under the row's lease, and only when `key_retry_refusal` allows it. The apiName stays: if an earlier call made
    the key after all, KuCoin refuses the name instead of making a second key.
    """
    from accounts.tasks import fastapi_connect_task

    try:
        with leased(FastApiConnection, connection.pk):
            connection = FastApiConnection.objects.get(pk=connection.pk)
            refusal = key_retry_refusal(connection)
            if refusal:
                raise ValidationError(refusal)
            changes = {"state": State.CONNECTED, "failure_kind": "", "error_code": "", "error_message": "",
                       "updated_at": timezone.now()}  # also marks the attempt in flight for a second click
            if connection.state == State.FAILED and connection.failure_kind in DEFINITE_REFUSALS \
                    and not _refused_by_older_code(connection):
                changes["sent_at"] = None  # nothing was made: a "name taken" next time is not a lost key
            if not (FastApiConnection.objects.filter(pk=connection.pk).exclude(state=State.DISCONNECTED)
                    .update(**changes)):
                raise ValidationError("This connection was disconnected meanwhile.")
    except LeaseHeld:
        raise ValidationError("A worker is creating the key right now: wait for it to finish, then look "
                              "again.") from None
    return job_start(kind="fastapi_connect", label=f"Create the API key of customer {connection.customer_ref}",
                     task=fastapi_connect_task, args=(connection.pk,), requested_by=requested_by)


# -- token upkeep ---------------------------------------------------------------------------------

def _reconnect_needed(connection: FastApiConnection, message: str, exc: BaseException | None = None) -> None:
    _write(connection, state=State.RECONNECT_NEEDED, access_token="", refresh_token="",  # useless now; the key works
           error_code=error_code(exc) if exc is not None else "", error_message=message, failure_kind="")


def fastapi_tokens_refresh(*, run: JobRun) -> dict:
    """Refreshes every access token that ends soon while its refresh token lasts; marks the rest reconnect needed."""
    now = timezone.now()
    due = (FastApiConnection.objects.filter(state__in=[State.CONNECTED, State.KEY_CREATED])
           .exclude(refresh_token="").filter(Q(access_expires_at__isnull=True) | Q(access_expires_at__lt=now + REFRESH_HORIZON))
           .order_by("pk"))
    ids = list(due.values_list("pk", flat=True))
    counts = {"refreshed": 0, "reconnect_needed": 0, "later": 0, "forgotten": 0}
    row = fastapi_settings()
    for done, pk in enumerate(ids, start=1):
        try:
            with leased(FastApiConnection, pk):
                connection = FastApiConnection.objects.get(pk=pk)
                if connection.state not in (State.CONNECTED, State.KEY_CREATED) or not connection.refresh_token:
                    continue
                if connection.refresh_expires_at and connection.refresh_expires_at <= timezone.now():
                    _reconnect_needed(connection, "The refresh token expired (3 days): the customer connects again "
                                                  "to renew it. The API key keeps working.")
                    counts["reconnect_needed"] += 1
                    continue
                try:
                    with closing(oauth_client(row, connection=connection)) as client:
                        _refresh_tokens(connection, client)
                except ServerError:
                    raise  # a 5xx is no refusal: the tokens are kept and the next run tries again
                except OAuthError as exc:
                    _reconnect_needed(connection, f"KuCoin refused the refresh ({exc.msg}): the customer connects "
                                                  "again to renew it. The API key keeps working.", exc)
                    counts["reconnect_needed"] += 1
                    continue
                counts["refreshed"] += 1
        except (LeaseHeld, *TRANSIENT_ERRORS) as exc:
            logger.warning("Fast API refresh of connection %s left for the next run: %s", pk, type(exc).__name__)
            counts["later"] += 1
        except ConnectionDisconnected:
            pass  # staff disconnected it during the call: the tokens KuCoin just issued are not kept
        run.progress(done, len(ids), f"{done} of {len(ids)} connections")
    counts["forgotten"], _ = (FastApiConnection.objects.filter(state=State.PENDING, code_received_at__isnull=True,
                                                               state_expires_at__lt=now - ABANDONED_AFTER).delete())
    run.succeed(f"Refreshed {counts['refreshed']} token(s); {counts['reconnect_needed']} connection(s) need the "
                f"customer to reconnect; {counts['later']} left for the next run; {counts['forgotten']} abandoned "
                "login(s) forgotten.", counts)
    return counts


# -- disconnect -----------------------------------------------------------------------------------

def fastapi_disconnect(*, connection: FastApiConnection, mark_key_unused: bool) -> FastApiConnection:
    """Deletes the tokens (KuCoin has no revocation call); on request the key is no longer used here.

    Wins over a worker in the middle of a KuCoin call for the connection: workers never write over a disconnected
    row (`_write`), and this writes only its own fields, so a key arriving at the same moment is kept.
    """
    with transaction.atomic():
        connection = FastApiConnection.objects.select_for_update().get(pk=connection.pk)
        if connection.state == State.DISCONNECTED and not (mark_key_unused and connection.key_in_use):
            raise ValidationError("This connection is already disconnected.")
        now = timezone.now()
        changes = {"access_token": "", "refresh_token": "", "code": "", "state_digest": None,
                   "state": State.DISCONNECTED, "disconnected_at": now, "updated_at": now}
        if mark_key_unused:
            changes["key_in_use"] = False
        FastApiConnection.objects.filter(pk=connection.pk).update(**changes)
        connection.refresh_from_db()
    return connection


# -- for trading ----------------------------------------------------------------------------------

class ConnectionKeyUnusable(Exception):
    """The connection has no key that may sign (none created, marked unused, or its secret is missing)."""


def usable_connections():
    """Connections whose key trading may use for tagged orders."""
    return (FastApiConnection.objects.filter(state__in=FastApiConnection.KEY_STATES, key_in_use=True)
            .exclude(api_key__isnull=True).exclude(api_secret=""))


def connection_client(connection: FastApiConnection) -> KuCoinClient:
    """A client that signs with the connection's key and carries the broker headers (so orders are tagged).

    Services and tasks only; the key is decrypted here and nowhere else.
    """
    identity = broker_identity()
    credentials = connection_credentials(connection, key_version=identity.credentials.key_version)
    return make_client(credentials, spot_partner=identity.spot_partner, futures_partner=identity.futures_partner)


def connection_credentials(connection: FastApiConnection, *, key_version: str | None = None) -> Credentials:
    """The connection's key as `kucoin` credentials (for a client cache like trading's `order_client`)."""
    if not connection.key_usable:
        raise ConnectionKeyUnusable(
            f"The Fast API connection of customer {connection.customer_ref} has no usable key "
            f"({connection.get_state_display().lower()}{'' if connection.key_in_use else ', key marked unused'}).")
    return Credentials(api_key=connection.api_key, api_secret=connection.api_secret,
                       api_passphrase=connection.api_passphrase, key_version=key_version or KEY_VERSION,
                       credential_id=connection.credential_id)


def token_expiry(when: datetime | None) -> str:
    """How a token's expiry reads on a page."""
    if when is None:
        return "—"
    return f"{when:%Y-%m-%d %H:%M} UTC" + (" (expired)" if when <= timezone.now() else "")
