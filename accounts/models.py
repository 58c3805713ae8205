"""The broker and its customers' KuCoin accounts."""
from __future__ import annotations

from django.db import models

from brokeroffice.fields import EncryptedTextField


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
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "broker profile"

    def __str__(self) -> str:
        return self.broker_name or "Broker profile"
