"""`{{ value|when }}`: a time in the staff member's time zone, with UTC on hover."""
from __future__ import annotations

from datetime import datetime, timezone as dt_timezone

from django import template
from django.utils import timezone
from django.utils.dateformat import format as date_format
from django.utils.html import format_html

register = template.Library()


@register.filter(name="when")
def when(value: datetime | None, fmt: str = "Y-m-d H:i") -> str:
    if not value:
        return "—"
    if timezone.is_naive(value):
        value = timezone.make_aware(value, dt_timezone.utc)
    local = timezone.localtime(value)
    utc = value.astimezone(dt_timezone.utc)
    zone = local.tzname() or ""
    return format_html('<time datetime="{}" title="{} UTC">{} {}</time>', utc.isoformat(),
                       date_format(utc, "Y-m-d H:i:s"), date_format(local, fmt), zone)


@register.filter(name="when_relative")
def when_relative(value: datetime | None) -> str:
    """"3 minutes ago", with the local and UTC times on hover."""
    from django.contrib.humanize.templatetags.humanize import naturaltime

    if not value:
        return "—"
    local = timezone.localtime(value)
    utc = value.astimezone(dt_timezone.utc)
    return format_html('<time datetime="{}" title="{} {} · {} UTC">{}</time>', utc.isoformat(),
                       date_format(local, "Y-m-d H:i"), local.tzname() or "", date_format(utc, "Y-m-d H:i:s"),
                       naturaltime(value))
