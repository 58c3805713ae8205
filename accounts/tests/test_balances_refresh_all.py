"""The hourly balances refresh reads every active sub-account that has a usable key, whatever keys it had before,
and one key KuCoin refuses does not stop it. Through a real worker against the sandbox."""
from decimal import Decimal

import pytest

from accounts.models import SubAccount, SubAccountApiKey, SubAccountBalance
from accounts.tests.funding_support import import_seeded_key
from brokeroffice.jobs import job_start
from brokeroffice.models import Job

pytestmark = pytest.mark.worker


def refresh_all(finished) -> Job:
    from accounts.tasks import balances_refresh_all_task

    return finished(job_start(kind="balances_refresh_all", label="Refresh balances", task=balances_refresh_all_task))


def held_at_kucoin(dump: dict, uid: str) -> dict[tuple[str, str], Decimal]:
    """The spot accounts' balances (what the spot API lists; futures are read apart)."""
    return {(b["accountType"].lower(), b["currency"]): Decimal(b["balance"]) for b in dump["balances"]
            if str(b["uid"]) == uid and b["accountType"] in ("MAIN", "TRADE") and Decimal(b["balance"])}


def test_every_sub_account_with_a_usable_key_is_refreshed_and_a_refused_key_is_named(
        synced_sub_accounts, sandbox, finished):
    dump = sandbox.dump()
    usable = {k["uid"] for k in dump["accounts"]["keys"] if not k["ip_whitelist"]}
    renewed, refused, plain = [s for s in synced_sub_accounts.filter(state=SubAccount.State.ACTIVE).order_by("uid")
                               if s.uid in usable][:3]
    # `renewed` had a key deleted here (its secret is gone with it) before the key it uses now.
    SubAccountApiKey.objects.create(sub_account=renewed, api_key="made-up-deleted-key", label="old", api_version=3,
                                    secret="", passphrase="", state=SubAccountApiKey.State.DELETED)
    import_seeded_key(dump, renewed)
    # `refused` has a key KuCoin does not accept: its secret is not the one KuCoin holds (the signed passphrase
    # fails first: 400004).
    key = import_seeded_key(dump, refused)
    key.secret = "made-up-wrong-secret"
    key.save()
    import_seeded_key(dump, plain)

    job = refresh_all(finished)

    assert job.state == Job.State.SUCCEEDED, job.error
    assert f"{refused} (KuCoin 400004" in job.message
    for sub_account in (renewed, plain):
        stored = {(b.account_type.lower(), b.currency): b.balance
                  for b in SubAccountBalance.objects.filter(sub_account=sub_account) if b.balance}
        assert stored == held_at_kucoin(dump, sub_account.uid) != {}
        sub_account.refresh_from_db()
        assert sub_account.balances_refreshed_at is not None
    refused.refresh_from_db()
    assert refused.balances_refreshed_at is None
    assert job.result["refreshed"] == 2 and len(job.result["refused"]) == 1
