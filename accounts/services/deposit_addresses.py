"""Deposit addresses of sub-accounts: created or read at KuCoin with the sub-account's OWN key (deposit
addresses belong to the key's account), signed with the broker headers like every spot-host call.

Safe to repeat: KuCoin keeps one address per (account, currency, chain), so the task reads it first and
creates it only when there is none; a lost answer to the creation ends in 260000 ("already exists") on
the next try, which reads it.
"""
from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.clients import make_key_client
from accounts.models import DepositAddress, SubAccount, SubAccountApiKey
from brokeroffice.jobs import JobRun, job_create, job_enqueue
from brokeroffice.kucoin_errors import failure_fields
from brokeroffice.leases import leased
from brokeroffice.models import Job
from brokeroffice.tasking import gives_up
from kucoin.models import DepositAddress as KuCoinDepositAddress

CURRENCY = re.compile(r"^[A-Z0-9]{1,20}$")
CHAIN = re.compile(r"^[a-z0-9_-]{1,50}$")


def signing_key_of(sub_account: SubAccount) -> SubAccountApiKey | None:
    """An active key of the sub-account whose secret is stored here (only such a key can sign)."""
    keys = sub_account.api_keys.filter(state=SubAccountApiKey.State.ACTIVE).order_by("pk")
    return next((key for key in keys if key.has_secret), None)


def _clean(currency: str, chain: str) -> tuple[str, str]:
    currency, chain = currency.strip().upper(), chain.strip().lower()
    if not CURRENCY.match(currency):
        raise ValidationError(f"“{currency}” is not a currency code (letters and digits, e.g. USDT).")
    if not CHAIN.match(chain):
        raise ValidationError(f"“{chain}” is not a chain id (KuCoin's chainId, e.g. trx, eth, ton).")
    return currency, chain


def deposit_address_record(*, sub_account: SubAccount, currency: str, chain: str, credited_account: str = "MAIN",
                           requested_by=None) -> DepositAddress:
    """The row of the address wanted (found or written, pending again after a failure); nothing is sent."""
    currency, chain = _clean(currency, chain)
    if sub_account.state != SubAccount.State.ACTIVE or not sub_account.uid:
        raise ValidationError(f"{sub_account} is {sub_account.get_state_display().lower()}: "
                              "deposit addresses are for active sub-accounts.")
    if signing_key_of(sub_account) is None:
        raise ValidationError(f"{sub_account} has no API key whose secret is stored here: a deposit address is made "
                              "with the sub-account's own key. Create or import one first.")
    address, created = DepositAddress.objects.get_or_create(
        sub_account=sub_account, currency=currency, chain=chain,
        defaults={"credited_account": credited_account, "requested_by": requested_by},
    )
    if not created and address.state == DepositAddress.State.FAILED:
        DepositAddress.objects.filter(pk=address.pk).update(state=DepositAddress.State.PENDING, error_code="", error_message="")
    return address


def deposit_address_request(*, sub_account: SubAccount, currency: str, chain: str, credited_account: str = "MAIN",
                            requested_by=None) -> tuple[DepositAddress, Job]:
    """Records the address wanted (or finds it) and queues the task that gets it from KuCoin."""
    from accounts.tasks import deposit_address_fetch_task

    with transaction.atomic():
        address = deposit_address_record(sub_account=sub_account, currency=currency, chain=chain,
                                         credited_account=credited_account, requested_by=requested_by)
        job = job_create(kind="deposit_address_fetch", label=f"Deposit address for {address}", requested_by=requested_by)
        job_enqueue(job=job, task=deposit_address_fetch_task, args=(address.pk,))
    return address, job


def _fetch(row: DepositAddress) -> KuCoinDepositAddress:
    key = signing_key_of(row.sub_account)
    if key is None:
        raise ValidationError(f"{row.sub_account} has no API key whose secret is stored here.")
    DepositAddress.objects.filter(pk=row.pk).update(sent_at=timezone.now())
    return make_key_client(key).account.ensure_deposit_address(row.currency, row.chain, to=row.credited_account.lower())


def _store(address_id: int, found: KuCoinDepositAddress) -> None:
    DepositAddress.objects.filter(pk=address_id).update(
        address=found.address, memo=found.memo, chain_name=found.chain_name, contract_address=found.contract_address or "",
        credited_account=found.to or DepositAddress.CreditedAccount.MAIN, state=DepositAddress.State.READY,
        fetched_at=timezone.now(), error_code="", error_message="",
    )


def deposit_address_fetch(*, address_id: int, run: JobRun | None = None, last_try: bool = False) -> DepositAddress:
    """In the worker: the address of (currency, chain), created at KuCoin when there is none. A failure not
    worth another try (a refusal, no key to ask with), or any on the job's last try, is shown on the address in
    words: nothing else would move it on from "being fetched"."""
    with leased(DepositAddress, address_id):
        row = DepositAddress.objects.select_related("sub_account").get(pk=address_id)
        try:
            found = _fetch(row)
        except Exception as exc:
            if gives_up(exc, last_try=last_try):
                DepositAddress.objects.filter(pk=address_id).update(state=DepositAddress.State.FAILED,
                                                                    **failure_fields(exc))
            raise
        _store(address_id, found)
        row.refresh_from_db()
        if run:
            memo = f" memo {row.memo}" if row.memo else ""
            run.succeed(f"{row.currency} on {row.chain} of {row.sub_account}: {row.address}{memo}",
                        {"deposit_address_id": row.pk})
        return row


def deposit_addresses_read(*, sub_account: SubAccount, currency: str, run: JobRun | None = None) -> list[DepositAddress]:
    """Every address KuCoin holds for the sub-account in `currency` (any chain), stored here; the CLI's
    answer when no chain was given (nothing is created)."""
    currency, _ = _clean(currency, "any")
    key = signing_key_of(sub_account)
    if key is None:
        raise ValidationError(f"{sub_account} has no API key whose secret is stored here.")
    rows = []
    for found in make_key_client(key).account.get_deposit_addresses(currency):
        row, _ = DepositAddress.objects.get_or_create(sub_account=sub_account, currency=currency,
                                                      chain=found.chain_id.lower())
        _store(row.pk, found)
        rows.append(DepositAddress.objects.get(pk=row.pk))
    if run:
        run.succeed(f"{len(rows)} {currency} deposit address(es) of {sub_account}.", {"count": len(rows)})
    return rows
