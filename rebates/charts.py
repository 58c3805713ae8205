"""Charts drawn on the server as SVG: no script, no CDN, no inline style (presentation attributes only),
so they pass the strict Content-Security-Policy. Each chart has a title and a description for screen
readers, and a <title> per bar (its exact value on hover); the table beside it holds the same figures."""
from __future__ import annotations

import math
from decimal import Decimal
from html import escape

from django.utils.safestring import SafeString, mark_safe

SPOT_COLOUR = "#0b6e4f"
FUTURES_COLOUR = "#d97706"
INK = "#1b1f24"
MUTED = "#57606a"
LINE = "#d0d7de"


def _nice_max(value: Decimal) -> Decimal:
    if value <= 0:
        return Decimal(1)
    exp = value.adjusted()
    step = Decimal(10) ** exp
    for m in (1, 2, 2.5, 5, 10):
        top = step * Decimal(str(m))
        if top >= value:
            return top
    return step * 10


def _fmt(value: Decimal) -> str:
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.6f}".rstrip("0").rstrip(".") or "0"


def _svg(width: int, height: int, title: str, desc: str, body: list[str]) -> SafeString:
    head = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
            f'role="img" aria-labelledby="t d" class="chart" preserveAspectRatio="xMinYMin meet">'
            f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>")
    return mark_safe(head + "".join(body) + "</svg>")


# Width of one character of a 10 px axis label, a little more than the widest digit, and the gap between labels.
LABEL_CHAR_W = 6.2
LABEL_GAP = 8


def _label_every(slot: float, labels: list[str]) -> int:
    """Every how many bars an axis label fits without touching the next (at least one label in twelve bars
    would crowd a narrow chart anyway)."""
    widest = max((len(label) for label in labels), default=0) * LABEL_CHAR_W + LABEL_GAP
    return max(1, len(labels) // 12, math.ceil(widest / slot)) if slot > 0 else 1


def stacked_bars(points: list[tuple[str, Decimal, Decimal]], *, title: str, currency: str) -> SafeString:
    """Vertical bars, spot below futures, one per period: points are (label, spot, futures)."""
    width, height, left, bottom, top = 760, 260, 70, 40, 20
    plot_w, plot_h = width - left - 10, height - bottom - top
    peak = _nice_max(max((s + f for _, s, f in points), default=Decimal(0)))
    body = []
    for i in range(5):  # grid and axis labels
        value = peak * i / 4
        y = top + plot_h - float(value / peak) * plot_h
        body.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="{LINE}" stroke-width="1"/>')
        body.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" fill="{MUTED}">{_fmt(value)}</text>')
    n = max(len(points), 1)
    slot = plot_w / n
    bar = max(1.0, slot * 0.7)
    label_every = _label_every(slot, [label for label, _, _ in points])
    for i, (label, spot, futures) in enumerate(points):
        x = left + i * slot + (slot - bar) / 2
        h_spot = float(spot / peak) * plot_h
        h_fut = float(futures / peak) * plot_h
        y_spot = top + plot_h - h_spot
        body.append(f'<rect x="{x:.1f}" y="{y_spot:.1f}" width="{bar:.1f}" height="{h_spot:.1f}" fill="{SPOT_COLOUR}">'
                    f"<title>{escape(label)} spot: {spot} {escape(currency)}</title></rect>")
        body.append(f'<rect x="{x:.1f}" y="{y_spot - h_fut:.1f}" width="{bar:.1f}" height="{h_fut:.1f}" fill="{FUTURES_COLOUR}">'
                    f"<title>{escape(label)} futures: {futures} {escape(currency)}</title></rect>")
        if i % label_every == 0:
            body.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 14}" text-anchor="middle" font-size="10" '
                        f'fill="{MUTED}">{escape(label)}</text>')
    body.append(f'<rect x="{left}" y="{height - 16}" width="10" height="10" fill="{SPOT_COLOUR}"/>'
                f'<text x="{left + 14}" y="{height - 7}" font-size="11" fill="{INK}">Spot</text>'
                f'<rect x="{left + 60}" y="{height - 16}" width="10" height="10" fill="{FUTURES_COLOUR}"/>'
                f'<text x="{left + 74}" y="{height - 7}" font-size="11" fill="{INK}">Futures</text>'
                f'<text x="{width - 10}" y="{height - 7}" font-size="11" text-anchor="end" fill="{MUTED}">{escape(currency)}</text>')
    desc = f"{len(points)} bars; the table below gives every value."
    return _svg(width, height, title, desc, body)


def horizontal_bars(items: list[tuple[str, Decimal, str]], *, title: str, currency: str) -> SafeString:
    """One horizontal bar per item: (label, value, colour)."""
    row_h, left, width = 24, 190, 760
    height = max(1, len(items)) * row_h + 10
    peak = _nice_max(max((v for _, v, _ in items), default=Decimal(0)))
    plot_w = width - left - 110
    body = []
    for i, (label, value, colour) in enumerate(items):
        y = 5 + i * row_h
        w = float(value / peak) * plot_w if peak else 0
        body.append(f'<text x="{left - 8}" y="{y + 15}" text-anchor="end" font-size="12" fill="{INK}">{escape(label[:28])}</text>')
        body.append(f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{colour}">'
                    f"<title>{escape(label)}: {value} {escape(currency)}</title></rect>")
        body.append(f'<text x="{left + w + 6:.1f}" y="{y + 15}" font-size="11" fill="{MUTED}">{_fmt(value)}</text>')
    return _svg(width, height, title, f"{len(items)} bars, in {currency}; the table gives every value.", body)
