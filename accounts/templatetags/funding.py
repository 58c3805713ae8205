"""Template helpers of the funding pages: a QR code drawn on the server as inline SVG (no script, no
image request, fine under the CSP), and the funding items of a sub-account for its page."""
from __future__ import annotations

import segno
from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe

from accounts import selectors

register = template.Library()


@register.simple_tag
def qr_svg(text: str, label: str = "", scale: int = 4) -> str:
    """The QR code of `text` as an <svg> element; `label` names it for screen readers."""
    if not text:
        return ""
    qr = segno.make(text, error="m")
    title = escape(label or f"QR code of {text}")
    svg = qr.svg_inline(scale=scale, border=2, title=title, svgclass="qr", dark="#000", light="#fff")
    return mark_safe(svg.replace("<svg ", f'<svg role="img" aria-label="{title}" ', 1))


@register.simple_tag
def sub_account_funding(sub_account) -> dict:
    """Deposit addresses (each with its deposits) and payouts, for the sub-account page."""
    return {"addresses": selectors.deposit_addresses_of(sub_account), "payouts": selectors.payouts_of(sub_account)}


# The steps of a withdrawal's record, in words (the stored action stays a stable code).
AUDIT_ACTIONS = {
    "requested": "Requested", "payout": "Payout: transfer first", "approval_refused": "Approval refused (own request)",
    "approved": "Approved", "refused": "Refused", "cancelled": "Cancelled", "sending": "Sending to KuCoin",
    "outcome_unknown": "No answer from KuCoin", "looked_up": "Looked up by remark", "found": "Found at KuCoin",
    "sent": "Accepted by KuCoin", "status": "KuCoin status", "cancel_requested": "Cancel asked",
    "cancel_accepted": "Cancel accepted by KuCoin", "cancel_refused": "Cancel refused by KuCoin", "failed": "Failed",
    "not_sent": "Not sent (nothing reached KuCoin)",
}


@register.filter
def audit_action(action: str) -> str:
    return AUDIT_ACTIONS.get(action, action)
