"""Request and task ids on every log line, so that one action can be followed through web and workers.

The ids live in context variables: a middleware sets the request's, Celery's task_prerun signal the task's.
"""
from __future__ import annotations

import logging
import uuid
from contextvars import ContextVar

from celery.signals import task_postrun, task_prerun

request_id: ContextVar[str] = ContextVar("request_id", default="")
task_id: ContextVar[str] = ContextVar("task_id", default="")


class ContextIdsFilter(logging.Filter):
    """Adds `request_id` and `task_id` to every record (empty outside a request or a task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get()
        record.task_id = task_id.get()
        return True


class RequestIdMiddleware:
    """Takes the load balancer's X-Request-ID when it is a sane value, or makes one; echoes it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        value = incoming if incoming and len(incoming) <= 64 and incoming.replace("-", "").isalnum() else uuid.uuid4().hex
        token = request_id.set(value)
        try:
            response = self.get_response(request)
        finally:
            request_id.reset(token)
        response["X-Request-ID"] = value
        return response


@task_prerun.connect
def _task_started(task_id: str | None = None, **kwargs) -> None:
    globals()["task_id"].set(task_id or "")


@task_postrun.connect
def _task_ended(**kwargs) -> None:
    globals()["task_id"].set("")
