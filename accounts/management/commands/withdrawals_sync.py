from accounts.services.funding import withdrawals_sync as sub_account_withdrawals_sync
from accounts.services.withdrawals import broker_withdrawals_sync
from brokeroffice.jobcommand import JobCommand


class Command(JobCommand):
    help = ("Follow every withdrawal that has not ended: the broker account's own (and customer payouts: approved ones "
            "whose task was lost are sent, unknown outcomes are looked up by remark, never sent twice), then the "
            "sub-account withdrawals KuCoin's ND API reports.")

    def handle(self, *args, **options):
        self.run_job(kind="broker_withdrawals_sync", label="Follow broker withdrawals and payouts",
                     work=lambda run: broker_withdrawals_sync(run=run))
        self.run_job(kind="withdrawals_sync", label="Sync sub-account withdrawals",
                     work=lambda run: sub_account_withdrawals_sync(run=run))
