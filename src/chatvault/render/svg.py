"""Inline SVG chart primitives for the HTML report: stacked day bars, gauges and a 100% bar.

Coordinates are written with two decimals so the same data always gives the same bytes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from html import escape

from chatvault.money import usd_rounded

MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _n(value: float) -> str:
    """A coordinate, fixed to two decimals (and never '-0.00')."""
    return f"{value + 0.0:.2f}"  # + 0.0 turns -0.0 into 0.0


def _open(width: int, height: int, label: str) -> str:
    """An <svg> that scales to its container, described for screen readers. Inline SVG in
    HTML needs no xmlns, which keeps every URL out of the page."""
    text = escape(label)
    return (
        f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{text}"><title>{text}</title>'
    )


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """Round tick values from 0 to at least `top`: steps of 1, 2 or 5 times a power of ten."""
    if top <= 0 or not math.isfinite(top):
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def tick_label(dollars: float, step: float) -> str:
    """'$1,500' or '$0.005': as many decimals as the step needs."""
    decimals = 0 if step >= 1 else min(-math.floor(math.log10(step)), 8)
    return f"${dollars:,.{decimals}f}"


def day_label(day: date) -> str:
    """'Nov 3', whatever the locale."""
    return f"{MONTHS[day.month - 1]} {day.day}"


def stacked_days(
    days: Sequence[date], series: Sequence[tuple[str, Sequence[Decimal], str]], label: str
) -> str:
    """One column per day, each series (name, cents per day, colour) stacked in order, bottom
    first. Only positive amounts get a rect (class "bar"), so empty days draw nothing."""
    width, height, top_pad, bottom_pad = 760, 260, 10, 24
    totals = [sum((max(s[1][i], Decimal(0)) for s in series), Decimal(0)) for i in range(len(days))]
    ticks = nice_ticks(float(max(totals, default=0)) / 100)
    step = ticks[1] - ticks[0]
    labels = [tick_label(t, step) for t in ticks]
    left = 12 + 6.5 * max(len(text) for text in labels)  # room for the widest tick label
    plot_w, plot_h = width - left - 8, height - top_pad - bottom_pad
    base = top_pad + plot_h
    scale = plot_h / (ticks[-1] * 100)  # pixels per cent
    parts = [_open(width, height, label)]
    for value, text in zip(ticks, labels, strict=True):
        y = _n(base - value * 100 * scale)
        parts.append(
            f'<line class="grid" x1="{_n(left)}" x2="{width - 8}" y1="{y}" y2="{y}"/>'
            f'<text class="tick" x="{_n(left - 4)}" y="{y}" text-anchor="end" '
            f'dominant-baseline="middle">{text}</text>'
        )
    if not any(totals):
        parts.append(
            f'<text class="tick" x="{_n(left + plot_w / 2)}" y="{_n(top_pad + plot_h / 2)}" '
            'text-anchor="middle">no spend on these days</text>'
        )
    slot = plot_w / max(len(days), 1)
    bar_w = min(slot * 0.8, 40.0)  # a single day should not become one wall of colour
    every = max(1, math.ceil(len(days) / 8))  # at most about eight date labels
    for i, day in enumerate(days):
        x = left + i * slot
        cumulative = Decimal(0)
        for name, cents, colour in series:
            amount = max(cents[i], Decimal(0))  # a credit cannot be drawn below the axis
            if amount <= 0:
                continue
            # Both edges come from running totals, so rounding never leaves gaps in a stack.
            y_low = base - float(cumulative) * scale
            cumulative += amount
            y_high = base - float(cumulative) * scale
            parts.append(
                f'<rect class="bar" x="{_n(x + (slot - bar_w) / 2)}" y="{_n(y_high)}" '
                f'width="{_n(bar_w)}" height="{_n(y_low - y_high)}" fill="{colour}">'
                f"<title>{day.isoformat()} {escape(name)}: {usd_rounded(amount)}</title></rect>"
            )
        if i % every == 0:
            parts.append(
                f'<text class="tick" x="{_n(x + slot / 2)}" y="{height - 6}" '
                f'text-anchor="middle">{day_label(day)}</text>'
            )
    parts.append(f'<line class="axis" x1="{_n(left)}" x2="{width - 8}" y1="{base}" y2="{base}"/>')
    return "".join(parts) + "</svg>"


def gauge(percent: float, forecast: float | None, colour: str, label: str) -> str:
    """A budget bar: spent percent filled, forecast percent outlined, a marker at 100%. The
    scale reaches past 100% when needed, up to 200%, so an overrun stays visible."""
    width, height, pad = 600, 28, 2
    reach = min(max(100.0, percent, forecast or 0.0) * 1.05, 200.0)
    px = (width - 2 * pad) / reach

    def at(value: float) -> float:
        return pad + max(0.0, min(value, reach)) * px

    parts = [_open(width, height, label)]
    parts.append(f'<rect class="track" x="{pad}" y="6" width="{width - 2 * pad}" height="16"/>')
    if forecast is not None:
        parts.append(
            f'<rect class="forecast" x="{pad}" y="4" width="{_n(at(forecast) - pad)}" '
            f'height="20" stroke="{colour}"/>'
        )
    parts.append(
        f'<rect class="fill" x="{pad}" y="6" width="{_n(at(percent) - pad)}" height="16" '
        f'fill="{colour}"/>'
    )
    parts.append(
        f'<line class="limit" x1="{_n(at(100))}" x2="{_n(at(100))}" y1="0" y2="{height}"/>'
    )
    return "".join(parts) + "</svg>"


def proportion(parts: Sequence[tuple[str, float, str]], label: str) -> str:
    """A 100% stacked horizontal bar of (name, value, colour); an empty track when all are 0."""
    width, height = 600, 20
    total = sum(max(value, 0.0) for _, value, _ in parts)
    out = [_open(width, height, label), f'<rect class="track" width="{width}" height="{height}"/>']
    x = 0.0
    for name, value, colour in parts:
        if total <= 0 or value <= 0:
            continue
        share = value / total
        out.append(
            f'<rect class="part" x="{_n(x)}" width="{_n(share * width)}" height="{height}" '
            f'fill="{colour}"><title>{escape(name)}: {share * 100:.1f}%</title></rect>'
        )
        x += share * width
    return "".join(out) + "</svg>"
