"""Sub-accounts: create (idempotent by name), sync from KuCoin, retire."""
from __future__ import annotations

from contextlib import closing
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.broker import sub_account_prefix
from accounts.bulk import upsert_sub_accounts
from accounts.clients import broker_client
from accounts.models import SubAccount
from accounts.services.paging import FETCHERS, pages_in_order
from accounts.validation import validate_sub_account_name
from brokeroffice.jobs import JobRun, job_create, job_enqueue
from brokeroffice.kucoin_errors import error_code
from brokeroffice.leases import leased
from brokeroffice.models import Job
from kucoin import KuCoinClient
from kucoin.errors import BadRequestError
from kucoin.models import Page
from kucoin.models import SubAccount as KuCoinSubAccount

SYNC_PAGE_SIZE = 100


def sub_account_full_name(name: str) -> str:
    prefix = sub_account_prefix()
    return name if prefix and name.startswith(prefix) else f"{prefix}{name}"


def subaccount_create(*, name: str, requested_by=None) -> tuple[SubAccount, Job]:
    """Records the intent (the name is the idempotency key) and queues its creation at KuCoin."""
    from accounts.tasks import subaccount_create_task

    full_name = sub_account_full_name(name.strip())
    validate_sub_account_name(full_name)
    with transaction.atomic():
        if SubAccount.objects.filter(account_name=full_name).exists():
            raise ValidationError(f"A sub-account named “{full_name}” already exists.")
        sub_account = SubAccount.objects.create(account_name=full_name, requested_by=requested_by)
        job = job_create(kind="subaccount_create", label=f"Create sub-account {full_name}", requested_by=requested_by)
        job_enqueue(job=job, task=subaccount_create_task, args=(sub_account.pk,))
    return sub_account, job


def _mark_active(sub_account: SubAccount, found: KuCoinSubAccount) -> None:
    sub_account.uid = found.uid
    sub_account.level = found.level
    sub_account.kucoin_created_at = found.created_at
    sub_account.state = SubAccount.State.ACTIVE
    sub_account.error_code = sub_account.error_message = ""
    sub_account.synced_at = timezone.now()
    sub_account.save()


def subaccount_create_send(*, sub_account_id: int, run: JobRun) -> SubAccount:
    """Creates the sub-account at KuCoin. After an unknown outcome, the name is looked up first."""
    with leased(SubAccount, sub_account_id):
        sub_account = SubAccount.objects.get(pk=sub_account_id)
        if sub_account.state != SubAccount.State.PENDING:
            run.succeed(f"{sub_account.account_name} is already {sub_account.get_state_display().lower()}.")
            return sub_account
        client = broker_client()
        if sub_account.sent_at:
            run.progress(0, 1, "Checking whether an earlier attempt created it")
            found = client.broker.find_sub_account_by_name(sub_account.account_name, page_size=SYNC_PAGE_SIZE)
            if found:
                _mark_active(sub_account, found)
                run.succeed(f"{sub_account.account_name} exists at KuCoin with UID {found.uid}.")
                return sub_account
        SubAccount.objects.filter(pk=sub_account_id).update(sent_at=timezone.now())
        try:
            created = client.broker.add_sub_account(sub_account.account_name)
        except BadRequestError as exc:
            refused = SubAccount.objects.filter(pk=sub_account_id, state=SubAccount.State.PENDING, uid__isnull=True).update(
                state=SubAccount.State.FAILED, error_code=error_code(exc), error_message=exc.msg
            )
            if refused:
                raise
            # Another execution (this one's lease ran out while it waited) created it meanwhile: its name is
            # what KuCoin refused here.
            sub_account.refresh_from_db()
            run.succeed(f"{sub_account.account_name} was created meanwhile by another attempt, with UID {sub_account.uid}.")
            return sub_account
        _mark_active(sub_account, created)
        run.succeed(f"Created {sub_account.account_name} with UID {created.uid}.")
        return sub_account


def subaccount_create_retry(*, sub_account: SubAccount, requested_by=None) -> Job:
    """Queues a failed or stuck creation again (the name is looked up before anything is resent)."""
    from accounts.tasks import subaccount_create_task

    with transaction.atomic():
        SubAccount.objects.filter(pk=sub_account.pk).update(state=SubAccount.State.PENDING, error_code="", error_message="")
        job = job_create(kind="subaccount_create", label=f"Create sub-account {sub_account.account_name} (again)",
                         requested_by=requested_by)
        job_enqueue(job=job, task=subaccount_create_task, args=(sub_account.pk,))
    return job


def _upsert_page(items: list[KuCoinSubAccount], waiting: dict[str, int], synced_at) -> int:
    """Writes one page of KuCoin's sub-accounts: rows created here whose answer was lost (matched by name)
    are completed, the rest upserted by uid in one statement."""
    lost_answers = [item for item in items if item.account_name in waiting]
    for item in lost_answers:
        SubAccount.objects.filter(pk=waiting.pop(item.account_name)).update(
            uid=item.uid, level=item.level, kucoin_created_at=item.created_at, state=SubAccount.State.ACTIVE,
            synced_at=synced_at, error_code="", error_message="",
        )
    matched = {item.account_name for item in lost_answers}
    upsert_sub_accounts([item for item in items if item.account_name not in matched], synced_at)
    return len(items)


def _sub_accounts_page(client: KuCoinClient, number: int) -> Page:
    return client.broker.get_sub_accounts(page=number, page_size=SYNC_PAGE_SIZE)


def subaccounts_sync(*, run: JobRun) -> int:
    """Reads every page of the broker's sub-accounts from KuCoin and upserts them in bulk."""
    # One client per fetching thread: a client and its HTTP session are not shared between threads.
    fetchers = [partial(_sub_accounts_page, broker_client()) for _ in range(FETCHERS)]
    synced_at = timezone.now()
    waiting = dict(SubAccount.objects.filter(uid__isnull=True).values_list("account_name", "pk"))
    done = 0
    with closing(pages_in_order(fetchers)) as pages:
        for page in pages:
            with transaction.atomic():
                done += _upsert_page(page.items, waiting, synced_at)
            run.progress(done, page.total_num, f"{done} of {page.total_num} sub-accounts")
    run.succeed(f"Synced {done} sub-accounts from KuCoin.", {"count": done})
    return done

