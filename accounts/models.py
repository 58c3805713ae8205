"""The broker and its customers' KuCoin accounts: sub-accounts, their API keys, balances, transfers,
deposits, withdrawals and KYC submissions.

Rows that stand for an action at KuCoin carry a state: `pending` is written before the task is queued
(with the id that makes the action idempotent), and the task moves it on.
"""
from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

from brokeroffice.fields import EncryptedTextField

MONEY = {"max_digits": 36, "decimal_places": 18}


class KuCoinErrorFields(models.Model):
    """KuCoin's answer when an action failed: its code and message, shown on the page of the action."""

    error_code = models.CharField(max_length=20, blank=True)
    error_message = models.TextField(blank=True)

    class Meta:
        abstract = True

    @property
    def error_in_words(self) -> str:
        if not self.error_message and not self.error_code:
            return ""
        return f"KuCoin {self.error_code}: {self.error_message}" if self.error_code else self.error_message


class KuCoinAction(KuCoinErrorFields):
    """A row that stands for an action at KuCoin, sent by a task.

    `sent_at` says a request may have reached KuCoin (so a retry checks first); `lease_until` lets one task
    execution at a time act on the row, without holding a database lock during the call.
    """

    sent_at = models.DateTimeField(null=True, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True


class BrokerProfile(models.Model):
    """The broker's identity at KuCoin and its own API key. One row; secrets encrypted at rest."""

    class KeyVersion(models.TextChoices):
        V2 = "2", "2"
        V3 = "3", "3"

    broker_name = models.CharField(max_length=100, blank=True, help_text="KC-BROKER-NAME, as KuCoin issued it.")
    spot_partner = models.CharField(max_length=100, blank=True, help_text="Partner id for spot and ND broker calls.")
    spot_broker_key = EncryptedTextField(blank=True, verbose_name="spot broker key")
    futures_partner = models.CharField(
        max_length=100, blank=True, help_text="Partner id for futures, when KuCoin issued a separate one."
    )
    futures_broker_key = EncryptedTextField(blank=True, verbose_name="futures broker key")
    api_key = models.CharField(max_length=100, blank=True, verbose_name="API key", help_text="The broker account's own key.")
    api_secret = EncryptedTextField(blank=True, verbose_name="API secret")
    api_passphrase = EncryptedTextField(blank=True, verbose_name="API passphrase")
    key_version = models.CharField(max_length=1, choices=KeyVersion.choices, default=KeyVersion.V2)
    sub_account_prefix = models.CharField(
        max_length=20, blank=True, help_text="Put before every new sub-account name (names are unique exchange-wide)."
    )
    # The last connection check, for the dashboard.
    checked_at = models.DateTimeField(null=True, blank=True)
    check_ok = models.BooleanField(null=True)
    check_message = models.TextField(blank=True)
    broker_uid = models.CharField(max_length=32, blank=True, help_text="The broker account's uid, learnt from KuCoin.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "broker profile"

    def __str__(self) -> str:
        return self.broker_name or "Broker profile"


class SubAccount(KuCoinAction):
    """A customer's KuCoin sub-account, created by the broker. KuCoin cannot delete one: it is retired."""

    class State(models.TextChoices):
        PENDING = "pending", "Being created"
        ACTIVE = "active", "Active"
        FAILED = "failed", "Creation failed"
        RETIRING = "retiring", "Being retired"
        RETIRED = "retired", "Retired"

    account_name = models.CharField(max_length=64, unique=True, help_text="Unique across all of KuCoin.")
    uid = models.CharField(max_length=32, unique=True, null=True, blank=True, verbose_name="UID")
    level = models.PositiveSmallIntegerField(default=0, help_text="VIP level.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    kucoin_created_at = models.DateTimeField(null=True, blank=True, verbose_name="created at KuCoin")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    balances_refreshed_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["state", "-id"], name="subaccount_state_id"),
            models.Index(fields=["-kucoin_created_at"], name="subaccount_kucoin_created"),
        ]

    def __str__(self) -> str:
        return self.account_name


class SubAccountBalance(models.Model):
    """One currency in one account type of a sub-account, as its own key last read it."""

    sub_account = models.ForeignKey(SubAccount, on_delete=models.CASCADE, related_name="balances")
    account_type = models.CharField(max_length=20)
    currency = models.CharField(max_length=20)
    balance = models.DecimalField(**MONEY)
    available = models.DecimalField(**MONEY)
    holds = models.DecimalField(**MONEY)
    refreshed_at = models.DateTimeField()

    class Meta:
        ordering = ["account_type", "currency"]
        constraints = [
            models.UniqueConstraint(fields=["sub_account", "account_type", "currency"], name="balance_unique_currency")
        ]

    def __str__(self) -> str:
        return f"{self.currency} {self.balance} ({self.account_type})"


class SubAccountApiKey(KuCoinAction):
    """An API key of a sub-account. Its secret and passphrase are encrypted and shown once, at creation."""

    class State(models.TextChoices):
        PENDING = "pending", "Being created"
        ACTIVE = "active", "Active"
        UPDATING = "updating", "Being changed"
        FAILED = "failed", "Failed"
        DELETING = "deleting", "Being deleted"
        DELETED = "deleted", "Deleted"

    class Source(models.TextChoices):
        CREATED = "created", "Created here"
        IMPORTED = "imported", "Imported"
        FOUND = "found", "Found at KuCoin (secret unknown)"

    class Permission(models.TextChoices):
        GENERAL = "General", "General"
        SPOT = "Spot", "Spot"
        FUTURES = "Futures", "Futures"

    sub_account = models.ForeignKey(SubAccount, on_delete=models.CASCADE, related_name="api_keys")
    api_key = models.CharField(max_length=64, unique=True, null=True, blank=True, verbose_name="API key")
    label = models.CharField(max_length=32)
    permissions = models.JSONField(default=list)
    ip_whitelist = models.JSONField(default=list, blank=True, help_text="As set here; KuCoin shows it masked.")
    kucoin_ip_whitelist = models.JSONField(default=list, blank=True, help_text="As KuCoin last showed it (masked).")
    api_version = models.PositiveSmallIntegerField(null=True, blank=True)
    secret = EncryptedTextField(blank=True)
    passphrase = EncryptedTextField(blank=True)
    secret_shown_at = models.DateTimeField(null=True, blank=True, help_text="When the creation page showed the secret.")
    source = models.CharField(max_length=20, choices=Source.choices, default=Source.CREATED)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    # A change waiting to be sent (label, permissions, whitelist), kept until KuCoin accepted it.
    pending_change = models.JSONField(null=True, blank=True)
    kucoin_created_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-id"]
        verbose_name = "sub-account API key"
        indexes = [models.Index(fields=["sub_account", "state"], name="apikey_subaccount_state")]

    def __str__(self) -> str:
        return f"{self.label} ({self.api_key or 'pending'})"

    @property
    def has_secret(self) -> bool:
        return bool(self.secret and self.passphrase)

    @property
    def credential_id(self) -> str:
        return f"apikey:{self.pk}"


def new_transfer_client_oid() -> str:
    """A string from the start (a UUID object would be one type before saving and another after)."""
    return str(uuid.uuid4())


class Transfer(KuCoinAction):
    """Funds moved between the broker account and a sub-account. The clientOid is saved before sending."""

    class Direction(models.TextChoices):
        OUT = "OUT", "Broker → sub-account"
        IN = "IN", "Sub-account → broker"

    class AccountType(models.TextChoices):
        MAIN = "MAIN", "Funding (MAIN)"
        TRADE = "TRADE", "Spot (TRADE)"

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        UNKNOWN = "unknown", "Sent, outcome being checked"
        PROCESSING = "processing", "Processing at KuCoin"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed"

    FINAL_STATES = (State.SUCCEEDED, State.FAILED)

    client_oid = models.CharField(max_length=64, unique=True, default=new_transfer_client_oid, editable=False,
                                  verbose_name="clientOid")
    sub_account = models.ForeignKey(SubAccount, on_delete=models.PROTECT, related_name="transfers")
    direction = models.CharField(max_length=3, choices=Direction.choices)
    currency = models.CharField(max_length=20)
    amount = models.DecimalField(**MONEY)
    broker_account_type = models.CharField(max_length=10, choices=AccountType.choices, default=AccountType.MAIN)
    sub_account_type = models.CharField(max_length=10, choices=AccountType.choices, default=AccountType.MAIN)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    kucoin_order_id = models.CharField(max_length=64, unique=True, null=True, blank=True, verbose_name="KuCoin order id")
    kucoin_status = models.CharField(max_length=20, blank=True)
    failure_reason = models.TextField(blank=True)
    purpose = models.CharField(max_length=100, blank=True, help_text="Why, e.g. 'retire' or 'payout'.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["sub_account", "-id"], name="transfer_subaccount_id"),
            models.Index(fields=["state"], name="transfer_open", condition=~Q(state__in=["succeeded", "failed"])),
        ]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive")]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.amount.normalize():f} {self.currency}"


class FundsRecord(models.Model):
    """What KuCoin's ND API reports of money arriving in or leaving a sub-account (deposits, withdrawals)."""

    sub_account = models.ForeignKey(SubAccount, null=True, blank=True, on_delete=models.SET_NULL, related_name="%(class)ss")
    uid = models.CharField(max_length=32, db_index=True, verbose_name="UID")
    currency = models.CharField(max_length=20)
    amount = models.DecimalField(**MONEY)
    fee = models.DecimalField(**MONEY, null=True, blank=True)
    address = models.CharField(max_length=200, blank=True)
    memo = models.CharField(max_length=200, blank=True)
    chain = models.CharField(max_length=50, blank=True)
    is_inner = models.BooleanField(default=False)
    wallet_tx_id = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=30)
    remark = models.TextField(blank=True)
    kucoin_created_at = models.DateTimeField(null=True, blank=True)
    kucoin_updated_at = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField()

    class Meta:
        abstract = True
        ordering = ["-kucoin_created_at", "-id"]


class Deposit(FundsRecord):
    """A deposit into a sub-account, as KuCoin's ND deposit list reports it."""

    class Status(models.TextChoices):
        PROCESSING = "PROCESSING", "Processing"
        SUCCESS = "SUCCESS", "Credited"
        FAILURE = "FAILURE", "Failed"

    hash = models.CharField(max_length=200, help_text="Transaction hash (wallet id for internal deposits).")

    class Meta(FundsRecord.Meta):
        # One transaction can pay several outputs to one address: KuCoin lists each, told apart by its wallet id
        # ("hash@address@output").
        constraints = [models.UniqueConstraint(fields=["uid", "currency", "hash", "wallet_tx_id"],
                                               name="deposit_unique_output")]
        indexes = [models.Index(fields=["sub_account", "-kucoin_created_at"], name="deposit_subaccount_created")]

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} → {self.uid}"


class Withdrawal(FundsRecord):
    """A withdrawal of a sub-account, as KuCoin's ND withdrawal detail reports it."""

    withdrawal_id = models.CharField(max_length=64, unique=True)

    def __str__(self) -> str:
        return f"{self.amount} {self.currency} from {self.uid}"


class KycSubmission(KuCoinAction):
    """A sub-account's KYC sent through KuCoin's ND proxy. Personal data is encrypted, photos dropped once sent."""

    class State(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SUBMITTED = "submitted", "Sent to KuCoin"
        FAILED = "failed", "Could not be sent"

    class KycStatus(models.TextChoices):
        NONE = "NONE", "Nothing submitted"
        PROCESS = "PROCESS", "Under review"
        PASS = "PASS", "Passed"
        REJECT = "REJECT", "Rejected"

    sub_account = models.ForeignKey(SubAccount, on_delete=models.CASCADE, related_name="kyc_submissions")
    identity_type = models.CharField(max_length=20)
    issue_country = models.CharField(max_length=2)
    personal_data = EncryptedTextField(help_text="Names, dates, document number and photos, as JSON.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    kyc_status = models.CharField(max_length=10, choices=KycStatus.choices, blank=True)
    reject_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-id"]
        verbose_name = "KYC submission"

    def __str__(self) -> str:
        return f"KYC of {self.sub_account} ({self.kyc_status or self.state})"


class FastApiSettings(models.Model):
    """The broker's Fast API (OAuth "Log in with KuCoin") application, as KuCoin registered it. One row.

    Set by a broker-admin. The key-creation path and body are configurable: KuCoin has announced a newer
    version of that call (kucoin-api.md 10.2).
    """

    DEFAULT_KEY_CREATION_PATH = "/_oauth/resource/ucenter/outer/api-key/add"

    client_id = models.CharField(max_length=200, blank=True, verbose_name="client id", help_text="client_id, as KuCoin issued it.")
    client_secret = EncryptedTextField(blank=True, verbose_name="client secret")
    redirect_url = models.URLField(
        max_length=500, blank=True, verbose_name="registered redirect URL",
        help_text="Exactly as registered at KuCoin: this back-office's callback, e.g. https://office.example.com/connect/kucoin/callback/.",
    )
    key_creation_path = models.CharField(
        max_length=300, default=DEFAULT_KEY_CREATION_PATH,
        help_text="The path of KuCoin's key-creation call on the OAuth host (v2: /_oauth/resource/cyber-truck-vault/v2/outer/api-key/add).",
    )
    key_creation_body = models.JSONField(
        null=True, blank=True, help_text="Extra JSON sent with the key creation, e.g. {\"authGroupMap\": {...}} for v2. Empty: none.",
    )
    link_secret = EncryptedTextField(
        blank=True, verbose_name="link signing secret",
        help_text="Optional. When set, the start URL also needs sig=<hex HMAC-SHA256 of the customer reference with "
                  "this secret>, so that only the broker's own site can make connect links for its customers.",
    )
    send_api_name = models.BooleanField(
        default=True, verbose_name="send an apiName",
        help_text="Name each key (apiName) so that a retried creation cannot make a second key unnoticed.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "Fast API settings"
        verbose_name_plural = "Fast API settings"

    def __str__(self) -> str:
        return "Fast API settings"

    @property
    def is_configured(self) -> bool:
        return bool(self.client_id and self.redirect_url and self.key_creation_path)


class FastApiConnection(KuCoinAction):
    """A customer's own KuCoin account connected through Fast API, and the API key KuCoin made for it.

    The `state` parameter sent to KuCoin is random, single use and expiring; only its SHA-256 is stored.
    The authorization code, the tokens and the key's secret and passphrase are encrypted at rest.
    """

    class State(models.TextChoices):
        PENDING = "pending", "Pending (waiting for the customer)"
        CONNECTED = "connected", "Connected (key being created)"
        KEY_CREATED = "key_created", "Key created"
        RECONNECT_NEEDED = "reconnect_needed", "Reconnect needed"
        FAILED = "failed", "Failed"
        DISCONNECTED = "disconnected", "Disconnected"

    # Whose key can sign: the key keeps working when only the tokens ran out, and after a disconnect
    # unless staff marked it unused.
    KEY_STATES = (State.KEY_CREATED, State.RECONNECT_NEEDED, State.DISCONNECTED)

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False,
                                 help_text="Names the customer's status page; not a secret, never a token.")
    customer_ref = models.CharField(max_length=64, db_index=True, verbose_name="customer reference",
                                    help_text="The broker's own id for the customer.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    # The OAuth `state` parameter: its SHA-256 only, when it stops being accepted, when it was used.
    state_digest = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    state_expires_at = models.DateTimeField(null=True, blank=True)
    state_used_at = models.DateTimeField(null=True, blank=True)
    redirect_url = models.CharField(max_length=500, blank=True, help_text="The redirect URL sent with the authorization.")
    # The authorization code, from the callback until the worker exchanged it; its digest refuses a replay.
    code = EncryptedTextField(blank=True)
    code_digest = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    code_received_at = models.DateTimeField(null=True, blank=True)
    access_token = EncryptedTextField(blank=True)
    access_expires_at = models.DateTimeField(null=True, blank=True, verbose_name="access token expires")
    refresh_token = EncryptedTextField(blank=True)
    refresh_expires_at = models.DateTimeField(null=True, blank=True, verbose_name="refresh token expires")
    tokens_refreshed_at = models.DateTimeField(null=True, blank=True)
    # The key KuCoin created for the customer.
    api_name = models.CharField(max_length=64, blank=True, verbose_name="apiName")
    api_key = models.CharField(max_length=64, unique=True, null=True, blank=True, verbose_name="API key")
    api_secret = EncryptedTextField(blank=True, verbose_name="API secret")
    api_passphrase = EncryptedTextField(blank=True, verbose_name="API passphrase")
    broker_id = models.CharField(max_length=100, blank=True, verbose_name="broker id")
    auth_group = models.CharField(max_length=300, blank=True, verbose_name="authGroup")
    ip_whitelist = models.CharField(max_length=1000, blank=True, verbose_name="IP whitelist")
    key_created_at = models.DateTimeField(null=True, blank=True)
    key_in_use = models.BooleanField(default=True, help_text="Cleared when staff disconnect and mark the key unused.")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    connected_at = models.DateTimeField(null=True, blank=True)
    disconnected_at = models.DateTimeField(null=True, blank=True)
    failure_kind = models.CharField(max_length=30, blank=True, help_text="What went wrong, for the customer's page.")

    class Meta:
        ordering = ["-id"]
        verbose_name = "Fast API connection"
        indexes = [
            models.Index(fields=["customer_ref", "-id"], name="fastapi_customer_id"),
            models.Index(fields=["state", "-id"], name="fastapi_state_id"),
            models.Index(fields=["access_expires_at"], name="fastapi_tokens_held",
                         condition=Q(state__in=["connected", "key_created"])),
        ]

    def __str__(self) -> str:
        return f"{self.customer_ref} ({self.get_state_display()})"

    @property
    def credential_id(self) -> str:
        return f"fastapi:{self.pk}"

    @property
    def auth_groups(self) -> list[str]:
        return [g for g in self.auth_group.split(",") if g]

    @property
    def badge_state(self) -> str:
        """The badge colour of the state, in the shared stylesheet's names."""
        return {"key_created": "active", "connected": "processing", "reconnect_needed": "unknown",
                "disconnected": "deleted"}.get(self.state, self.state)

    @property
    def key_usable(self) -> bool:
        """Whether trading may sign with this connection's key."""
        return bool(self.state in self.KEY_STATES and self.key_in_use and self.api_key and self.api_secret and self.api_passphrase)


# -- Customer funding: deposit addresses, withdrawals from the broker account, payouts (issue 12) --

class DepositAddress(KuCoinAction):
    """A sub-account's deposit address for one currency on one chain, created or read with its own key."""

    class State(models.TextChoices):
        PENDING = "pending", "Being fetched"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    class CreditedAccount(models.TextChoices):
        MAIN = "MAIN", "Funding (MAIN)"
        TRADE = "TRADE", "Spot (TRADE)"

    sub_account = models.ForeignKey(SubAccount, on_delete=models.PROTECT, related_name="deposit_addresses")
    currency = models.CharField(max_length=20)
    chain = models.CharField(max_length=50, help_text="KuCoin's chainId, e.g. trx.")
    chain_name = models.CharField(max_length=50, blank=True, help_text="KuCoin's chainName, e.g. TRC20.")
    address = models.CharField(max_length=200, blank=True)
    memo = models.CharField(max_length=200, blank=True, help_text="Memo or tag; on memo chains it tells customers apart.")
    credited_account = models.CharField(max_length=10, choices=CreditedAccount.choices, default=CreditedAccount.MAIN,
                                        help_text="The account a deposit to this address is credited to.")
    contract_address = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=20, choices=State.choices, default=State.PENDING)
    fetched_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["-id"]
        constraints = [models.UniqueConstraint(fields=["sub_account", "currency", "chain"], name="depositaddress_unique")]

    def __str__(self) -> str:
        return f"{self.currency} on {self.chain} of {self.sub_account}"


class WithdrawalQuotaSnapshot(models.Model):
    """What KuCoin last said the broker account may withdraw of a currency on a chain (its quotas call).
    The request form checks against it; the sending task asks KuCoin again just before sending."""

    currency = models.CharField(max_length=20)
    chain = models.CharField(max_length=50)
    raw = models.JSONField(help_text="KuCoin's answer, as received.")
    fetched_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["currency", "chain"], name="withdrawalquota_unique")]
        verbose_name = "withdrawal quota"

    def __str__(self) -> str:
        return f"{self.currency} on {self.chain} at {self.fetched_at:%Y-%m-%d %H:%M}"


class AllowedWithdrawalAddress(models.Model):
    """The optional allow-list, per currency. Approving a withdrawal to an address not on it needs an
    explicit confirmation."""

    currency = models.CharField(max_length=20)
    chain = models.CharField(max_length=50, help_text="KuCoin's chainId, e.g. trx.")
    address = models.CharField(max_length=200)
    memo = models.CharField(max_length=200, blank=True, help_text="Empty: any memo.")
    label = models.CharField(max_length=100, help_text="Whose address, e.g. 'Treasury cold wallet'.")
    added_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["currency", "label"]
        verbose_name = "allowed withdrawal address"
        constraints = [models.UniqueConstraint(fields=["currency", "chain", "address", "memo"], name="allowedaddress_unique")]

    def __str__(self) -> str:
        return f"{self.label}: {self.currency} {self.address}"


class BrokerWithdrawal(KuCoinAction):
    """Money leaving the broker's own account. Requested by staff, approved by a different broker-admin,
    then sent by a task. KuCoin's V3 withdraw has no client id: `remark` carries a token saved before
    sending, by which a lost answer is looked up."""

    class State(models.TextChoices):
        REQUESTED = "requested", "Waiting for approval"
        APPROVED = "approved", "Approved, waiting to be sent"
        UNKNOWN = "unknown", "Sent, outcome being checked"
        PROCESSING = "processing", "Processing at KuCoin"
        SUCCEEDED = "succeeded", "Done"
        FAILED = "failed", "Failed"
        REFUSED = "refused", "Refused"
        CANCELLED = "cancelled", "Cancelled"

    class FeeDeduct(models.TextChoices):
        EXTERNAL = "EXTERNAL", "On top, from the broker account"
        INTERNAL = "INTERNAL", "Out of the amount"

    FINAL_STATES = (State.SUCCEEDED, State.FAILED, State.REFUSED, State.CANCELLED)
    # Approved and not yet known to KuCoin, or sent: the task may act.
    SENDABLE_STATES = (State.APPROVED, State.UNKNOWN)

    remark = models.CharField(max_length=64, unique=True, editable=False,
                              help_text="The look-up token sent as KuCoin's remark.")
    currency = models.CharField(max_length=20)
    chain = models.CharField(max_length=50, help_text="KuCoin's chainId, e.g. trx.")
    address = models.CharField(max_length=200)
    memo = models.CharField(max_length=200, blank=True)
    amount = models.DecimalField(**MONEY)
    fee_deduct_type = models.CharField(max_length=10, choices=FeeDeduct.choices, default=FeeDeduct.EXTERNAL,
                                       verbose_name="fee paid")
    expected_fee = models.DecimalField(**MONEY, null=True, blank=True, help_text="KuCoin's fee when requested.")
    note = models.CharField(max_length=200, blank=True, help_text="Why, for the approver.")
    state = models.CharField(max_length=20, choices=State.choices, default=State.REQUESTED)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    approved_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    unlisted_address_confirmed = models.BooleanField(default=False, help_text="The approver confirmed an address not on the allow-list.")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                   help_text="Who refused or cancelled it.")
    decision_reason = models.TextField(blank=True)
    kucoin_withdrawal_id = models.CharField(max_length=64, unique=True, null=True, blank=True, verbose_name="KuCoin withdrawal id")
    kucoin_status = models.CharField(max_length=30, blank=True)
    cancel_type = models.CharField(max_length=30, blank=True)
    fee = models.DecimalField(**MONEY, null=True, blank=True)
    wallet_tx_id = models.CharField(max_length=200, blank=True)
    failure_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "broker withdrawal"
        indexes = [models.Index(fields=["state"], name="brokerwithdrawal_open",
                                condition=~Q(state__in=["succeeded", "failed", "refused", "cancelled"]))]
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="brokerwithdrawal_amount_positive")]

    def __str__(self) -> str:
        return f"Withdraw {self.amount.normalize():f} {self.currency} to {self.address[:12]}…"

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES


class AuditRecordQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("Withdrawal audit records cannot be changed.")

    def delete(self):
        raise PermissionError("Withdrawal audit records cannot be deleted.")


class WithdrawalAuditRecord(models.Model):
    """One step of a withdrawal (request, approval, refusal, sending, status...): who, when, what.
    Append-only: saving an existing record or deleting one raises."""

    withdrawal = models.ForeignKey(BrokerWithdrawal, on_delete=models.PROTECT, related_name="audit_records")
    at = models.DateTimeField(auto_now_add=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    actor_label = models.CharField(max_length=150, help_text="The username, or the worker/schedule/command.")
    action = models.CharField(max_length=40)
    detail = models.TextField(blank=True)
    data = models.JSONField(default=dict, blank=True)

    objects = AuditRecordQuerySet.as_manager()

    class Meta:
        ordering = ["at", "id"]
        verbose_name = "withdrawal audit record"
        indexes = [models.Index(fields=["withdrawal", "at"], name="withdrawalaudit_withdrawal_at")]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor_label}: {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise PermissionError("Withdrawal audit records cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("Withdrawal audit records cannot be deleted.")


class Payout(models.Model):
    """A customer's money going out: a transfer from the sub-account to the broker account (IN), then a
    withdrawal from the broker account. One item, two steps."""

    sub_account = models.ForeignKey(SubAccount, on_delete=models.PROTECT, related_name="payouts")
    transfer = models.OneToOneField(Transfer, on_delete=models.PROTECT, related_name="payout")
    withdrawal = models.OneToOneField(BrokerWithdrawal, on_delete=models.PROTECT, related_name="payout")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"Payout of {self.withdrawal.amount.normalize():f} {self.withdrawal.currency} for {self.sub_account}"
