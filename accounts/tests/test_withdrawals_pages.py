"""Withdrawal pages: bad input refused in words before anything is sent, the quota fetched by a task,
two-person approval, the allow-list confirmation, and the audit record that cannot be changed."""
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from accounts.models import AllowedWithdrawalAddress, BrokerWithdrawal, WithdrawalAuditRecord
from accounts.services.withdrawals import (
    withdrawal_approve,
    withdrawal_cancel,
    withdrawal_cancel_send,
    withdrawal_request,
    withdrawal_send,
)
from accounts.tests.funding_support import (
    EVM_ADDRESS,
    TON_ADDRESS,
    TRX_ADDRESS,
    XRP_ADDRESS,
    quota_snapshot,
    wallet_withdrawals,
)
from accounts.tests.test_pages_support import html, login
from brokeroffice.models import Job

pytestmark = pytest.mark.django_db

GOOD = {"currency": "usdt", "chain": "TRX", "address": TRX_ADDRESS, "memo": "", "amount": "25.5",
        "fee_deduct_type": "EXTERNAL", "note": "Treasury"}


def post_request(client, **changes):
    return client.post("/broker-withdrawals/new/", {**GOOD, **changes})


def test_a_request_with_a_fresh_quota_is_recorded_and_waits_for_approval(client, make_staff):
    quota_snapshot()
    user = login(client, make_staff, "operator")
    assert "KuCoin's figures for USDT on TRC20" in html(client.get("/broker-withdrawals/new/?currency=USDT&chain=trx"))
    response = post_request(client, amount="1234.567891")
    made = BrokerWithdrawal.objects.get()
    assert response["Location"] == f"/broker-withdrawals/{made.pk}/"
    assert (made.amount, made.currency, made.chain, made.state) == (Decimal("1234.567891"), "USDT", "trx", "requested")
    assert made.requested_by == user and made.remark.startswith("bo-") and made.expected_fee == Decimal("1")
    assert not Job.objects.exists()  # nothing is sent before approval
    record = made.audit_records.get()
    assert (record.action, record.actor, record.data["amount"]) == ("requested", user, "1234.567891")


def test_without_a_fresh_quota_a_task_fetches_it_and_the_form_comes_back_filled_in(client, make_staff):
    login(client, make_staff, "operator")
    response = post_request(client, memo="", amount="77.25")
    job = Job.objects.get(kind="withdrawal_quota_fetch")
    location = response["Location"]
    assert location.startswith("/broker-withdrawals/new/?") and f"job={job.pk}" in location
    assert "amount=77.25" in location and f"address={TRX_ADDRESS}" in location
    page = html(client.get(location))
    assert 'value="77.25"' in page and f'value="{TRX_ADDRESS}"' in page and "Withdrawal quota of USDT on trx" in page
    assert not BrokerWithdrawal.objects.exists()


@pytest.mark.parametrize("changes,quota,words", [
    ({"amount": "5"}, {}, "The minimum withdrawal is 10 USDT."),
    ({"amount": "600"}, {"remain": "500"}, "Only 500 USDT of today&#x27;s withdrawal quota is left."),
    ({"amount": "4000"}, {"available": "3000"}, "Only 3000 USDT is available to withdraw."),
    ({"amount": "2999.5"}, {"available": "3000"}, "with the fee of 1 on top, at most 2999 can be withdrawn"),
    ({"amount": "1", "fee_deduct_type": "INTERNAL"}, {"min_size": "0.5"}, "must be more than the fee of 1 USDT"),
    ({"amount": "10.1234567"}, {}, "USDT amounts have at most 6 decimal places"),
    ({"address": "TNotAnAddress"}, {}, "is not a TRC20 address (trx): it should be T followed by 33 base58 characters"),
    ({"address": EVM_ADDRESS[:-1]}, {}, "is not a TRC20 address"),
    ({}, {"enabled": False, "reason": "Wallet maintenance"}, "KuCoin has withdrawals of USDT on trx disabled: Wallet maintenance."),
])
def test_bad_input_is_refused_in_words_and_kept(client, make_staff, changes, quota, words):
    quota_snapshot(**quota)
    login(client, make_staff, "operator")
    response = post_request(client, **changes)
    assert response.status_code == 400
    page = html(response)
    assert words in page
    assert f'value="{changes.get("amount", GOOD["amount"])}"' in page  # what was typed stays
    assert not BrokerWithdrawal.objects.exists() and not Job.objects.exists()


@pytest.mark.parametrize("chain,address,memo,words", [
    ("xrp", XRP_ADDRESS, "", "XRP withdrawals need a memo (tag)"),
    ("xrp", XRP_ADDRESS, "not-a-number", "is not a valid XRP memo: it should be a destination tag"),
    ("ton", TON_ADDRESS, "", "TON withdrawals need a memo (tag)"),
    ("ton", "EQshort", "12345", "is not a TON address"),
])
def test_memo_chains_need_a_memo_and_their_address_format(client, make_staff, chain, address, memo, words):
    currency = "XRP" if chain == "xrp" else "TON"
    quota_snapshot(currency, chain, min_size="1", fee="0.1", precision=6)
    login(client, make_staff, "operator")
    response = post_request(client, currency=currency, chain=chain, address=address, memo=memo, amount="30")
    assert response.status_code == 400 and words in html(response)
    assert not BrokerWithdrawal.objects.exists()


def test_a_viewer_can_read_but_not_request_approve_or_cancel(client, make_staff):
    quota_snapshot()
    withdrawal = withdrawal_request(currency="USDT", chain="trx", address=TRX_ADDRESS, amount=Decimal("20"),
                                    requested_by=make_staff("operator", "olga"))
    login(client, make_staff, "viewer")
    assert "Waiting for approval" in html(client.get("/broker-withdrawals/"))
    page = html(client.get(f"/broker-withdrawals/{withdrawal.pk}/"))
    assert withdrawal.remark in page and "Approve and send" not in page and "Cancel withdrawal" not in page
    for url in ("/broker-withdrawals/new/", f"/broker-withdrawals/{withdrawal.pk}/approve/",
                f"/broker-withdrawals/{withdrawal.pk}/refuse/", f"/broker-withdrawals/{withdrawal.pk}/cancel/",
                "/broker-withdrawals/follow/"):
        assert client.post(url, GOOD).status_code == 403


@pytest.fixture
def requested(make_staff):
    quota_snapshot()
    requester = make_staff("broker-admin", "ada-admin")
    return withdrawal_request(currency="USDT", chain="trx", address=TRX_ADDRESS, amount=Decimal("20"), requested_by=requester)


def test_other_admins_see_what_waits_for_their_approval(client, requested, make_staff):
    client.force_login(requested.requested_by)
    assert "for your approval" not in html(client.get("/broker-withdrawals/"))
    client.force_login(make_staff("broker-admin", "bob-admin"))
    assert "1 withdrawal requested by others waits for your approval" in html(client.get("/broker-withdrawals/"))


def test_the_requester_cannot_approve_and_the_attempt_is_recorded(client, requested, make_staff):
    client.force_login(requested.requested_by)
    assert "You requested this withdrawal" in html(client.get(f"/broker-withdrawals/{requested.pk}/"))
    response = client.post(f"/broker-withdrawals/{requested.pk}/approve/", {"confirm_unlisted": "on"})
    assert response.status_code == 400 and "a different broker-admin must approve it" in html(response)
    requested.refresh_from_db()
    assert requested.state == BrokerWithdrawal.State.REQUESTED and not Job.objects.exists()
    attempt = requested.audit_records.get(action="approval_refused")
    assert attempt.actor == requested.requested_by


def test_an_operator_cannot_approve(client, requested, make_staff):
    login(client, make_staff, "operator")
    assert client.post(f"/broker-withdrawals/{requested.pk}/approve/", {"confirm_unlisted": "on"}).status_code == 403


def test_an_address_not_on_the_allow_list_needs_the_explicit_confirmation(client, requested, make_staff):
    approver = make_staff("broker-admin", "bob-admin")
    client.force_login(approver)
    page = html(client.get(f"/broker-withdrawals/{requested.pk}/"))
    assert "Not on the USDT allow-list" in page and "I confirm this address is intended" in page
    response = client.post(f"/broker-withdrawals/{requested.pk}/approve/", {})
    assert response.status_code == 400 and "is not on the USDT allow-list: tick the box" in html(response)
    assert not Job.objects.exists()

    response = client.post(f"/broker-withdrawals/{requested.pk}/approve/", {"confirm_unlisted": "on"})
    job = Job.objects.get(kind="broker_withdrawal_send")
    assert response["Location"] == f"/broker-withdrawals/{requested.pk}/?job={job.pk}"
    requested.refresh_from_db()
    assert requested.state == BrokerWithdrawal.State.APPROVED and requested.unlisted_address_confirmed
    assert "NOT on the allow-list" in requested.audit_records.get(action="approved").detail


def test_an_address_on_the_allow_list_needs_no_confirmation(client, requested, make_staff):
    AllowedWithdrawalAddress.objects.create(currency="USDT", chain="trx", address=TRX_ADDRESS, label="Treasury")
    client.force_login(make_staff("broker-admin", "bob-admin"))
    assert "On the USDT allow-list" in html(client.get(f"/broker-withdrawals/{requested.pk}/"))
    client.post(f"/broker-withdrawals/{requested.pk}/approve/", {})
    requested.refresh_from_db()
    assert requested.state == BrokerWithdrawal.State.APPROVED and not requested.unlisted_address_confirmed


def test_a_refusal_needs_a_reason_and_is_recorded(client, requested, make_staff):
    refuser = make_staff("broker-admin", "bob-admin")
    client.force_login(refuser)
    blank = client.post(f"/broker-withdrawals/{requested.pk}/refuse/", {"reason": "  "})
    assert blank.status_code == 400 and "This field is required" in html(blank)
    assert not requested.audit_records.filter(action="refused").exists()
    client.post(f"/broker-withdrawals/{requested.pk}/refuse/", {"reason": "Not a known customer address"})
    requested.refresh_from_db()
    assert requested.state == BrokerWithdrawal.State.REFUSED and requested.decided_by == refuser
    record = requested.audit_records.get(action="refused")
    assert (record.actor, record.detail) == (refuser, "Not a known customer address")
    page = html(client.get(f"/broker-withdrawals/{requested.pk}/"))
    assert "Refused by" in page and "Not a known customer address" in page and "Approve and send" not in page


def test_the_requester_may_cancel_before_it_is_sent(client, requested):
    client.force_login(requested.requested_by)
    client.post(f"/broker-withdrawals/{requested.pk}/cancel/")
    requested.refresh_from_db()
    assert requested.state == BrokerWithdrawal.State.CANCELLED and not Job.objects.exists()
    assert requested.audit_records.last().action == "cancelled"


def test_the_audit_record_cannot_be_changed_or_deleted(requested):
    record = requested.audit_records.get()
    record.detail = "rewritten"
    with pytest.raises(PermissionError):
        record.save()
    with pytest.raises(PermissionError):
        WithdrawalAuditRecord.objects.filter(pk=record.pk).update(detail="rewritten")
    with pytest.raises(PermissionError):
        record.delete()
    with pytest.raises(PermissionError):
        WithdrawalAuditRecord.objects.all().delete()
    assert WithdrawalAuditRecord.objects.get(pk=record.pk).detail != "rewritten"


def test_the_admin_shows_the_record_read_only_and_broker_admins_keep_the_allow_list(client, requested, make_staff):
    admin_user = make_staff("broker-admin", "bob-admin")
    client.force_login(admin_user)
    record = requested.audit_records.get()
    change = client.get(f"/admin/accounts/withdrawalauditrecord/{record.pk}/change/")
    assert change.status_code == 200 and 'name="detail"' not in html(change)
    assert client.post(f"/admin/accounts/withdrawalauditrecord/{record.pk}/change/", {"detail": "x"}).status_code == 403
    assert client.get("/admin/accounts/withdrawalauditrecord/add/").status_code == 403
    assert client.get(f"/admin/accounts/withdrawalauditrecord/{record.pk}/delete/").status_code == 403
    assert client.get(f"/admin/accounts/brokerwithdrawal/{requested.pk}/change/").status_code == 200
    assert client.post(f"/admin/accounts/brokerwithdrawal/{requested.pk}/delete/", {"post": "yes"}).status_code == 403

    response = client.post("/admin/accounts/allowedwithdrawaladdress/add/",
                           {"currency": "usdt", "chain": "TRX", "address": TRX_ADDRESS, "memo": "", "label": "Treasury"})
    assert response.status_code == 302
    listed = AllowedWithdrawalAddress.objects.get()
    assert (listed.currency, listed.chain, listed.added_by) == ("USDT", "trx", admin_user)


def test_an_operator_cannot_edit_the_allow_list(client, make_staff):
    user = make_staff("operator")
    assert Group.objects.get(name="operator") in user.groups.all()
    client.force_login(user)
    assert client.get("/admin/accounts/allowedwithdrawaladdress/add/").status_code == 403


def test_the_list_reads_few_queries_and_pages_by_id(client, make_staff, django_assert_max_num_queries):
    requester = make_staff("operator", "olga")
    BrokerWithdrawal.objects.bulk_create(
        BrokerWithdrawal(remark=f"bo-made-up-{n}", currency="USDT", chain="trx", address=TRX_ADDRESS,
                         amount=Decimal(n + 1), requested_by=requester) for n in range(120))
    client.force_login(make_staff("broker-admin", "bob-admin"))
    with django_assert_max_num_queries(10):
        first = client.get("/broker-withdrawals/")
    newest = BrokerWithdrawal.objects.order_by("-pk").first()
    assert f"/broker-withdrawals/{newest.pk}/" in html(first)
    with django_assert_max_num_queries(10):
        older = client.get("/broker-withdrawals/", {"before": first.context["page"].older_cursor})
    assert older.status_code == 200 and f"/broker-withdrawals/{newest.pk}/" not in html(older)


def test_every_funding_admin_list_renders(client, requested, make_staff):
    client.force_login(make_staff("broker-admin", "bob-admin"))
    for model in ("brokerwithdrawal", "withdrawalauditrecord", "withdrawalquotasnapshot", "allowedwithdrawaladdress",
                  "depositaddress", "payout"):
        assert client.get(f"/admin/accounts/{model}/").status_code == 200, model
    client.force_login(make_staff("viewer"))
    assert client.get("/admin/accounts/brokerwithdrawal/").status_code == 200


@pytest.fixture
def at_kucoin(sandbox_settings, sandbox, requested, make_staff):
    """Approved and sent (in this process, against the sandbox): KuCoin is processing it."""
    withdrawal_approve(withdrawal=requested, approver=make_staff("broker-admin", "bob-admin"), confirm_unlisted=True)
    withdrawal = withdrawal_send(withdrawal_id=requested.pk)
    assert withdrawal.state == BrokerWithdrawal.State.PROCESSING and withdrawal.kucoin_status == "PROCESSING"
    return withdrawal


def test_a_failure_at_kucoin_while_a_cancel_is_asked_shows_as_kucoins_failure_not_as_cancelled(
        client, at_kucoin, sandbox):
    canceller = at_kucoin.requested_by
    withdrawal_cancel(withdrawal=at_kucoin, by=canceller)  # its task has not run yet
    client.force_login(canceller)
    page = html(client.get(f"/broker-withdrawals/{at_kucoin.pk}/"))
    assert "Cancelled by" not in page and "Cancel asked" in page

    # KuCoin rejects it for its own reason before it handles the cancel; then the cancel task runs.
    sandbox.set_withdrawal_status(at_kucoin.kucoin_withdrawal_id, "FAILURE")
    withdrawal_send(withdrawal_id=at_kucoin.pk)  # what the follow schedule does with it
    withdrawal_cancel_send(withdrawal_id=at_kucoin.pk)

    at_kucoin.refresh_from_db()
    assert at_kucoin.state == BrokerWithdrawal.State.FAILED and at_kucoin.failure_reason == "WALLET_REJECTED"
    page = html(client.get(f"/broker-withdrawals/{at_kucoin.pk}/"))
    assert ">Failed<" in page and "FAILURE (WALLET_REJECTED)" in page and "Cancelled by" not in page


def test_a_cancel_kucoin_accepted_shows_who_cancelled_it(client, at_kucoin, sandbox):
    canceller = at_kucoin.requested_by
    withdrawal_cancel(withdrawal=at_kucoin, by=canceller)
    withdrawal_cancel_send(withdrawal_id=at_kucoin.pk)  # its task

    at_kucoin.refresh_from_db()
    assert at_kucoin.state == BrokerWithdrawal.State.CANCELLED and at_kucoin.decided_by == canceller
    assert wallet_withdrawals(sandbox.dump(), at_kucoin.remark)[0]["status"] == "FAILURE"
    client.force_login(canceller)
    page = html(client.get(f"/broker-withdrawals/{at_kucoin.pk}/"))
    assert ">Cancelled<" in page and f"Cancelled by</dt><dd>{canceller.get_username()}" in page
    assert list(at_kucoin.audit_records.values_list("action", flat=True))[-3:] == [
        "cancel_requested", "cancel_accepted", "status"]
