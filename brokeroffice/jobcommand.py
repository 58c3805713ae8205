"""Management commands that run a job in this process, for runbooks and cron: the job is recorded like
any other (it shows under Jobs), its progress is printed, and a failure exits non-zero with KuCoin's code
and message."""
from __future__ import annotations

from typing import Any, Callable

from django.core.management.base import BaseCommand, CommandError

from brokeroffice.jobs import JobRun, job_create, job_run
from brokeroffice.kucoin_errors import error_in_words


class JobCommand(BaseCommand):
    def run_job(self, *, kind: str, label: str, work: Callable[[JobRun], Any]) -> Any:
        command = self.__module__.rsplit(".", 1)[-1]
        job = job_create(kind=kind, label=label, requested_by_label=f"command {command}")
        self.stdout.write(f"{label}…")
        try:
            with job_run(str(job.pk), echo=self.echo) as run:
                return work(run)
        except Exception as exc:
            raise CommandError(error_in_words(exc)) from exc

    def echo(self, message: str) -> None:
        self.stdout.write(f"  {message}")
        self.stdout.flush()
