"""What every app shares: the record of background jobs that pages show progress from."""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models


class Job(models.Model):
    """One piece of background work as staff see it: what it is, who asked, how far it got, how it ended."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    FINISHED_STATES = (State.SUCCEEDED, State.FAILED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(max_length=100, help_text="The task that does the work, e.g. subaccounts_sync.")
    label = models.CharField(max_length=200)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(null=True, blank=True)
    message = models.CharField(max_length=500, blank=True)
    error = models.TextField(blank=True)
    result = models.JSONField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_by_label = models.CharField(
        max_length=150, blank=True, help_text="Who or what asked: a username, or the schedule's name."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["state", "-created_at"], name="job_state_created")]

    def __str__(self) -> str:
        return f"{self.label} ({self.get_state_display()})"

    @property
    def is_finished(self) -> bool:
        return self.state in self.FINISHED_STATES

    @property
    def percent(self) -> int | None:
        if not self.progress_total:
            return 100 if self.state == self.State.SUCCEEDED else None
        return min(100, round(100 * self.progress_done / self.progress_total))


class KuCoinCall(models.Model):
    """One request to KuCoin, as the client's hook reported it. Never holds a secret or a token."""

    at = models.DateTimeField(db_index=True)
    actor = models.CharField(max_length=150, blank=True, help_text="The staff user, schedule or command that caused it.")
    credential = models.CharField(max_length=64, blank=True, help_text="Which stored credential signed it, by id.")
    method = models.CharField(max_length=8)
    family = models.CharField(max_length=10, help_text="spot, futures, broker or oauth.")
    path = models.CharField(max_length=300)
    weight = models.PositiveSmallIntegerField(default=0)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    code = models.CharField(max_length=20, blank=True, help_text="KuCoin's code; 200000 is success.")
    latency_ms = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=100, blank=True, help_text="The client's error class, when the call failed.")
    job_id = models.UUIDField(null=True, blank=True)
    pool = models.CharField(max_length=12, blank=True, help_text="KuCoin's rate-limit pool the call counts in.")
    quota_limit = models.PositiveIntegerField(null=True, blank=True, help_text="The pool's quota per window.")
    quota_remaining = models.IntegerField(null=True, blank=True, help_text="What was left of it after this call.")

    class Meta:
        ordering = ["-id"]
        verbose_name = "KuCoin call"
        indexes = [
            models.Index(fields=["code", "-id"], name="call_code_id"),
            models.Index(fields=["family", "-id"], name="call_family_id"),
            models.Index(fields=["credential", "-id"], name="call_credential_id"),
            models.Index(fields=["actor", "-id"], name="call_actor_id"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.path} → {self.code or self.http_status}"

    @property
    def succeeded(self) -> bool:
        return self.code in ("200000", "200") or (not self.code and self.http_status == 200)


class ScheduledRun(models.Model):
    """One firing of a schedule. The unique keys make a second beat's message in the same minute, and the same
    message delivered again (a worker died before acknowledging it) in any later minute, a no-op."""

    name = models.CharField(max_length=200)
    slot = models.DateTimeField(help_text="The minute the schedule fired for.")
    delivery_id = models.CharField(max_length=64, null=True, blank=True, unique=True,
                                   help_text="The id of the message the beat sent: the same on a re-delivery.")
    job = models.ForeignKey(Job, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "slot"], name="scheduled_run_once")]
        ordering = ["-slot"]

    def __str__(self) -> str:
        return f"{self.name} at {self.slot:%Y-%m-%d %H:%M}"


class StaffPreference(models.Model):
    """What a staff member chose for themselves: the time zone pages show times in (UTC stays on hover)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="preference")
    time_zone = models.CharField(max_length=64, default="UTC")

    def __str__(self) -> str:
        return f"{self.user} ({self.time_zone})"
