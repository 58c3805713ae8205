"""One search box for what staff paste: a sub-account's name or UID, an API key, an order id or clientOid,
a customer reference. Exact identifiers are looked up by their unique indexes; names by their start (as typed)."""
from __future__ import annotations

from dataclasses import dataclass

from django.shortcuts import redirect, render
from django.urls import reverse

from brokeroffice.roles import VIEWER, role_required

LIMIT = 20
MAX_QUERY = 100


@dataclass(frozen=True)
class Hit:
    kind: str
    title: str
    detail: str
    url: str


def _sub_accounts(query: str) -> list[Hit]:
    from accounts.models import SubAccount

    exact = list(SubAccount.objects.filter(uid=query)[:1]) if query.isdigit() else []
    by_name = SubAccount.objects.filter(account_name__startswith=query).order_by("account_name")[:LIMIT]
    rows = exact + [row for row in by_name if row not in exact]
    return [Hit("Sub-account", row.account_name, f"UID {row.uid or '—'} · {row.get_state_display()}",
                reverse("accounts:subaccount-detail", args=[row.pk])) for row in rows]


def _api_keys(query: str) -> list[Hit]:
    from accounts.models import SubAccountApiKey

    rows = SubAccountApiKey.objects.filter(api_key=query).select_related("sub_account")[:LIMIT]
    return [Hit("API key", row.api_key, f"{row.label} of {row.sub_account.account_name}",
                reverse("accounts:apikey-detail", args=[row.pk])) for row in rows]


def _orders(query: str) -> list[Hit]:
    from django.db.models import Q

    from trading.models import Order

    # (market, kucoin_order_id) is the unique index: naming both markets lets the database use it.
    by_id = Q(market="spot", kucoin_order_id=query) | Q(market="futures", kucoin_order_id=query)
    rows = Order.objects.filter(by_id | Q(client_oid=query)).order_by("-id")[:LIMIT]
    return [Hit("Order", f"{row.market} {row.side} {row.symbol}",
                f"clientOid {row.client_oid} · {row.get_state_display()}",
                reverse("trading:order-detail", args=[row.pk])) for row in rows]


def _connections(query: str) -> list[Hit]:
    from accounts.models import FastApiConnection

    rows = FastApiConnection.objects.filter(customer_ref=query).order_by("-id")[:LIMIT]
    return [Hit("Fast API connection", f"customer {row.customer_ref}", row.get_state_display(),
                reverse("accounts:connection-detail", args=[row.pk])) for row in rows]


def search_everything(query: str) -> list[Hit]:
    query = query.strip()[:MAX_QUERY]
    if not query:
        return []
    return _sub_accounts(query) + _api_keys(query) + _orders(query) + _connections(query)


@role_required(VIEWER)
def search(request):
    query = request.GET.get("q", "").strip()
    hits = search_everything(query)
    if len(hits) == 1:
        return redirect(hits[0].url)  # one answer: go straight to it, as staff pasting an id expect
    return render(request, "search.html", {"query": query, "hits": hits})
