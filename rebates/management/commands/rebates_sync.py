from datetime import date, datetime

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from brokeroffice.jobcommand import JobCommand
from brokeroffice.models import Job
from rebates.services import (
    _describe_range,
    rebate_files_prepare,
    rebate_files_pull_retrying,
    rebate_range_check,
    trade_types_of,
)


def _day(text: str, name: str) -> date:
    try:
        return datetime.strptime(text, "%Y%m%d").date()
    except ValueError:
        raise CommandError(f"--{name} must be a day written YYYYMMDD, e.g. 20240610; got {text!r}.") from None


class Command(JobCommand):
    help = ("Pull KuCoin's rebate files for a range of days (split into 6-month windows), store them and "
            "replace the records of those days. Exits non-zero with the reason when a file fails.")

    def add_arguments(self, parser):
        parser.add_argument("--begin", required=True, help="First day, YYYYMMDD.")
        parser.add_argument("--end", required=True, help="Last day, YYYYMMDD (inclusive).")
        parser.add_argument("--trade-type", default="both", choices=["spot", "futures", "both"])

    def handle(self, *args, **options):
        begin, end = _day(options["begin"], "begin"), _day(options["end"], "end")
        trade_types = trade_types_of(options["trade_type"])
        try:
            rebate_range_check(begin=begin, end=end)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None

        def work(run):
            files = rebate_files_prepare(begin=begin, end=end, trade_types=trade_types,
                                         job=Job.objects.get(pk=run.job_id), requested_by_label="command rebates_sync")
            return rebate_files_pull_retrying(file_ids=[f.pk for f in files], run=run)

        self.run_job(kind="rebates_sync", label=_describe_range(begin, end, trade_types), work=work)
