from django.urls import path

from accounts.views import apikeys, broker, calllog, funding, kyc, subaccounts, transfers

app_name = "accounts"

urlpatterns = [
    path("subaccounts/", subaccounts.subaccount_list, name="subaccount-list"),
    path("subaccounts/new/", subaccounts.subaccount_create_view, name="subaccount-create"),
    path("subaccounts/sync/", subaccounts.subaccounts_sync_view, name="subaccount-sync"),
    path("subaccounts/<int:pk>/", subaccounts.subaccount_detail, name="subaccount-detail"),
    path("subaccounts/<int:pk>/retry/", subaccounts.subaccount_retry_view, name="subaccount-retry"),
    path("subaccounts/<int:pk>/retire/", subaccounts.subaccount_retire_view, name="subaccount-retire"),
    path("subaccounts/<int:pk>/balances/refresh/", subaccounts.balances_refresh_view, name="balances-refresh"),
    path("subaccounts/<int:pk>/keys/new/", apikeys.apikey_create_view, name="apikey-create"),
    path("subaccounts/<int:pk>/keys/import/", apikeys.apikey_import_view, name="apikey-import"),
    path("subaccounts/<int:pk>/keys/sync/", apikeys.apikeys_sync_view, name="apikey-sync"),
    path("subaccounts/<int:pk>/transfers/new/", transfers.transfer_create_view, name="transfer-create"),
    path("subaccounts/<int:pk>/kyc/new/", kyc.kyc_submit_view, name="kyc-submit"),
    path("subaccounts/<int:pk>/kyc/check/", kyc.kyc_status_sync_view, name="kyc-check"),
    path("keys/<int:pk>/", apikeys.apikey_detail, name="apikey-detail"),
    path("keys/<int:pk>/edit/", apikeys.apikey_edit_view, name="apikey-edit"),
    path("keys/<int:pk>/delete/", apikeys.apikey_delete_view, name="apikey-delete"),
    path("transfers/", transfers.transfer_list, name="transfer-list"),
    path("transfers/sync/", transfers.transfers_sync_view, name="transfer-sync"),
    path("transfers/<int:pk>/retry/", transfers.transfer_retry_view, name="transfer-retry"),
    path("deposits/", funding.deposit_list, name="deposit-list"),
    path("deposits/sync/", funding.deposits_sync_view, name="deposit-sync"),
    path("withdrawals/sync/", funding.withdrawals_sync_view, name="withdrawal-sync"),
    path("calls/", calllog.calllog_list, name="calllog-list"),
    path("broker/", broker.broker_profile_view, name="broker-profile"),
    path("broker/check/", broker.broker_check_view, name="broker-check"),
]

# Fast API ("Log in with KuCoin"): the customer's pages (no staff login), then the staff pages.
from accounts.views import fastapi  # noqa: E402

urlpatterns += [
    path("connect/kucoin/", fastapi.connect_start, name="fastapi-start"),
    path("connect/kucoin/callback/", fastapi.connect_callback, name="fastapi-callback"),
    path("connect/kucoin/status/<uuid:public_id>/", fastapi.connect_status, name="fastapi-status"),
    path("fast-api/", fastapi.connection_list, name="connection-list"),
    path("fast-api/settings/", fastapi.fastapi_settings_view, name="fastapi-settings"),
    path("fast-api/refresh/", fastapi.tokens_refresh_view, name="fastapi-refresh"),
    path("fast-api/<int:pk>/", fastapi.connection_detail, name="connection-detail"),
    path("fast-api/<int:pk>/disconnect/", fastapi.connection_disconnect, name="connection-disconnect"),
    path("fast-api/<int:pk>/retry/", fastapi.connection_retry, name="connection-retry"),
]

# Customer funding: deposit addresses, withdrawals from the broker account (two-person approval), payouts.
from accounts.views import broker_withdrawals, deposit_addresses  # noqa: E402

urlpatterns += [
    path("subaccounts/<int:pk>/deposit-addresses/new/", deposit_addresses.deposit_address_create_view,
         name="deposit-address-create"),
    path("deposit-addresses/<int:pk>/", deposit_addresses.deposit_address_detail, name="deposit-address-detail"),
    path("deposit-addresses/<int:pk>/refresh/", deposit_addresses.deposit_address_refresh_view,
         name="deposit-address-refresh"),
    path("subaccounts/<int:pk>/payouts/new/", broker_withdrawals.payout_create_view, name="payout-create"),
    path("broker-withdrawals/", broker_withdrawals.withdrawal_list, name="broker-withdrawal-list"),
    path("broker-withdrawals/new/", broker_withdrawals.withdrawal_create_view, name="broker-withdrawal-create"),
    path("broker-withdrawals/follow/", broker_withdrawals.withdrawals_follow_view, name="broker-withdrawal-follow"),
    path("broker-withdrawals/<int:pk>/", broker_withdrawals.withdrawal_detail, name="broker-withdrawal-detail"),
    path("broker-withdrawals/<int:pk>/approve/", broker_withdrawals.withdrawal_approve_view, name="broker-withdrawal-approve"),
    path("broker-withdrawals/<int:pk>/refuse/", broker_withdrawals.withdrawal_refuse_view, name="broker-withdrawal-refuse"),
    path("broker-withdrawals/<int:pk>/cancel/", broker_withdrawals.withdrawal_cancel_view, name="broker-withdrawal-cancel"),
]
