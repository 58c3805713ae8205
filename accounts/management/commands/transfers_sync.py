from accounts.services.transfers import transfers_sync
from brokeroffice.jobcommand import JobCommand


class Command(JobCommand):
    help = "Refresh every transfer KuCoin has not finished."

    def handle(self, *args, **options):
        self.run_job(kind="transfers_sync", label="Sync open transfers", work=lambda run: transfers_sync(run=run))
