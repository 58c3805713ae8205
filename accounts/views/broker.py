"""The broker profile: who the back-office is at KuCoin, and the connection check. Never a secret."""
from __future__ import annotations

from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_POST

from accounts.broker import broker_profile, credentials_from_environment
from accounts.tasks import broker_check_task
from accounts.views.common import job_in_request, redirect_to_job
from brokeroffice.jobs import job_start
from brokeroffice.roles import BROKER_ADMIN, role_required


def _identity(profile) -> dict:
    """The public parts of the credentials in use: names, partner ids and the API key, no secret."""
    if credentials_from_environment():
        return {"source": "environment", "broker_name": settings.KUCOIN_BROKER_NAME,
                "spot_partner": settings.KUCOIN_BROKER_PARTNER, "futures_partner": settings.KUCOIN_FUTURES_PARTNER,
                "api_key": settings.KUCOIN_API_KEY, "key_version": settings.KUCOIN_KEY_VERSION,
                "has_spot_broker_key": bool(settings.KUCOIN_BROKER_KEY),
                "has_futures_broker_key": bool(settings.KUCOIN_FUTURES_BROKER_KEY)}
    return {"source": "profile", "broker_name": profile.broker_name, "spot_partner": profile.spot_partner,
            "futures_partner": profile.futures_partner, "api_key": profile.api_key, "key_version": profile.key_version,
            "has_spot_broker_key": bool(profile.spot_broker_key), "has_futures_broker_key": bool(profile.futures_broker_key),
            "has_api_secret": bool(profile.api_secret and profile.api_passphrase)}


@role_required(BROKER_ADMIN)
def broker_profile_view(request):
    profile = broker_profile()
    context = {"profile": profile, "identity": _identity(profile), "job": job_in_request(request)}
    return render(request, "accounts/broker_profile.html", context)


@require_POST
@role_required(BROKER_ADMIN)
def broker_check_view(request):
    job = job_start(kind="broker_check", label="Check the connection to KuCoin", task=broker_check_task,
                    requested_by=request.user)
    return redirect_to_job("accounts:broker-profile", job)
