"""Forms of the staff pages. Each rejects, in words, what KuCoin would reject, before anything is queued."""
from __future__ import annotations

import base64
import re
from decimal import Decimal

from django import forms
from django.core.exceptions import ValidationError

from accounts.models import Deposit, SubAccount, SubAccountApiKey, Transfer
from accounts.validation import MAX_WHITELIST, parse_ip_whitelist, validate_label

CURRENCY = re.compile(r"^[A-Za-z0-9]{1,20}$")
MAX_PHOTO_BYTES = 2 * 1024 * 1024
PHOTO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


class StaffForm(forms.Form):
    """Labels without a trailing colon: they read as the field's name, for people and for screen readers."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)


class SubAccountFilterForm(StaffForm):
    q = forms.CharField(required=False, max_length=64, label="Name starts with, or UID")
    state = forms.ChoiceField(required=False, choices=[("", "Any")] + SubAccount.State.choices)


class SubAccountCreateForm(StaffForm):
    name = forms.CharField(
        max_length=32, label="Name",
        help_text="4 to 32 letters, digits, '_', '-' or '.'; the broker prefix is put in front (and counts).",
    )


class ConfirmByTypingForm(StaffForm):
    """A destructive action confirmed by typing the object's name."""

    confirm = forms.CharField(max_length=64)

    def __init__(self, *args, expected: str, what: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.expected = expected
        self.fields["confirm"].label = f"Type the {what} to confirm"
        self.fields["confirm"].help_text = f"Type “{expected}”."

    def clean_confirm(self):
        typed = self.cleaned_data["confirm"].strip()
        if typed != self.expected:
            raise ValidationError(f"That is not “{self.expected}”: nothing was done.")
        return typed


def _whitelist_field() -> forms.CharField:
    return forms.CharField(
        required=False, label="IP whitelist", widget=forms.Textarea(attrs={"rows": 4}),
        help_text=f"At most {MAX_WHITELIST} IPv4 or IPv6 addresses, one per line or separated by commas. Empty: any address.",
    )


class ApiKeyForm(StaffForm):
    """Creating a key, and changing one (KuCoin replaces label, permissions and whitelist together)."""

    label = forms.CharField(max_length=32, help_text="4 to 32 characters.")
    permissions = forms.MultipleChoiceField(
        choices=SubAccountApiKey.Permission.choices, widget=forms.CheckboxSelectMultiple, initial=["General"],
        help_text="General (reading) is always included.",
    )
    ip_whitelist = _whitelist_field()

    def clean_label(self):
        label = self.cleaned_data["label"].strip()
        validate_label(label)
        return label

    def clean_ip_whitelist(self):
        return parse_ip_whitelist(self.cleaned_data["ip_whitelist"])

    @classmethod
    def initial_for(cls, key: SubAccountApiKey) -> dict:
        return {"label": key.label, "permissions": key.permissions, "ip_whitelist": "\n".join(key.ip_whitelist or [])}


class ApiKeyImportForm(StaffForm):
    """A key made elsewhere. The secret and passphrase boxes never render what was typed back into the page."""

    api_key = forms.CharField(max_length=64, label="API key")
    secret = forms.CharField(max_length=200, label="API secret", widget=forms.PasswordInput(attrs={"autocomplete": "off"}))
    passphrase = forms.CharField(
        max_length=64, label="API passphrase", widget=forms.PasswordInput(attrs={"autocomplete": "off"})
    )

    def clean_api_key(self):
        api_key = self.cleaned_data["api_key"].strip()
        if not re.fullmatch(r"[A-Za-z0-9-]{8,64}", api_key):
            raise ValidationError("An API key is 8 to 64 letters, digits or '-', as KuCoin showed it.")
        return api_key


class TransferForm(StaffForm):
    direction = forms.ChoiceField(choices=Transfer.Direction.choices)
    currency = forms.CharField(max_length=20, help_text="A currency code, e.g. USDT.")
    # Same precision as the column, so what is accepted here is stored exactly.
    amount = forms.DecimalField(max_digits=36, decimal_places=18, help_text="A positive number, e.g. 12.5.")
    broker_account_type = forms.ChoiceField(
        choices=Transfer.AccountType.choices, initial=Transfer.AccountType.MAIN, label="Broker account"
    )
    sub_account_type = forms.ChoiceField(
        choices=Transfer.AccountType.choices, initial=Transfer.AccountType.MAIN, label="Sub-account account"
    )

    def clean_currency(self):
        currency = self.cleaned_data["currency"].strip()
        if not CURRENCY.match(currency):
            raise ValidationError(f"“{currency}” is not a currency code: letters and digits only, e.g. USDT.")
        return currency.upper()

    def clean_amount(self):
        amount: Decimal = self.cleaned_data["amount"]
        if amount <= 0:
            raise ValidationError("The amount must be more than zero.")
        return amount


class DepositFilterForm(StaffForm):
    currency = forms.CharField(required=False, max_length=20)
    status = forms.ChoiceField(required=False, choices=[("", "Any")] + Deposit.Status.choices)
    uid = forms.CharField(required=False, max_length=32, label="UID")


class CallLogFilterForm(StaffForm):
    code = forms.CharField(required=False, max_length=20, label="KuCoin code")
    family = forms.ChoiceField(
        required=False, choices=[("", "Any"), ("spot", "spot"), ("futures", "futures"), ("broker", "broker"), ("oauth", "oauth")]
    )
    credential = forms.CharField(required=False, max_length=64, help_text="e.g. broker or apikey:12")
    actor = forms.CharField(required=False, max_length=150)
    failures = forms.BooleanField(required=False, label="Failures only")


IDENTITY_TYPES = [
    ("idcard", "Identity card"), ("drivinglicense", "Driving licence"), ("passport", "Passport"), ("bvn", "BVN"),
]
# Which photos KuCoin requires for each identity type.
FRONT_OPTIONAL = {"bvn"}
BACK_OPTIONAL = {"passport", "bvn"}


def photo_as_data_url(upload) -> str:
    """A PNG or JPEG of at most 2 MB, as the base64 data URL KuCoin expects. The content decides the type."""
    if upload.size > MAX_PHOTO_BYTES:
        raise ValidationError(f"The photo is {upload.size / 1024 / 1024:.1f} MB; at most 2 MB is accepted.")
    content = upload.read()
    for magic, mime in PHOTO_TYPES.items():
        if content.startswith(magic):
            return f"data:{mime};base64,{base64.b64encode(content).decode('ascii')}"
    raise ValidationError("The photo must be a PNG or JPEG image.")


class KycForm(StaffForm):
    first_name = forms.CharField(max_length=100)
    last_name = forms.CharField(max_length=100)
    issue_country = forms.CharField(
        min_length=2, max_length=2, label="Issuing country", help_text="Two-letter code (ISO 3166), e.g. DE."
    )
    birth_date = forms.DateField(help_text="YYYY-MM-DD.", widget=forms.DateInput(attrs={"type": "date"}))
    identity_type = forms.ChoiceField(choices=IDENTITY_TYPES)
    identity_number = forms.CharField(max_length=100)
    expire_date = forms.DateField(label="Expiry date", help_text="YYYY-MM-DD.", widget=forms.DateInput(attrs={"type": "date"}))
    front_photo = forms.FileField(required=False, help_text="PNG or JPEG, at most 2 MB. Not needed for BVN.")
    backend_photo = forms.FileField(
        required=False, label="Back photo", help_text="PNG or JPEG, at most 2 MB. Not needed for a passport or BVN."
    )
    face_photo = forms.FileField(label="Face photo", help_text="PNG or JPEG, at most 2 MB.")

    def clean_issue_country(self):
        country = self.cleaned_data["issue_country"].strip().upper()
        if not country.isalpha():
            raise ValidationError("Use the two-letter country code, e.g. DE.")
        return country

    def _photo(self, name: str):
        upload = self.cleaned_data.get(name)
        return photo_as_data_url(upload) if upload else ""

    def clean_front_photo(self):
        return self._photo("front_photo")

    def clean_backend_photo(self):
        return self._photo("backend_photo")

    def clean_face_photo(self):
        return self._photo("face_photo")

    def clean(self):
        data = super().clean()
        identity_type = data.get("identity_type")
        if identity_type and identity_type not in FRONT_OPTIONAL and "front_photo" not in self.errors and not data.get("front_photo"):
            self.add_error("front_photo", "A photo of the front of the document is required for this identity type.")
        if identity_type and identity_type not in BACK_OPTIONAL and "backend_photo" not in self.errors and not data.get("backend_photo"):
            self.add_error("backend_photo", "A photo of the back of the document is required for this identity type.")
        return data

    def service_data(self) -> dict:
        """The cleaned values in the shape kyc_submit takes (dates as YYYY-MM-DD)."""
        data = dict(self.cleaned_data)
        data["birth_date"] = data["birth_date"].isoformat()
        data["expire_date"] = data["expire_date"].isoformat()
        return data



# -- Fast API (OAuth) --
import json  # noqa: E402
from urllib.parse import urlsplit  # noqa: E402

from django.urls import reverse  # noqa: E402

from accounts.models import FastApiConnection, FastApiSettings  # noqa: E402


class FastApiSettingsForm(forms.ModelForm):
    """The broker-admin's Fast API application: the secret box never shows the stored secret."""

    redirect_url = forms.URLField(
        max_length=500, assume_scheme="https", label="Registered redirect URL",
        help_text="Exactly as registered at KuCoin: this back-office's callback URL.",
    )
    key_creation_body = forms.CharField(
        required=False, label="Key creation body", widget=forms.Textarea(attrs={"rows": 4}),
        help_text='Optional JSON object sent with the key creation, e.g. {"authGroupMap": {"API_SPOT": true}} for v2.',
    )

    class Meta:
        model = FastApiSettings
        fields = ["client_id", "client_secret", "redirect_url", "key_creation_path", "key_creation_body", "send_api_name",
                  "link_secret"]

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("label_suffix", "")
        super().__init__(*args, **kwargs)
        if self.instance and self.instance.key_creation_body is not None and not self.is_bound:
            self.initial["key_creation_body"] = json.dumps(self.instance.key_creation_body)

    def clean_client_id(self):
        value = self.cleaned_data["client_id"].strip()
        if not value:
            raise ValidationError("The client id is required: KuCoin issued it with the Fast API registration.")
        return value

    def clean_redirect_url(self):
        value = (self.cleaned_data["redirect_url"] or "").strip()
        parts = urlsplit(value)
        callback = reverse("accounts:fastapi-callback")
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValidationError("Give the full address, starting with https://.")
        if parts.query or parts.fragment:
            raise ValidationError("The redirect URL cannot carry a query or a fragment: KuCoin adds code and state to it.")
        if parts.path != callback:
            raise ValidationError(f"The redirect URL must end in this back-office's callback path, {callback}.")
        return value

    def clean_key_creation_path(self):
        value = self.cleaned_data["key_creation_path"].strip()
        if not re.fullmatch(r"/[A-Za-z0-9_./-]{1,299}", value) or ".." in value:
            raise ValidationError("A path on KuCoin's OAuth host, starting with /, e.g. "
                                  f"{FastApiSettings.DEFAULT_KEY_CREATION_PATH}.")
        return value

    def clean_key_creation_body(self):
        text = (self.cleaned_data["key_creation_body"] or "").strip()
        if not text:
            return None
        try:
            value = json.loads(text)
        except ValueError as exc:
            raise ValidationError(f"This is not valid JSON ({exc.msg} at character {exc.pos}).") from None
        if not isinstance(value, dict):
            raise ValidationError("Give a JSON object, in braces { }.")
        groups = value.get("authGroupMap") or {}
        if isinstance(groups, dict) and any(g.startswith("API_WITHDRAW") and on for g, on in groups.items()):
            raise ValidationError("Fast API keys never get withdrawal rights: remove API_WITHDRAW.")
        return value


class FastApiConnectionFilterForm(StaffForm):
    customer = forms.CharField(required=False, max_length=64, label="Customer reference")
    state = forms.ChoiceField(required=False, choices=[("", "Any")] + FastApiConnection.State.choices)


class FastApiDisconnectForm(StaffForm):
    mark_key_unused = forms.BooleanField(
        required=False, label="Also mark the API key unused",
        help_text="Trading stops signing with it. The key stays at KuCoin until the customer deletes it there.",
    )


# -- Customer funding: deposit addresses, withdrawals from the broker account, payouts --
from accounts.models import BrokerWithdrawal, DepositAddress  # noqa: E402

CHAIN_ID = re.compile(r"^[A-Za-z0-9_-]{1,50}$")


def _currency_field() -> forms.CharField:
    return forms.CharField(max_length=20, help_text="A currency code, e.g. USDT.")


def _chain_field() -> forms.CharField:
    return forms.CharField(max_length=50, label="Chain", help_text="KuCoin's chain id, e.g. trx, eth, bsc, ton, xrp.")


class _CurrencyChainMixin:
    def clean_currency(self):
        currency = self.cleaned_data["currency"].strip()
        if not CURRENCY.match(currency):
            raise ValidationError(f"“{currency}” is not a currency code: letters and digits only, e.g. USDT.")
        return currency.upper()

    def clean_chain(self):
        chain = self.cleaned_data["chain"].strip()
        if not CHAIN_ID.match(chain):
            raise ValidationError(f"“{chain}” is not a chain id: letters, digits, '-' or '_', e.g. trx.")
        return chain.lower()


class DepositAddressForm(_CurrencyChainMixin, StaffForm):
    currency = _currency_field()
    chain = _chain_field()
    credited_account = forms.ChoiceField(choices=DepositAddress.CreditedAccount.choices, initial="MAIN",
                                         label="Credit deposits to")


class _WithdrawalFields(_CurrencyChainMixin, StaffForm):
    currency = _currency_field()
    chain = _chain_field()
    address = forms.CharField(max_length=200, help_text="The destination address, exactly as the recipient gave it.")
    memo = forms.CharField(max_length=200, required=False, label="Memo / tag",
                           help_text="Needed on memo chains (TON, XRP…): without it the funds may be lost.")
    # Same precision as the column, so what is accepted here is stored exactly.
    amount = forms.DecimalField(max_digits=36, decimal_places=18, min_value=Decimal("0.000000000000000001"),
                                help_text="A positive number, e.g. 250.5.")

    def clean_address(self):
        return self.cleaned_data["address"].strip()

    def clean_memo(self):
        return self.cleaned_data["memo"].strip()


class BrokerWithdrawalForm(_WithdrawalFields):
    fee_deduct_type = forms.ChoiceField(choices=BrokerWithdrawal.FeeDeduct.choices, initial="EXTERNAL", label="Fee paid")
    note = forms.CharField(max_length=200, required=False, help_text="Why, for the approver.")


class PayoutForm(_WithdrawalFields):
    sub_account_type = forms.ChoiceField(choices=Transfer.AccountType.choices, initial=Transfer.AccountType.MAIN,
                                         label="Take it from the sub-account's")
    note = forms.CharField(max_length=200, required=False, help_text="Why, for the approver.")


class WithdrawalApproveForm(StaffForm):
    confirm_unlisted = forms.BooleanField(
        required=False, label="I confirm this address is intended although it is not on the allow-list")


class WithdrawalRefuseForm(StaffForm):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 2}), label="Why it is refused")
