from accounts.services.broker import broker_check
from brokeroffice.jobcommand import JobCommand


class Command(JobCommand):
    help = "Check the broker's KuCoin connection: server time and broker info with the broker's credentials."

    def handle(self, *args, **options):
        self.run_job(kind="broker_check", label="Check the broker connection", work=lambda run: broker_check(run=run))
