"""Celery tasks of the accounts app: each loads ids, calls one service inside its job, and retries on
transient KuCoin failures. No business logic here."""
from celery import shared_task

from accounts.services import apikeys, balances, broker, funding, kyc, resume, retire, subaccounts, transfers
from brokeroffice.jobs import job_run
from brokeroffice.tasking import on_last_try, retrying


@shared_task(bind=True, name="accounts.subaccount_create")
def subaccount_create_task(self, job_id: str, sub_account_id: int) -> None:
    with job_run(job_id) as run, retrying(self):
        subaccounts.subaccount_create_send(sub_account_id=sub_account_id, run=run)


@shared_task(bind=True, name="accounts.subaccounts_sync")
def subaccounts_sync_task(self, job_id: str) -> None:
    with job_run(job_id) as run, retrying(self):
        subaccounts.subaccounts_sync(run=run)


@shared_task(bind=True, name="accounts.subaccount_retire")
def subaccount_retire_task(self, job_id: str, sub_account_id: int) -> None:
    with job_run(job_id) as run, retrying(self):
        retire.subaccount_retire_execute(sub_account_id=sub_account_id, run=run)


@shared_task(bind=True, name="accounts.apikey_create")
def apikey_create_task(self, job_id: str, key_id: int) -> None:
    with job_run(job_id) as run, retrying(self):
        apikeys.apikey_create_send(key_id=key_id, run=run)


@shared_task(bind=True, name="accounts.apikey_update")
def apikey_update_task(self, job_id: str, key_id: int) -> None:
    with job_run(job_id) as run, retrying(self):
        apikeys.apikey_update_send(key_id=key_id, run=run)


@shared_task(bind=True, name="accounts.apikey_delete")
def apikey_delete_task(self, job_id: str, key_id: int) -> None:
    with job_run(job_id) as run, retrying(self):
        apikeys.apikey_delete_send(key_id=key_id, run=run)


@shared_task(bind=True, name="accounts.apikey_import")
def apikey_import_task(self, job_id: str, key_id: int) -> None:
    with job_run(job_id) as run, retrying(self):
        apikeys.apikey_import_verify(key_id=key_id, run=run)


@shared_task(bind=True, name="accounts.apikeys_sync")
def apikeys_sync_task(self, job_id: str, uid: str | None = None) -> None:
    with job_run(job_id) as run, retrying(self):
        apikeys.apikeys_sync(run=run, uid=uid)


@shared_task(bind=True, name="accounts.balances_refresh")
def balances_refresh_task(self, job_id: str, sub_account_id: int) -> None:
    with job_run(job_id) as run, retrying(self):
        balances.balances_refresh_one(sub_account_id=sub_account_id, run=run)


@shared_task(bind=True, name="accounts.balances_refresh_all")
def balances_refresh_all_task(self, job_id: str) -> None:
    with job_run(job_id) as run, retrying(self):
        balances.balances_refresh_all(run=run)


@shared_task(bind=True, name="accounts.transfer_send")
def transfer_send_task(self, job_id: str, transfer_id: int) -> None:
    with job_run(job_id) as run, retrying(self):
        transfers.transfer_send(transfer_id=transfer_id, run=run, last_try=on_last_try(self))


@shared_task(bind=True, name="accounts.transfers_sync")
def transfers_sync_task(self, job_id: str) -> None:
    with job_run(job_id) as run, retrying(self):
        transfers.transfers_sync(run=run)


@shared_task(bind=True, name="accounts.deposits_sync")
def deposits_sync_task(self, job_id: str) -> None:
    with job_run(job_id) as run, retrying(self):
        funding.deposits_sync(run=run)


@shared_task(bind=True, name="accounts.withdrawals_sync")
def withdrawals_sync_task(self, job_id: str) -> None:
    with job_run(job_id) as run, retrying(self):
        funding.withdrawals_sync(run=run)


@shared_task(bind=True, name="accounts.kyc_submit")
def kyc_submit_task(self, job_id: str, submission_id: int) -> None:
    with job_run(job_id) as run, retrying(self):
        kyc.kyc_submit_send(submission_id=submission_id, run=run, last_try=on_last_try(self))


@shared_task(bind=True, name="accounts.kyc_status_sync")
def kyc_status_sync_task(self, job_id: str) -> None:
    with job_run(job_id) as run, retrying(self):
        kyc.kyc_status_sync(run=run)


@shared_task(bind=True, name="accounts.broker_check")
def broker_check_task(self, job_id: str) -> None:
    with job_run(job_id) as run, retrying(self):
        broker.broker_check(run=run, retry_transient=not on_last_try(self))


# -- Fast API (OAuth) connections --
from accounts.services import fastapi  # noqa: E402


@shared_task(bind=True, name="accounts.fastapi_connect")
def fastapi_connect_task(self, job_id: str, connection_id: int) -> None:
    with job_run(job_id) as run, retrying(self):
        fastapi.fastapi_connect_complete(connection_id=connection_id, run=run)


@shared_task(bind=True, name="accounts.fastapi_tokens_refresh")
def fastapi_tokens_refresh_task(self, job_id: str) -> None:
    with job_run(job_id) as run, retrying(self):
        fastapi.fastapi_tokens_refresh(run=run)


@shared_task(bind=True, name="accounts.resume_stalled")
def resume_stalled_task(self, job_id: str) -> None:
    with job_run(job_id) as run:
        resume.resume_stalled(run=run)


# -- Customer funding: deposit addresses, withdrawals from the broker account, payouts --
from accounts.services import deposit_addresses, payouts, withdrawals  # noqa: E402

PAYOUT_TRANSFER_POLL_SECONDS = 5
PAYOUT_TRANSFER_POLLS = 60


@shared_task(bind=True, name="accounts.deposit_address_fetch")
def deposit_address_fetch_task(self, job_id: str, address_id: int) -> None:
    with job_run(job_id) as run, retrying(self):
        deposit_addresses.deposit_address_fetch(address_id=address_id, run=run, last_try=on_last_try(self))


@shared_task(bind=True, name="accounts.withdrawal_quota_fetch")
def withdrawal_quota_fetch_task(self, job_id: str, currency: str, chain: str) -> None:
    with job_run(job_id) as run, retrying(self):
        withdrawals.withdrawal_quota_fetch(currency=currency, chain=chain, run=run)


@shared_task(bind=True, name="accounts.broker_withdrawal_send")
def broker_withdrawal_send_task(self, job_id: str, withdrawal_id: int) -> None:
    with job_run(job_id) as run, retrying(self):
        withdrawals.withdrawal_send(withdrawal_id=withdrawal_id, run=run, last_try=on_last_try(self))


@shared_task(bind=True, name="accounts.broker_withdrawal_cancel")
def broker_withdrawal_cancel_task(self, job_id: str, withdrawal_id: int) -> None:
    with job_run(job_id) as run, retrying(self):
        withdrawals.withdrawal_cancel_send(withdrawal_id=withdrawal_id, run=run)


@shared_task(bind=True, name="accounts.broker_withdrawals_sync")
def broker_withdrawals_sync_task(self, job_id: str) -> None:
    with job_run(job_id) as run, retrying(self):
        withdrawals.broker_withdrawals_sync(run=run)


@shared_task(bind=True, name="accounts.payout_advance")
def payout_advance_task(self, job_id: str, payout_id: int, polls: int = 0) -> None:
    # Its looks at a transfer KuCoin is still processing are retries too: counted apart (`polls`), so that they
    # do not use up the tries a transient failure gets.
    tries = self.request.retries - polls
    with job_run(job_id) as run, retrying(self, tries=tries):
        try:
            payouts.payout_advance(payout_id=payout_id, run=run, last_try=on_last_try(self, tries=tries))
        except payouts.TransferStillRunning as exc:
            if polls >= PAYOUT_TRANSFER_POLLS:
                payouts.payout_left_to_schedule(payout_id=payout_id, run=run, still=exc)
                return
            # KuCoin is still processing the transfer: look again shortly.
            raise self.retry(exc=exc, countdown=PAYOUT_TRANSFER_POLL_SECONDS, kwargs={"polls": polls + 1},
                             max_retries=self.request.retries + 1)
