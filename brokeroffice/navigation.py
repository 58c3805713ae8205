"""The main navigation: sections appear as their apps provide the named URL."""
from __future__ import annotations

from django.urls import NoReverseMatch, reverse

from brokeroffice.roles import BROKER_ADMIN, VIEWER, has_role

# (label, URL name, role needed). A section whose URL does not exist yet is left out.
SECTIONS = (
    ("Dashboard", "home", VIEWER),
    ("Sub-accounts", "accounts:subaccount-list", VIEWER),
    ("Transfers", "accounts:transfer-list", VIEWER),
    ("Deposits", "accounts:deposit-list", VIEWER),
    ("Payouts", "accounts:broker-withdrawal-list", VIEWER),
    ("Orders", "trading:order-list", VIEWER),
    ("Rebates", "rebates:report", VIEWER),
    ("Fast API", "accounts:connection-list", VIEWER),
    ("Call log", "accounts:calllog-list", VIEWER),
    ("Jobs", "job-list", VIEWER),
    ("Broker", "accounts:broker-profile", BROKER_ADMIN),
)


def sections_for(user, current_path: str) -> list[dict]:
    items = []
    for label, url_name, role in SECTIONS:
        if not has_role(user, role):
            continue
        try:
            url = reverse(url_name)
        except NoReverseMatch:
            continue
        active = current_path == url if url == "/" else current_path.startswith(url)
        items.append({"label": label, "url": url, "active": active})
    return items
