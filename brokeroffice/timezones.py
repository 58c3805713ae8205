"""Each staff member sees times in their own time zone, kept in the session so that no page pays a query."""
from __future__ import annotations

import zoneinfo
from functools import lru_cache

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import timezone

SESSION_KEY = "time_zone"


@lru_cache(maxsize=1)
def time_zone_names() -> tuple[str, ...]:
    return tuple(sorted(name for name in zoneinfo.available_timezones() if "/" in name or name == "UTC"))


@lru_cache(maxsize=512)
def _zone(name: str):
    return zoneinfo.ZoneInfo(name)


class StaffTimeZoneMiddleware:
    """Activates the session's time zone for the request; the UTC default otherwise."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        name = request.session.get(SESSION_KEY) if hasattr(request, "session") else None
        if name and name in time_zone_names():
            timezone.activate(_zone(name))
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


@receiver(user_logged_in)
def remember_time_zone_at_login(sender, request, user, **kwargs):
    from brokeroffice.models import StaffPreference

    preference = StaffPreference.objects.filter(user=user).only("time_zone").first()
    if request is not None and preference is not None:
        request.session[SESSION_KEY] = preference.time_zone
