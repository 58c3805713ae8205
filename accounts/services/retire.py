"""Retiring a sub-account. KuCoin cannot delete one, so: read its balances, move every MAIN and TRADE
balance back to the broker account, delete all its API keys at KuCoin, and mark it retired.

Each step can run again without doing anything twice: transfers carry their clientOid and are resolved
before any new one is made, balances are read again after them, and deleting a key twice is harmless.
"""
from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.clients import broker_client
from accounts.models import SubAccount, SubAccountApiKey, SubAccountBalance, Transfer
from accounts.services.apikeys import delete_at_kucoin, generate_passphrase
from accounts.services.balances import NoUsableKey, balances_refresh, usable_key
from accounts.services.transfers import transfer_send
from brokeroffice.jobs import JobRun, job_create, job_enqueue
from brokeroffice.models import Job

MOVABLE_ACCOUNT_TYPES = {"main": Transfer.AccountType.MAIN, "trade": Transfer.AccountType.TRADE}
RETIRE_KEY_LABEL = "retire-readonly"


class RetireIncomplete(Exception):
    """A step of the retirement did not finish (the message says which); running it again continues."""


def subaccount_retire(*, sub_account: SubAccount, requested_by=None) -> Job:
    from accounts.tasks import subaccount_retire_task

    if sub_account.state not in (SubAccount.State.ACTIVE, SubAccount.State.RETIRING):
        raise ValidationError(f"{sub_account} is {sub_account.get_state_display().lower()} and cannot be retired.")
    with transaction.atomic():
        SubAccount.objects.filter(pk=sub_account.pk).update(state=SubAccount.State.RETIRING)
        job = job_create(kind="subaccount_retire", label=f"Retire sub-account {sub_account}", requested_by=requested_by)
        job_enqueue(job=job, task=subaccount_retire_task, args=(sub_account.pk,))
    return job


def _reading_key(client, sub_account: SubAccount) -> SubAccountApiKey:
    """A key to read the balances with: one already stored, or a read-only one made for the purpose."""
    try:
        return usable_key(sub_account)
    except NoUsableKey:
        created = client.broker.add_api_key(sub_account.uid, passphrase := generate_passphrase(), ["General"], RETIRE_KEY_LABEL)
        key = SubAccountApiKey(
            sub_account=sub_account, api_key=created.api_key, label=RETIRE_KEY_LABEL, permissions=list(created.permissions),
            api_version=created.api_version, secret=created.secret_key, passphrase=passphrase,
            state=SubAccountApiKey.State.ACTIVE, kucoin_created_at=created.created_at,
        )
        key.save()
        return key


def _finish_open_transfers(sub_account: SubAccount) -> None:
    for transfer in sub_account.transfers.filter(purpose="retire").exclude(state__in=Transfer.FINAL_STATES):
        transfer = transfer_send(transfer_id=transfer.pk)
        if transfer.state not in Transfer.FINAL_STATES:
            raise RetireIncomplete(f"The transfer of {transfer.amount} {transfer.currency} is still {transfer.get_state_display().lower()}.")


def _sweep_balances(sub_account: SubAccount, run: JobRun) -> list[str]:
    """Moves every MAIN and TRADE balance back to the broker; returns what could not be moved."""
    left_behind = []
    for balance in SubAccountBalance.objects.filter(sub_account=sub_account, available__gt=0):
        account_type = MOVABLE_ACCOUNT_TYPES.get(balance.account_type.lower())
        if account_type is None:
            left_behind.append(f"{balance.available} {balance.currency} in {balance.account_type}")
            continue
        run.progress(1, 4, f"Moving {balance.available} {balance.currency} from {balance.account_type} to the broker")
        transfer = Transfer.objects.create(
            sub_account=sub_account, direction=Transfer.Direction.IN, currency=balance.currency, amount=balance.available,
            broker_account_type=Transfer.AccountType.MAIN, sub_account_type=account_type, purpose="retire",
        )
        transfer = transfer_send(transfer_id=transfer.pk)
        if transfer.state != Transfer.State.SUCCEEDED:
            raise RetireIncomplete(f"Moving {transfer.amount} {transfer.currency} ended {transfer.get_state_display().lower()}: {transfer.failure_reason or transfer.error_in_words}")
    return left_behind


def subaccount_retire_execute(*, sub_account_id: int, run: JobRun) -> SubAccount:
    sub_account = SubAccount.objects.get(pk=sub_account_id)
    if sub_account.state == SubAccount.State.RETIRED:
        run.succeed(f"{sub_account} is already retired.")
        return sub_account
    client = broker_client()

    run.progress(0, 4, "Finishing earlier transfers")
    _finish_open_transfers(sub_account)
    run.progress(1, 4, "Reading balances")
    _reading_key(client, sub_account)
    balances_refresh(sub_account=sub_account)
    left_behind = _sweep_balances(sub_account, run)

    run.progress(2, 4, "Deleting API keys at KuCoin")
    known = {key.api_key: key for key in sub_account.api_keys.exclude(api_key=None)}
    for found in client.broker.get_api_keys(sub_account.uid):
        key = known.get(found.api_key) or SubAccountApiKey.objects.create(
            sub_account=sub_account, api_key=found.api_key, label=found.label, source=SubAccountApiKey.Source.FOUND,
            state=SubAccountApiKey.State.ACTIVE,
        )
        delete_at_kucoin(client, key)
    sub_account.api_keys.exclude(state=SubAccountApiKey.State.DELETED).update(
        state=SubAccountApiKey.State.DELETED, secret="", passphrase=""
    )

    run.progress(3, 4, "Marking retired")
    SubAccount.objects.filter(pk=sub_account_id).update(state=SubAccount.State.RETIRED, retired_at=timezone.now())
    message = f"Retired {sub_account}: balances moved to the broker account and every API key deleted."
    if left_behind:
        message += f" Not movable by a broker transfer (move them to MAIN or TRADE first): {', '.join(left_behind)}."
    run.succeed(message, {"left_behind": left_behind})
    return sub_account
