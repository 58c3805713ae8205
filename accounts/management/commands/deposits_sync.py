from accounts.services.funding import deposits_sync
from brokeroffice.jobcommand import JobCommand


class Command(JobCommand):
    help = "Read the deposits into sub-accounts from KuCoin since the last one known."

    def handle(self, *args, **options):
        self.run_job(kind="deposits_sync", label="Sync deposits", work=lambda run: deposits_sync(run=run))
