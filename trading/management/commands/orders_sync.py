from brokeroffice.jobcommand import JobCommand
from trading.services.orders import orders_sync


class Command(JobCommand):
    help = "Fetch every open order (and every order whose sending is being checked) and record fills and tags."

    def handle(self, *args, **options):
        self.run_job(kind="orders_sync", label="Sync open orders", work=lambda run: orders_sync(run=run))
