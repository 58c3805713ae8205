"""Rules KuCoin applies to what staff type, checked before anything is queued, with messages in words."""
from __future__ import annotations

import ipaddress
import re

from django.core.exceptions import ValidationError

SUB_ACCOUNT_NAME = re.compile(r"^[A-Za-z0-9_.-]{4,32}$")
LABEL_LENGTH = (4, 32)
MAX_WHITELIST = 20


def validate_sub_account_name(full_name: str) -> None:
    if not SUB_ACCOUNT_NAME.match(full_name):
        raise ValidationError(
            f"“{full_name}” is not a valid sub-account name: use 4 to 32 letters, digits, '_', '-' or '.' "
            "(the broker prefix counts too)."
        )


def validate_label(label: str) -> None:
    low, high = LABEL_LENGTH
    if not low <= len(label) <= high:
        raise ValidationError(f"The label must be {low} to {high} characters long (it has {len(label)}).")


def parse_ip_whitelist(text: str) -> list[str]:
    """Addresses separated by commas, spaces or new lines; at most 20, each a valid IPv4 or IPv6 address."""
    addresses = [part for part in re.split(r"[\s,;]+", text.strip()) if part]
    if len(addresses) > MAX_WHITELIST:
        raise ValidationError(f"At most {MAX_WHITELIST} addresses may be whitelisted ({len(addresses)} given).")
    bad = []
    for address in addresses:
        try:
            ipaddress.ip_address(address)
        except ValueError:
            bad.append(address)
    if bad:
        raise ValidationError(f"Not an IP address: {', '.join(bad)}.")
    if len(set(addresses)) != len(addresses):
        raise ValidationError("An address is listed twice.")
    return addresses
