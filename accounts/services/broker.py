"""The broker profile: its connection check."""
from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from accounts.broker import BrokerNotConfigured, broker_identity, broker_profile
from accounts.clients import broker_client
from accounts.models import BrokerProfile
from brokeroffice.jobs import JobRun
from brokeroffice.kucoin_errors import error_in_words
from brokeroffice.tasking import TRANSIENT_ERRORS
from kucoin.errors import KuCoinError


def broker_check(*, run: JobRun | None = None, retry_transient: bool = False) -> tuple[bool, str]:
    """Calls server time and broker info with the broker's credentials; records and returns the answer in words.
    `retry_transient` (the task, before its last try): KuCoin busy or not answering is raised, to be tried again,
    rather than recorded as a failed check that the dashboard would show until the next one."""
    try:
        identity = broker_identity()
        client = broker_client()
        server_time = client.server_time()
        # Read at once: after the next call it would hold that call's time too (and any wait for the rate limiter).
        skew = abs((server_time - timezone.now()).total_seconds())
        today = timezone.now().date()
        info = client.broker.get_info(today - timedelta(days=1), today, "spot")
        ok = True
        message = (
            f"Connected as {identity.spot_partner.broker_name if identity.spot_partner else 'a broker without partner headers'}"
            f" (credentials from the {identity.source}): {info.account_size} sub-accounts"
            f"{'' if info.max_account_size is None else f' of at most {info.max_account_size}'}, broker level {info.level}; "
            f"KuCoin's clock is {skew:.1f} s from ours."
        )
        if identity.spot_partner is None:
            ok = False
            message += " No partner id and broker key are set, so orders will not be tagged and earn no rebate."
    except (KuCoinError, BrokerNotConfigured) as exc:
        if retry_transient and isinstance(exc, TRANSIENT_ERRORS):
            raise
        ok, message = False, error_in_words(exc)
    BrokerProfile.objects.filter(pk=broker_profile().pk).update(checked_at=timezone.now(), check_ok=ok, check_message=message)
    if run:
        if ok:
            run.succeed(message)
        else:
            raise BrokerCheckFailed(message)
    return ok, message


class BrokerCheckFailed(Exception):
    """The connection check found a problem (the message says which)."""
