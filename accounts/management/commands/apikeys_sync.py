from accounts.services.apikeys import apikeys_sync
from brokeroffice.jobcommand import JobCommand


class Command(JobCommand):
    help = "Bring the stored API keys of every active sub-account (or one, with --uid) in line with KuCoin."

    def add_arguments(self, parser):
        parser.add_argument("--uid", help="Only this sub-account.")

    def handle(self, *args, uid=None, **options):
        label = f"Sync API keys of {uid}" if uid else "Sync API keys of every sub-account"
        self.run_job(kind="apikeys_sync", label=label, work=lambda run: apikeys_sync(run=run, uid=uid))
