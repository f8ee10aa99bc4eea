"""The dashboard as one self-contained HTML page: inline CSS and SVG, no script, no URL, so it
can be mailed, archived or printed as is."""

from __future__ import annotations

from html import escape

from chatvault import __version__
from chatvault.money import Estimate, usd_rounded
from chatvault.render import svg
from chatvault.reports.dashboard_data import Dashboard, Gauge, Share

__all__ = ["render"]

# Colour-blind-friendly series colours (Tableau 10); "other" is always the neutral grey.
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
OTHER = "#bab0ac"
STATES = {"OK": "#2e7d32", "WARNING": "#e69500", "CRITICAL": "#c62828", "UNKNOWN": "#8a8a8a"}
TOKENS = (
    ("input", "#4e79a7"),
    ("output", "#f28e2b"),
    ("cache_read", "#59a14f"),
    ("cache_write", "#b07aa1"),
)

CSS = """
:root { color-scheme: light; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; color: #1a1a1a; background: #fff; max-width: 60rem; margin: 0 auto; padding: 1.5rem; }
h1 { font-size: 1.6rem; margin: 0 0 .2rem; }
h2 { font-size: 1.1rem; margin: 1.6rem 0 .5rem; border-bottom: 1px solid #ddd; }
.meta, .note, footer { color: #555; }
section, figure, table, .gauge { break-inside: avoid; page-break-inside: avoid; }
figure { margin: 0; }
svg { display: block; width: 100%; height: auto; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(13rem, 1fr)); gap: .8rem; }
.card { border: 1px solid #ccc; border-radius: 6px; padding: .6rem .8rem; }
.card b { display: block; font-size: 1.45rem; }
.card span { color: #555; font-size: .9rem; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: .25rem .5rem; border-bottom: 1px solid #e2e2e2; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.gauge { margin: .6rem 0; }
.state { font-weight: 700; padding: 0 .35rem; border: 2px solid;
  border-radius: 4px; }
.legend { display: flex; flex-wrap: wrap; gap: .3rem 1rem; list-style: none; padding: 0;
  margin: .3rem 0 0; font-size: .9rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem;
  vertical-align: -.1rem; border: 1px solid #0006; }
.alert, li.warning { border-left: 4px solid #c62828; padding-left: .5rem; font-weight: 600; }
ul.insights { padding-left: 1.2rem; }
svg .grid { stroke: #e4e4e4; } svg .axis { stroke: #444; }
svg .tick { font-size: 11px; fill: #444; }
svg .track { fill: #eee; stroke: #bbb; } svg .limit { stroke: #000; stroke-width: 2; }
svg .forecast { fill: none; stroke-width: 2; stroke-dasharray: 5 3; }
footer { margin-top: 2rem; font-size: .85rem; border-top: 1px solid #ddd; padding-top: .5rem; }
@page { margin: 12mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11pt; background: #fff; color: #000; }
  .card, th, td { border-color: #999; }
  * { print-color-adjust: exact; -webkit-print-color-adjust: exact; }
  h2 { break-after: avoid; page-break-after: avoid; }
}
"""


def e(text: object) -> str:
    """Text from the data, safe in HTML content and attributes."""
    return escape(str(text), quote=True)


def percent(fraction: float | None, digits: int = 1) -> str:
    """'12.3%' for 0.123; 'n/a' when unknown."""
    return "n/a" if fraction is None else f"{round(fraction * 100, digits) + 0.0:.{digits}f}%"


def change(fraction: float | None) -> str:
    """'+12.3%' or '-4.0%'; 'n/a' when there is nothing to compare with."""
    if fraction is None:
        return "n/a"
    return f"{round(fraction * 100, 1) + 0.0:+.1f}%"  # + 0.0: no '-0.0%' for a tiny decrease


def interval(money: Estimate) -> str:
    """'$1,234.57 ($1,100.00 to $1,400.00)', or the amount alone when it is exact."""
    if money.lower == money.upper:
        return usd_rounded(money.cents)
    return f"{usd_rounded(money.cents)} ({usd_rounded(money.lower)} to {usd_rounded(money.upper)})"


def series_colours(names: list[str]) -> dict[str, str]:
    """A colour per chart series, in order; "other" always grey."""
    colours, models = {}, [name for name in names if name != "other"]
    for i, name in enumerate(models):
        colours[name] = PALETTE[i % len(PALETTE)]
    if "other" in names:
        colours["other"] = OTHER
    return colours


def likely(money: Estimate) -> str:
    """'likely $1,100.00 to $1,400.00', or nothing when the amount is exact."""
    if money.lower == money.upper:
        return ""
    return f"likely {usd_rounded(money.lower)} to {usd_rounded(money.upper)}"


def card(label: str, value: str, detail: str = "", css: str = "card") -> str:
    """One headline number."""
    extra = f"<span>{detail}</span>" if detail else ""
    return f'<div class="{css}"><span>{label}</span><b>{value}</b>{extra}</div>'


def summary(d: Dashboard) -> str:
    """Spend, change and the month-end forecast."""
    previous = f"previous period {usd_rounded(d.previous_spend_cents)}"
    if d.month_end is not None:
        forecast = card("Month-end forecast", usd_rounded(d.month_end.cents), likely(d.month_end))
    else:
        forecast = card("Month-end forecast", "n/a", e(d.forecast_note or "no forecast"))
    return (
        '<section><div class="cards">'
        + card(
            "Spend" if d.complete else "Spend so far",
            usd_rounded(d.spend_cents),
            f"{d.requests:,} requests",
        )
        + card("Change vs previous period", change(d.change), previous)
        + forecast
        + "</div></section>"
    )


def gauge(g: Gauge) -> str:
    """A budget: name, state in words and colour, the bar, spent of amount and the forecast."""
    colour = STATES.get(g.state, STATES["UNKNOWN"])
    spent = float(g.percent)
    projected = None
    if g.forecast is not None and g.amount_cents > 0:
        projected = float(g.forecast.cents / g.amount_cents * 100)
    label = f"Budget {g.name}: {spent:.1f}% used, state {g.state}"
    forecast = f"; forecast {interval(g.forecast)}" if g.forecast is not None else ""
    return (
        f'<div class="gauge"><div><strong>{e(g.name)}</strong> '
        f'<span class="state" style="border-color:{colour};background:{colour}33">'
        f"{e(g.state)}</span> "
        f'<span class="note">{e(g.period)}</span></div>'
        + svg.gauge(spent, projected, colour, label)
        + f"<div>{usd_rounded(g.spent_cents)} of {usd_rounded(g.amount_cents)} "
        f"({spent:.1f}%){e(forecast)}</div></div>"
    )


def budgets(d: Dashboard) -> str:
    """Every budget's gauge, or a note that there are none."""
    body = "".join(gauge(g) for g in d.budgets) or '<p class="note">No budgets configured.</p>'
    key = '<p class="note">Filled: spent. Dashed: forecast. Black line: the budget (100%).</p>'
    return f"<section><h2>Budgets</h2>{body}{key if d.budgets else ''}</section>"


def daily(d: Dashboard) -> str:
    """The stacked daily cost chart with its legend."""
    colours = series_colours(list(d.daily_by_model))
    series = [(name, cents, colours[name]) for name, cents in d.daily_by_model.items()]
    span = f"{d.first_day.isoformat()} to {d.last_day.isoformat()}"
    label = f"Daily cost by model, {span}: stacked bars, one per day"
    legend = "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>{e(name)}</li>'
        for name, colour in colours.items()
    )
    return (
        "<section><h2>Daily cost by model</h2><figure>"
        + svg.stacked_days(d.days, series, label)
        + f'<ul class="legend">{legend}</ul></figure></section>'
    )


def shares(title: str, rows: list[Share]) -> str:
    """A top-N table: name, requests, cost, share."""
    head = (
        f"<tr><th>{title}</th><th class='num'>Requests</th>"
        "<th class='num'>Cost</th><th class='num'>Share</th></tr>"
    )
    body = "".join(
        f"<tr><td>{e(s.name)}</td><td class='num'>{s.requests:,}</td>"
        f"<td class='num'>{'unpriced' if s.cost_cents is None else usd_rounded(s.cost_cents)}</td>"
        f"<td class='num'>{percent(s.share)}</td></tr>"
        for s in rows
    )
    body = body or "<tr><td colspan='4' class='note'>None in this period.</td></tr>"
    return f"<section><h2>Top {title.lower()}s</h2><table>{head}{body}</table></section>"


def tokens(d: Dashboard) -> str:
    """The token mix: a 100% bar and the numbers."""
    counts = [(name, d.tokens.get(name, 0), colour) for name, colour in TOKENS]
    total = sum(count for _, count, _ in counts)
    rows = "".join(
        f'<tr><td><span class="swatch" style="background:{colour}"></span>{name}</td>'
        f"<td class='num'>{count:,}</td>"
        f"<td class='num'>{percent(count / total if total else None)}</td></tr>"
        for name, count, colour in counts
    )
    bar = svg.proportion([(n, float(c), col) for n, c, col in counts], "Token mix by kind")
    return (
        f"<section><h2>Token mix</h2><figure>{bar}</figure>"
        f"<table><tr><th>Kind</th><th class='num'>Tokens</th><th class='num'>Share</th></tr>"
        f"{rows}</table></section>"
    )


def health(d: Dashboard) -> str:
    """Error rate, p95 latency and unpriced requests (highlighted when there are any)."""
    latency = "n/a" if d.p95_latency_ms is None else f"{d.p95_latency_ms:,.0f} ms"
    unpriced = card("Unpriced requests", f"{d.unpriced_requests:,}")
    if d.unpriced_requests > 0:
        detail = "not counted in the costs above"
        unpriced = card("Unpriced requests", f"{d.unpriced_requests:,}", detail, "card alert")
    return (
        '<section><h2>Reliability</h2><div class="cards">'
        + card("Error rate", percent(d.error_rate, 2))
        + card("p95 latency", latency)
        + unpriced
        + "</div></section>"
    )


def insights(d: Dashboard) -> str:
    """The insights, warnings marked in words as well as in style."""
    items = "".join(
        f'<li class="warning"><strong>Warning:</strong> {e(i.text)}</li>'
        if i.severity == "warning"
        else f"<li>{e(i.text)}</li>"
        for i in d.insights
    )
    body = f'<ul class="insights">{items}</ul>' if items else '<p class="note">Nothing notable.</p>'
    return f"<section><h2>{e(d.insights_title)}</h2>{body}</section>"


def render(dashboard: Dashboard) -> str:
    """The whole page, deterministic: the same dashboard gives the same bytes."""
    d = dashboard
    period = f"{d.first_day.isoformat()} to {d.last_day.isoformat()}"
    previous = f"{d.previous_first_day.isoformat()} to {d.previous_last_day.isoformat()}"
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(d.title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{e(d.title)}</h1><p class='meta'>{period} ({e(d.time_zone)}); "
        f"compared with {previous}</p></header><main>"
        + summary(d)
        + budgets(d)
        + daily(d)
        + shares("Model", d.top_models)
        + shares("User", d.top_users)
        + tokens(d)
        + health(d)
        + insights(d)
        + f"</main><footer>generated by chatvault {e(__version__)}</footer></body></html>\n"
    )
