"""The encrypted model field for secrets: MultiFernet with keys from FIELD_ENCRYPTION_KEYS.

The first key encrypts; every key decrypts, so a key can be added, everything re-encrypted with
`manage.py rotate_encryption_keys`, and the old key removed.
"""
from __future__ import annotations

from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django import forms
from django.conf import settings
from django.db import models


class DecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


class SecretStr(str):
    """A decrypted secret: behaves as the string it is, but never shows itself in a repr."""

    def __repr__(self) -> str:
        return "SecretStr('********')"


@lru_cache(maxsize=8)
def _cipher(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys])


def cipher() -> MultiFernet:
    return _cipher(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return cipher().encrypt(plaintext.encode("utf-8")).decode("ascii")


def decrypt(token: str, *, where: str = "a stored secret") -> SecretStr:
    try:
        return SecretStr(cipher().decrypt(token.encode("ascii")).decode("utf-8"))
    except (InvalidToken, UnicodeEncodeError) as exc:
        raise DecryptionError(
            f"Cannot decrypt {where}: no key in FIELD_ENCRYPTION_KEYS opens it "
            "(was a key removed before `manage.py rotate_encryption_keys` ran?)."
        ) from exc


class SecretInput(forms.PasswordInput):
    """A password box that never renders the stored value back into the page."""

    def __init__(self, attrs=None):
        super().__init__(attrs={"autocomplete": "new-password", **(attrs or {})}, render_value=False)


class EncryptedTextField(models.TextField):
    """Text stored encrypted. The empty string is stored as is (there is nothing to hide)."""

    description = "Text encrypted at rest"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value, where=f"{self.model._meta.label}.{self.name}")

    def to_python(self, value):
        if value is None or isinstance(value, SecretStr):
            return value
        return SecretStr(value) if value else value

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(str(value))

    def value_to_string(self, obj) -> str:
        # Serialisation (dumpdata, fixtures) never carries a secret.
        return ""

    def save_form_data(self, instance, data):
        # A blank secret box on an edit form means "keep the stored secret".
        if data in (None, "") and getattr(instance, self.attname, None):
            return
        super().save_form_data(instance, data)

    def formfield(self, **kwargs):
        defaults = {
            "widget": SecretInput,
            "required": False,
            "help_text": self.help_text or "Stored encrypted and never shown again. Leave blank to keep the stored value.",
        }
        defaults.update(kwargs)
        defaults["widget"] = SecretInput
        return super().formfield(**defaults)


def encrypted_fields() -> list[tuple[type[models.Model], list[EncryptedTextField]]]:
    """Every concrete model with encrypted fields, and those fields."""
    from django.apps import apps

    found = []
    for model in apps.get_models():
        fields = [f for f in model._meta.concrete_fields if isinstance(f, EncryptedTextField)]
        if fields:
            found.append((model, fields))
    return found
