"""The operations commands, run as a runbook or cron would: output, progress and exit codes."""
import pytest

from accounts.models import SubAccount
from accounts.tests.sandbox_state import sub_accounts
from brokeroffice.testing.worker import run_manage


@pytest.fixture
def manage(transactional_db, sandbox_settings):
    return lambda *args, **env: run_manage(*args, extra_env={**sandbox_settings, **env})


def test_subaccounts_sync_prints_progress_and_stores_every_sub_account(manage, sandbox):
    result = manage("subaccounts_sync")
    assert result.returncode == 0, result.stderr
    count = len(sub_accounts(sandbox.dump()))
    assert f"{count} of {count} sub-accounts" in result.stdout
    assert f"Synced {count} sub-accounts" in result.stdout
    assert SubAccount.objects.count() == count


def test_subaccount_create_prints_the_uid(manage, sandbox):
    result = manage("subaccount_create", "carol-0003")
    assert result.returncode == 0, result.stderr
    uid = SubAccount.objects.get(account_name="carol-0003").uid
    assert f"carol-0003: UID {uid}" in result.stdout
    assert sub_accounts(sandbox.dump())[uid] == "carol-0003"


def test_a_refusal_exits_non_zero_with_kucoins_code_and_message(manage, sandbox):
    taken = next(iter(sub_accounts(sandbox.dump()).values()))
    result = manage("subaccount_create", taken)
    assert result.returncode != 0
    assert "KuCoin 400100" in result.stderr and "already exists" in result.stderr


def test_a_bad_name_is_refused_before_anything_is_sent(manage, sandbox):
    result = manage("subaccount_create", "no spaces allowed")
    assert result.returncode != 0
    assert "not a valid sub-account name" in result.stderr
    assert "no spaces allowed" not in sub_accounts(sandbox.dump()).values()


def test_broker_check_names_a_wrong_partner_signature(manage, sandbox):
    ok = manage("broker_check")
    assert ok.returncode == 0, ok.stderr
    assert "Connected as" in ok.stdout
    wrong = manage("broker_check", KUCOIN_BROKER_KEY="made-up-wrong-broker-key")
    assert wrong.returncode != 0
    assert "400201" in wrong.stderr and "partner signature is wrong" in wrong.stderr


@pytest.mark.parametrize("command", ["apikeys_sync", "transfers_sync", "deposits_sync"])
def test_the_sync_commands_finish_and_say_what_they_did(manage, sandbox, command):
    manage("subaccounts_sync")
    result = manage(command)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1].strip().startswith(("Synced", "Checked"))
