from django.core.management.base import CommandError

from brokeroffice.jobcommand import JobCommand
from trading.services.shares import tag_share_refresh


class Command(JobCommand):
    help = ("Count tagged orders, their tagged volume and whether each sub-account day got its rebate, over the last "
            "DAYS days (the schedule counts the last few; run this once after an upgrade, or to recount history).")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, required=True, help="Days to recount, today included.")

    def handle(self, *args, **options):
        days = options["days"]
        if days < 1:
            raise CommandError("--days must be at least 1.")
        self.run_job(kind="tag_share_refresh", label=f"Count tagged orders of the last {days} days",
                     work=lambda run: tag_share_refresh(days=days, run=run))
