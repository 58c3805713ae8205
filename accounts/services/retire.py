"""Retiring a sub-account. KuCoin cannot delete one, so: read its balances, move every MAIN and TRADE
balance back to the broker account, delete all its API keys at KuCoin, and mark it retired.

Money a broker transfer cannot move (held by open orders, in other account types, in the futures account)
would be stranded in a keyless sub-account, so retiring is refused before anything is moved or deleted
while any is there: the job lists it and the sub-account stays active, so staff can cancel the orders or
have the funds moved to MAIN/TRADE and retire again. After the sweep the balances are read once more and
the keys are only deleted when nothing at all is left.

Each step can run again without doing anything twice: transfers carry their clientOid and are resolved
before any new one is made, balances are read again after them, and deleting a key twice is harmless.
"""
from __future__ import annotations

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.clients import broker_client, make_key_client
from accounts.models import SubAccount, SubAccountApiKey, SubAccountBalance, Transfer
from accounts.services.apikeys import delete_at_kucoin, generate_passphrase
from accounts.services.balances import balances_refresh
from accounts.services.transfers import transfer_send
from brokeroffice.jobs import JobRun, job_create, job_enqueue
from brokeroffice.leases import leased
from brokeroffice.models import Job

MOVABLE_ACCOUNT_TYPES = {"main": Transfer.AccountType.MAIN, "trade": Transfer.AccountType.TRADE}
RETIRE_KEY_LABEL = "retire-reader"
# The futures account is read per settlement currency (KuCoin has no "all currencies" read for a key).
FUTURES_CURRENCIES = ("USDT", "USDC", "XBT", "ETH")


class RetireIncomplete(Exception):
    """A step of the retirement did not finish (the message says which); running it again continues."""


class RetireRefused(Exception):
    """Money that a broker transfer cannot move is still in the sub-account; nothing was moved or deleted by this run."""


def subaccount_retire(*, sub_account: SubAccount, requested_by=None) -> Job:
    from accounts.tasks import subaccount_retire_task

    if sub_account.state not in (SubAccount.State.ACTIVE, SubAccount.State.RETIRING):
        raise ValidationError(f"{sub_account} is {sub_account.get_state_display().lower()} and cannot be retired.")
    with transaction.atomic():
        SubAccount.objects.filter(pk=sub_account.pk).update(state=SubAccount.State.RETIRING, updated_at=timezone.now())
        job = job_create(kind="subaccount_retire", label=f"Retire sub-account {sub_account}", requested_by=requested_by)
        job_enqueue(job=job, task=subaccount_retire_task, args=(sub_account.pk,))
    return job


def _reading_key(client, sub_account: SubAccount) -> SubAccountApiKey:
    """A key that reads both the spot and the futures balances (KuCoin asks the Futures permission for the
    latter): one already stored, or one made for the purpose (deleted with the others at the end)."""
    for key in sub_account.api_keys.filter(state=SubAccountApiKey.State.ACTIVE).order_by("-pk"):
        if key.has_secret and "Futures" in (key.permissions or []):
            return key
    passphrase = generate_passphrase()
    created = client.broker.add_api_key(sub_account.uid, passphrase, ["General", "Futures"], RETIRE_KEY_LABEL)
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


def _futures_money(key: SubAccountApiKey) -> list[str]:
    """The futures account, which /api/v1/accounts does not show and a broker transfer cannot empty."""
    found = []
    futures = make_key_client(key).futures
    for currency in FUTURES_CURRENCIES:
        account = futures.get_account_overview(currency)
        if not account.is_empty:
            found.append(
                f"{account.account_equity} {currency} in the futures account (order margin {account.order_margin}, "
                f"position margin {account.position_margin}, available {account.available_balance})"
            )
    return found


def _unmovable_money(sub_account: SubAccount, key: SubAccountApiKey) -> list[str]:
    """Money the sweep cannot move: held by open orders, in other account types, or in the futures account."""
    found = []
    for balance in SubAccountBalance.objects.filter(sub_account=sub_account).order_by("account_type", "currency"):
        if balance.account_type.lower() not in MOVABLE_ACCOUNT_TYPES:
            if balance.balance > 0:
                found.append(f"{balance.balance} {balance.currency} in {balance.account_type}")
        elif balance.holds > 0:
            found.append(f"{balance.holds} {balance.currency} held by open orders in {balance.account_type}")
    return found + _futures_money(key)


def _money_left(sub_account: SubAccount, key: SubAccountApiKey) -> list[str]:
    """Everything still there after the sweep, read again from KuCoin."""
    balances_refresh(sub_account=sub_account)
    left = [f"{b.balance} {b.currency} in {b.account_type}"
            for b in SubAccountBalance.objects.filter(sub_account=sub_account, balance__gt=0).order_by("account_type", "currency")]
    return left + _futures_money(key)


def _refuse(client, sub_account: SubAccount, unmovable: list[str]) -> None:
    """Back to active, as it was: the only key retiring made is deleted again, the customer's keys stay."""
    made_by_retiring = sub_account.api_keys.filter(
        label=RETIRE_KEY_LABEL, source=SubAccountApiKey.Source.CREATED, requested_by=None, state=SubAccountApiKey.State.ACTIVE
    )
    for key in made_by_retiring:
        delete_at_kucoin(client, key)
    SubAccount.objects.filter(pk=sub_account.pk, state=SubAccount.State.RETIRING).update(state=SubAccount.State.ACTIVE)
    raise RetireRefused(
        f"Not retired: {sub_account} still holds money that a transfer to the broker cannot move: {'; '.join(unmovable)}. "
        "No money was moved by this run and no key was deleted; it is active again. Cancel its open orders and have its futures "
        "(or other) funds moved to its Funding or Spot account, then retire it again."
    )


def _sweep_balances(sub_account: SubAccount, run: JobRun) -> list[str]:
    """Moves every available MAIN and TRADE balance back to the broker; returns what was moved."""
    moved = []
    for balance in SubAccountBalance.objects.filter(sub_account=sub_account, available__gt=0):
        account_type = MOVABLE_ACCOUNT_TYPES.get(balance.account_type.lower())
        if account_type is None:
            continue  # checked before the sweep: there is none unless it arrived since, and the final read catches it
        run.progress(1, 4, f"Moving {balance.available} {balance.currency} from {balance.account_type} to the broker")
        transfer = Transfer.objects.create(
            sub_account=sub_account, direction=Transfer.Direction.IN, currency=balance.currency, amount=balance.available,
            broker_account_type=Transfer.AccountType.MAIN, sub_account_type=account_type, purpose="retire",
        )
        transfer = transfer_send(transfer_id=transfer.pk)
        if transfer.state != Transfer.State.SUCCEEDED:
            raise RetireIncomplete(f"Moving {transfer.amount} {transfer.currency} ended {transfer.get_state_display().lower()}: {transfer.failure_reason or transfer.error_in_words}")
        moved.append(f"{transfer.amount} {transfer.currency} from {balance.account_type}")
    return moved


def subaccount_retire_execute(*, sub_account_id: int, run: JobRun) -> SubAccount:
    """One retirement at a time per sub-account (a second, from the resume schedule or a second click, waits
    for the row): two would each make a reading key and sweep the same balances. The lease lasts as long as
    a task may run."""
    with leased(SubAccount, sub_account_id, seconds=settings.CELERY_TASK_TIME_LIMIT):
        return _retire(sub_account_id, run)


def _retire(sub_account_id: int, run: JobRun) -> SubAccount:
    sub_account = SubAccount.objects.get(pk=sub_account_id)
    if sub_account.state == SubAccount.State.RETIRED:
        run.succeed(f"{sub_account} is already retired.")
        return sub_account
    client = broker_client()

    run.progress(0, 4, "Finishing earlier transfers")
    _finish_open_transfers(sub_account)
    run.progress(1, 4, "Reading the spot and futures balances")
    key = _reading_key(client, sub_account)
    balances_refresh(sub_account=sub_account)
    unmovable = _unmovable_money(sub_account, key)
    if unmovable:
        _refuse(client, sub_account, unmovable)
    moved = _sweep_balances(sub_account, run)
    left = _money_left(sub_account, key)
    if left:
        # e.g. a deposit or a fill since the first read: no key is deleted while money is there; run it again.
        raise RetireIncomplete(f"{sub_account} still holds {'; '.join(left)}; no key was deleted. Retire it again to move it.")

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
    what = f"moved {', '.join(moved)} to the broker account" if moved else "it held no money"
    message = f"Retired {sub_account}: {what}, nothing is left in it, and every API key was deleted."
    run.succeed(message, {"moved": moved})
    return sub_account
