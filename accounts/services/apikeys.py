"""API keys of sub-accounts: create (secret encrypted at once, shown once), change, delete, sync, import."""
from __future__ import annotations

import secrets
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from accounts.clients import broker_client, make_key_client
from accounts.models import SubAccount, SubAccountApiKey
from accounts.validation import validate_label
from brokeroffice.jobs import JobRun, job_create, job_enqueue
from brokeroffice.kucoin_errors import error_code
from brokeroffice.leases import leased
from brokeroffice.models import Job
from kucoin.errors import AuthenticationError, BadRequestError, InvalidTimestampError, KuCoinError, NotFoundError
from kucoin.models import ApiKey as KuCoinApiKey

ALLOWED_PERMISSIONS = [choice for choice, _ in SubAccountApiKey.Permission.choices]


def generate_passphrase() -> str:
    """32 characters from a CSPRNG, within KuCoin's 7–32 characters without spaces."""
    return secrets.token_urlsafe(24)


def _check_permissions(permissions: list[str]) -> list[str]:
    unknown = [p for p in permissions if p not in ALLOWED_PERMISSIONS]
    if unknown:
        raise ValidationError(f"Unknown permission: {', '.join(unknown)}.")
    # General (reading) is what every key needs; KuCoin adds it anyway.
    return ["General", *[p for p in ALLOWED_PERMISSIONS if p in permissions and p != "General"]]


def _apply_kucoin_view(key: SubAccountApiKey, found: KuCoinApiKey) -> None:
    key.api_key = found.api_key
    key.label = found.label or key.label
    key.permissions = list(found.permissions)
    key.kucoin_ip_whitelist = list(found.ip_whitelist)
    key.api_version = found.api_version
    key.kucoin_created_at = found.created_at
    key.synced_at = timezone.now()


def _queue(key: SubAccountApiKey, task, label: str, requested_by) -> Job:
    job = job_create(kind=task.name.rsplit(".", 1)[-1], label=label, requested_by=requested_by)
    job_enqueue(job=job, task=task, args=(key.pk,))
    return job


def apikey_create(
    *, sub_account: SubAccount, label: str, permissions: list[str], ip_whitelist: list[str], requested_by=None
) -> tuple[SubAccountApiKey, Job]:
    from accounts.tasks import apikey_create_task

    validate_label(label)
    if sub_account.state != SubAccount.State.ACTIVE:
        raise ValidationError(f"{sub_account} is {sub_account.get_state_display().lower()}: keys are made for active sub-accounts.")
    with transaction.atomic():
        key = SubAccountApiKey.objects.create(
            sub_account=sub_account, label=label, permissions=_check_permissions(permissions), ip_whitelist=ip_whitelist,
            passphrase=generate_passphrase(), requested_by=requested_by,
        )
        job = _queue(key, apikey_create_task, f"Create API key “{label}” for {sub_account}", requested_by)
    return key, job


def _forget_orphans(client, key: SubAccountApiKey) -> int:
    """After an unknown outcome: a key KuCoin made with our label whose answer we lost has a secret nobody
    will ever see, so it is deleted at KuCoin before a new one is made."""
    known = set(SubAccountApiKey.objects.filter(sub_account=key.sub_account, api_key__isnull=False).values_list("api_key", flat=True))
    since = key.sent_at - timedelta(minutes=5)
    orphans = [
        found for found in client.broker.get_api_keys(key.sub_account.uid)
        if found.label == key.label and found.api_key not in known and (found.created_at is None or found.created_at >= since)
    ]
    for orphan in orphans:
        client.broker.delete_api_key(key.sub_account.uid, orphan.api_key)
    return len(orphans)


def apikey_create_send(*, key_id: int, run: JobRun) -> SubAccountApiKey:
    with leased(SubAccountApiKey, key_id):
        key = SubAccountApiKey.objects.select_related("sub_account").get(pk=key_id)
        if key.state != SubAccountApiKey.State.PENDING:
            run.succeed(f"The key “{key.label}” is already {key.get_state_display().lower()}.")
            return key
        client = broker_client()
        if key.sent_at:
            _forget_orphans(client, key)
        SubAccountApiKey.objects.filter(pk=key_id).update(sent_at=timezone.now())
        try:
            created = client.broker.add_api_key(
                key.sub_account.uid, key.passphrase, key.permissions, key.label, key.ip_whitelist
            )
        except BadRequestError as exc:
            SubAccountApiKey.objects.filter(pk=key_id).update(
                state=SubAccountApiKey.State.FAILED, error_code=error_code(exc), error_message=exc.msg
            )
            raise
        _apply_kucoin_view(key, created)
        key.secret = created.secret_key  # encrypted on save; shown once on the creation page
        key.state = SubAccountApiKey.State.ACTIVE
        key.error_code = key.error_message = ""
        key.save()
        run.succeed(f"Created the key {key.api_key} for {key.sub_account}.", {"api_key_id": key.pk})
        return key


def apikey_reveal_once(*, key: SubAccountApiKey, user) -> tuple[str, str] | None:
    """The secret and passphrase, to the member of staff who created the key, exactly once."""
    if key.requested_by_id != user.pk or key.state != SubAccountApiKey.State.ACTIVE or key.source != SubAccountApiKey.Source.CREATED:
        return None
    claimed = SubAccountApiKey.objects.filter(pk=key.pk, secret_shown_at__isnull=True).update(secret_shown_at=timezone.now())
    if not claimed:
        return None
    fresh = SubAccountApiKey.objects.get(pk=key.pk)
    return fresh.secret, fresh.passphrase


def apikey_update(
    *, key: SubAccountApiKey, label: str, permissions: list[str], ip_whitelist: list[str], requested_by=None
) -> Job:
    from accounts.tasks import apikey_update_task

    validate_label(label)
    with transaction.atomic():
        change = {"label": label, "permissions": _check_permissions(permissions), "ip_whitelist": ip_whitelist}
        SubAccountApiKey.objects.filter(pk=key.pk).update(
            pending_change=change, state=SubAccountApiKey.State.UPDATING, error_code="", error_message="",
            updated_at=timezone.now(),
        )
        return _queue(key, apikey_update_task, f"Change API key “{key.label}” of {key.sub_account}", requested_by)


def apikey_update_send(*, key_id: int, run: JobRun) -> SubAccountApiKey:
    """KuCoin's modify is a full replacement, so sending it twice has the same result."""
    with leased(SubAccountApiKey, key_id):
        key = SubAccountApiKey.objects.select_related("sub_account").get(pk=key_id)
        change = key.pending_change
        if key.state != SubAccountApiKey.State.UPDATING or not change:
            run.succeed("Nothing left to change.")
            return key
        try:
            updated = broker_client().broker.modify_api_key(
                key.sub_account.uid, key.api_key, change["permissions"], change["label"], change["ip_whitelist"]
            )
        except BadRequestError as exc:
            SubAccountApiKey.objects.filter(pk=key_id).update(
                state=SubAccountApiKey.State.ACTIVE, pending_change=None, error_code=error_code(exc), error_message=exc.msg
            )
            raise
        _apply_kucoin_view(key, updated)
        key.ip_whitelist = change["ip_whitelist"]
        key.pending_change = None
        key.state = SubAccountApiKey.State.ACTIVE
        key.save()
        run.succeed(f"Changed the key {key.api_key}.")
        return key


def apikey_delete(*, key: SubAccountApiKey, requested_by=None) -> Job:
    from accounts.tasks import apikey_delete_task

    with transaction.atomic():
        SubAccountApiKey.objects.filter(pk=key.pk).update(state=SubAccountApiKey.State.DELETING, updated_at=timezone.now())
        return _queue(key, apikey_delete_task, f"Delete API key “{key.label}” of {key.sub_account}", requested_by)


def _mark_deleted(key_id: int) -> None:
    # The secret goes with the key: nothing is kept that could sign again.
    key = SubAccountApiKey.objects.get(pk=key_id)
    key.state, key.secret, key.passphrase = SubAccountApiKey.State.DELETED, "", ""
    key.save(update_fields=["state", "secret", "passphrase", "updated_at"])


def delete_at_kucoin(client, key: SubAccountApiKey) -> None:
    """Deleting twice is harmless: a key KuCoin no longer has counts as deleted."""
    try:
        client.broker.delete_api_key(key.sub_account.uid, key.api_key)
    except NotFoundError:
        pass
    _mark_deleted(key.pk)


def apikey_delete_send(*, key_id: int, run: JobRun) -> None:
    with leased(SubAccountApiKey, key_id):
        key = SubAccountApiKey.objects.select_related("sub_account").get(pk=key_id)
        if key.state == SubAccountApiKey.State.DELETED:
            run.succeed("The key was already deleted.")
            return
        if key.api_key:
            delete_at_kucoin(broker_client(), key)
        else:
            _mark_deleted(key.pk)
        run.succeed(f"Deleted the key {key.api_key or key.label}.")


def _gone_at_kucoin(client, sub_account: SubAccount, api_key: str) -> bool:
    """Asked for by itself: deleting a key here drops its secret for good, so one answer that left it out (an
    empty list for a moment) is not enough."""
    return not client.broker.get_api_keys(sub_account.uid, api_key)


def apikeys_sync_one(client, sub_account: SubAccount) -> int:
    """Brings one sub-account's keys in line with KuCoin: new ones found, changes applied, gone ones deleted."""
    # Only keys known before KuCoin was asked can be missing from its answer: one created meanwhile is not gone.
    known_before = set(sub_account.api_keys.exclude(api_key__isnull=True).values_list("api_key", flat=True))
    found = {item.api_key: item for item in client.broker.get_api_keys(sub_account.uid)}
    local = {key.api_key: key for key in sub_account.api_keys.exclude(api_key__isnull=True)}
    missing = [api_key for api_key, key in local.items() if api_key not in found and api_key in known_before
               and key.state != SubAccountApiKey.State.DELETED]
    gone = [local[api_key].pk for api_key in missing if _gone_at_kucoin(client, sub_account, api_key)]
    with transaction.atomic():
        for api_key, item in found.items():
            key = local.get(api_key) or SubAccountApiKey(
                sub_account=sub_account, source=SubAccountApiKey.Source.FOUND, state=SubAccountApiKey.State.ACTIVE
            )
            _apply_kucoin_view(key, item)
            if key.state == SubAccountApiKey.State.DELETED:
                key.state = SubAccountApiKey.State.ACTIVE
            key.save()
        for key_id in gone:
            _mark_deleted(key_id)
    return len(found)


def apikeys_sync(*, run: JobRun, uid: str | None = None) -> int:
    client = broker_client()
    sub_accounts = SubAccount.objects.filter(state=SubAccount.State.ACTIVE).order_by("pk")
    if uid:
        sub_accounts = sub_accounts.filter(uid=uid)
    total = sub_accounts.count()
    keys = 0
    for done, sub_account in enumerate(sub_accounts.iterator(), start=1):
        keys += apikeys_sync_one(client, sub_account)
        run.progress(done, total, f"{done} of {total} sub-accounts, {keys} keys")
    run.succeed(f"Synced {keys} keys of {total} sub-accounts.", {"keys": keys, "sub_accounts": total})
    return keys


def apikey_import(*, sub_account: SubAccount, api_key: str, secret: str, passphrase: str, requested_by=None) -> tuple[SubAccountApiKey, Job]:
    """Stores a key made elsewhere, encrypted, as pending until one signed call proves it works."""
    from accounts.tasks import apikey_import_task

    api_key = api_key.strip()
    if SubAccountApiKey.objects.filter(api_key=api_key).exclude(state=SubAccountApiKey.State.DELETED).exists():
        raise ValidationError("This key is already known here.")
    with transaction.atomic():
        key = SubAccountApiKey.objects.filter(api_key=api_key).first() or SubAccountApiKey(api_key=api_key)
        key.sub_account, key.label = sub_account, key.label or "imported"
        key.secret, key.passphrase = secret.strip(), passphrase.strip()
        key.source, key.state, key.requested_by = SubAccountApiKey.Source.IMPORTED, SubAccountApiKey.State.PENDING, requested_by
        key.save()
        job = _queue(key, apikey_import_task, f"Import API key {api_key} for {sub_account}", requested_by)
    return key, job


def _refused_the_key(exc: KuCoinError) -> bool:
    """KuCoin refused the pasted key itself (wrong secret or passphrase, IP, permission, unknown key): trying again
    cannot help. A timestamp refusal, 429, 5xx or a lost answer says nothing about the key: the task tries again."""
    return isinstance(exc, (AuthenticationError, BadRequestError)) and not isinstance(exc, InvalidTimestampError)


def _forget_import(key: SubAccountApiKey) -> None:
    """Nothing of a refused key is kept. A row reused from a deleted key that orders still point to stays, deleted."""
    try:
        with transaction.atomic():
            key.delete()
    except ProtectedError:
        _mark_deleted(key.pk)


def apikey_import_verify(*, key_id: int, run: JobRun) -> SubAccountApiKey:
    """One signed call with the pasted key; if KuCoin refuses it, nothing of it is kept."""
    key = SubAccountApiKey.objects.select_related("sub_account").get(pk=key_id)
    try:
        make_key_client(key).spot.get_balances()
    except KuCoinError as exc:
        if _refused_the_key(exc):
            _forget_import(key)
        raise
    try:
        described = broker_client().broker.get_api_keys(key.sub_account.uid, key.api_key)
    except BadRequestError:  # about the key asked for; the broker's own key refused (AuthenticationError) is not
        _forget_import(key)
        raise
    if not described:
        _forget_import(key)
        raise ValidationError(f"KuCoin does not list {key.api_key} among the keys of {key.sub_account}.")
    _apply_kucoin_view(key, described[0])
    key.state = SubAccountApiKey.State.ACTIVE
    key.save()
    run.succeed(f"Imported the key {key.api_key}: KuCoin accepted a signed call with it.")
    return key
