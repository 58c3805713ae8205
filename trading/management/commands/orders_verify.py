from brokeroffice.jobcommand import JobCommand
from trading.services.orders import orders_verify


class Command(JobCommand):
    help = "Fetch orders and record their broker tag: the given ids, or up to 1,000 not yet verified."

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int, help="Order ids (database ids).")

    def handle(self, *args, **options):
        ids = options["ids"] or None
        self.run_job(kind="orders_verify", label="Verify broker tags",
                     work=lambda run: orders_verify(run=run, order_ids=ids))
