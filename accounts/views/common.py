"""What the accounts pages share: the job progress box, service errors on forms, keyset pages."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpResponseRedirect
from django.shortcuts import resolve_url

from brokeroffice.models import Job

PAGE_SIZE = 50


def job_in_request(request) -> Job | None:
    """The job named by `?job=<id>`, whose progress the page shows after an action."""
    try:
        job_id = uuid.UUID(request.GET.get("job", ""))
    except ValueError:
        return None
    return Job.objects.filter(pk=job_id).first()


def redirect_to_job(to, job: Job, *args, **kwargs) -> HttpResponseRedirect:
    """Back to the object's page, which shows the progress of the job just started."""
    return HttpResponseRedirect(f"{resolve_url(to, *args, **kwargs)}?job={job.pk}")


def add_service_error(form, exc: ValidationError, field: str | None = None) -> None:
    """A service's refusal shown on the form, beside the field it is about (the typed values stay): `field`
    when given, else the field each error names when the form has it, else above the form."""
    if field is None and hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
        return
    for message in exc.messages:
        form.add_error(field, message)


@dataclass
class KeysetPage:
    """One page of rows newest first, found by id instead of OFFSET, so no COUNT(*) is ever needed.

    `?before=<id>` shows the rows older than that id, `?after=<id>` the rows newer than it.
    """

    object_list: list
    newer_cursor: int | None = None
    older_cursor: int | None = None
    extra: dict = field(default_factory=dict)

    @property
    def has_other_pages(self) -> bool:
        return self.newer_cursor is not None or self.older_cursor is not None


def _cursor(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() else None


def keyset_page(request, queryset: QuerySet, size: int = PAGE_SIZE) -> KeysetPage:
    """Reads size + 1 rows in one query: the extra row only says whether there is another page."""
    before, after = _cursor(request, "before"), _cursor(request, "after")
    if after is not None and before is None:
        rows = list(queryset.filter(pk__gt=after).order_by("pk")[: size + 1])
        more_newer = len(rows) > size
        rows = list(reversed(rows[:size]))
        if not rows:  # nothing newer: show the newest page
            return keyset_page_first(queryset, size)
        return KeysetPage(rows, newer_cursor=rows[0].pk if more_newer else None, older_cursor=rows[-1].pk)
    if before is not None:
        queryset = queryset.filter(pk__lt=before)
    rows = list(queryset.order_by("-pk")[: size + 1])
    more_older = len(rows) > size
    rows = rows[:size]
    newer = rows[0].pk if (before is not None and rows) else None
    return KeysetPage(rows, newer_cursor=newer, older_cursor=rows[-1].pk if more_older else None)


def keyset_page_first(queryset: QuerySet, size: int = PAGE_SIZE) -> KeysetPage:
    rows = list(queryset.order_by("-pk")[: size + 1])
    return KeysetPage(rows[:size], older_cursor=rows[size - 1].pk if len(rows) > size else None)
