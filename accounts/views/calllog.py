"""The log of every KuCoin call, filtered on its indexed columns, newest first, a page at a time by id."""
from __future__ import annotations

from django.db.models import Q
from django.shortcuts import render

from accounts.forms import CallLogFilterForm
from accounts.views.common import keyset_page
from brokeroffice.models import KuCoinCall
from brokeroffice.roles import VIEWER, role_required

# As KuCoinCall.succeeded says; "failures only" is everything else.
SUCCESS = Q(code__in=["200000", "200"]) | Q(code="", http_status=200)


@role_required(VIEWER)
def calllog_list(request):
    filters = CallLogFilterForm(request.GET or None)
    calls = KuCoinCall.objects.all()
    if filters.is_valid():
        data = filters.cleaned_data
        for name in ("code", "family", "credential", "actor"):
            if data[name].strip():
                calls = calls.filter(**{name: data[name].strip()})
        if data["failures"]:
            calls = calls.exclude(SUCCESS)
    return render(request, "accounts/calllog_list.html", {"filters": filters, "page": keyset_page(request, calls)})
