from accounts.services.subaccounts import subaccounts_sync
from brokeroffice.jobcommand import JobCommand


class Command(JobCommand):
    help = "Read every sub-account of the broker from KuCoin and store them (every page, in bulk)."

    def handle(self, *args, **options):
        self.run_job(kind="subaccounts_sync", label="Sync sub-accounts from KuCoin", work=lambda run: subaccounts_sync(run=run))
