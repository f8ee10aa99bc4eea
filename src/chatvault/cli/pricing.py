"""`chatvault pricing`: the prices chatvault uses, and the models it has no price for."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

import typer

from chatvault.cli.common import Where, info, new_app, open_session, settings, with_database
from chatvault.cli.output import FormatOpt, Result, TableOrJson, emit, table

app = new_app("Look up prices, and find models without one.")

COLUMNS = ["provider", "model", "input", "output", "cache read", "cache write", "cache write 1h"]
KINDS = ("input", "output", "cache_read", "cache_write", "cache_write_1h")
UNIT = "USD per million tokens"
AtOpt = Annotated[
    str | None,
    typer.Option(
        "--at", metavar="DATE", help="The prices on this day (YYYY-MM-DD) [default: today]."
    ),
]


@app.command("list")
@with_database
def list_prices(
    ctx: typer.Context,
    search: Annotated[
        str | None, typer.Option("--search", "-s", help="Only models whose name contains this.")
    ] = None,
    at: AtOpt = None,
    format: FormatOpt = TableOrJson.table,
    where: Where = Where(),
) -> None:
    """List model prices in USD per million tokens: your overrides, then genai-prices'."""
    from chatvault.pricing.prices import catalog

    day = _day(at)
    overrides = settings(ctx, where).config.pricing.overrides
    listings = catalog(day, search, overrides)
    if not listings:
        info(f"no model matches {search!r}")
        raise typer.Exit(1)
    rows = [[item.provider, item.model, *_prices(item.rates)] for item in listings]

    def show() -> None:
        table(COLUMNS, rows, keep_whole=("model",))
        info(f"{len(rows)} model(s); USD per million tokens; '+' marks a long-context tier")

    document = {
        "day": str(day),
        "unit": UNIT,
        "models": [
            {
                "provider": item.provider,
                "model": item.model,
                "prices": _kinds(item.rates),
                "usd_per_thousand_requests": _per_request(item.rates),
            }
            for item in listings
        ],
    }
    emit(Result(show, document, "chatvault.prices/1"), format)


@app.command()
@with_database
def show(
    ctx: typer.Context,
    model: Annotated[str, typer.Argument(help="The model name, as requests record it.")],
    provider: Annotated[str | None, typer.Option("--provider", help="The provider.")] = None,
    at: AtOpt = None,
    format: FormatOpt = TableOrJson.table,
    where: Where = Where(),
) -> None:
    """Show the prices a request to MODEL is charged at, and where they come from."""
    from chatvault.pricing.prices import PriceBook

    day = _day(at)
    found = settings(ctx, where)
    book = PriceBook(found.config.pricing.overrides)
    scoped = book.scoped_providers(model)
    periods = book.periods(provider, model, day)
    if _unpriced(periods) and provider is None and scoped:
        provider, scoped = scoped[0], scoped[1:]  # no price for any provider: the first scoped
        periods = book.periods(provider, model, day)
    if _unpriced(periods):
        info(f"no price for {model} on {day}: add it under pricing.overrides in config.yaml")
        raise typer.Exit(1)
    config_file = str(found.config_file)
    rows = [["provider", provider or "any"], ["day", f"{day} (UTC)"]]
    documents = []
    for (start, until), rates in zip(_spans(periods), (p.rates for p in periods), strict=True):
        if len(periods) > 1:
            rows.append(["from", f"{start} to {until} UTC"])
        documents.append({"from": start, "until": until, **_period(rates, config_file)})
        rows += _period_rows(rates, config_file)
    document = {"model": model, "provider": provider, "day": str(day), "unit": UNIT}
    document["periods"] = documents
    emit(Result(lambda: table(["", ""], rows, header=False), document, "chatvault.price/1"), format)
    others = [p for p in scoped if p != provider]
    if others:
        info(f"{model} has its own price for provider(s) {', '.join(others)}: see --provider")


@app.command()
@with_database
def check(
    ctx: typer.Context,
    format: FormatOpt = TableOrJson.table,
    where: Where = Where(),
) -> None:
    """Say how old the price data is, and list the models in the database without a price;
    exit 1 if any still has none."""
    from chatvault.db.queries import estimated_by_price_data, unpriced_models
    from chatvault.pricing.prices import OVERRIDE, price_data

    with open_session(ctx, where) as session:
        models = unpriced_models(session.connection)
        by_data = estimated_by_price_data(session.connection)
        now = session.now
        found = [(m, session.prices.rates(m.provider, m.model, now) is not None) for m in models]
    data = price_data()
    age = None if data.installed is None else (now.date() - data.installed).days
    older = sum(rows for name, rows in by_data if name not in (str(data), OVERRIDE))

    def show() -> None:
        installed = "" if age is None else f", installed {data.installed} ({age:,} days ago)"
        info(
            f"price data: {data}{installed}; a newer genai-prices release brings newer prices "
            "(pip install -U genai-prices, then: chatvault reprice)"
        )
        if older:
            info(
                f"{older:,} estimated cost(s) come from other price data than {data} "
                "(or from before chatvault recorded it): chatvault reprice brings them up to date"
            )
        if not found:
            typer.echo("every request in the database has a cost")
            return
        cells = [
            [m.provider or "", m.model, f"{m.requests:,}", m.first.date(), m.last.date(),
             "yes" if priced else "no"]
            for m, priced in found
        ]  # fmt: skip
        heads = ["provider", "model", "requests", "first", "last", "priced now"]
        table(heads, cells, keep_whole=("model",))

    document = {
        "price_data": {
            "name": data.name,
            "version": data.version,
            "installed": None if data.installed is None else str(data.installed),
            "days_since_installed": age,
        },
        "estimated_by_price_data": [{"price_data": name, "rows": rows} for name, rows in by_data],
        "estimated_from_other_price_data": older,
        "models": [
            {
                "provider": m.provider,
                "model": m.model,
                "requests": m.requests,
                "first": m.first.isoformat(),
                "last": m.last.isoformat(),
                "priced_now": priced,
            }
            for m, priced in found
        ],
    }
    emit(Result(show, document, "chatvault.pricing-check/1"), format)
    if any(not priced for _, priced in found):
        info("add prices under pricing.overrides in config.yaml, then run: chatvault reprice")
        raise typer.Exit(1)


def _day(text: str | None) -> date:
    if text is None:
        return datetime.now(UTC).date()
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter(
            f"{text!r} is not a date (YYYY-MM-DD)", param_hint="--at"
        ) from None


def _tiered_prices(rates: Any) -> list[tuple[str, Any]]:
    return [(n, getattr(rates, n)) for n in KINDS if getattr(rates, n) is not None]


def _prices(rates: Any) -> list[str]:
    cells = []
    for name in KINDS:
        tiered = getattr(rates, name)
        cells.append("" if tiered is None else f"{tiered.base}{'+' if tiered.tiers else ''}")
    return cells


def _billed(rates: Any) -> list[str]:
    """Each kind's price, and whose price it takes when it has none of its own."""
    cells = []
    for name in KINDS:
        tiered, inherited = rates.billed(name)
        text = f"{tiered.base}{'+' if tiered.tiers else ''}"
        cells.append(text if inherited is None else f"{text} (the {inherited} price)")
    return cells


def _unpriced(periods: Any) -> bool:
    return all(period.rates is None for period in periods)


def _spans(periods: Any) -> list[tuple[str, str]]:
    """Each period's start and end, 'HH:MM' UTC (the last ends at '24:00')."""
    starts = [period.start.isoformat("minutes") for period in periods]
    return list(zip(starts, [*starts[1:], "24:00"], strict=True))


def _period(rates: Any, config_file: str) -> dict[str, Any]:
    """A period's prices for JSON (None when the model has no price then)."""
    if rates is None:
        return {"source": None, "config_file": None, "prices": None}
    return {
        "source": rates.source,
        "config_file": config_file if rates.override else None,
        "prices": _kinds(rates),
        "usd_per_thousand_requests": _per_request(rates),
    }


def _period_rows(rates: Any, config_file: str) -> list[list[str]]:
    """A period's prices for people: where they come from, each kind's, the tiers."""
    if rates is None:
        return [["source", "no price"]]
    source = f"{rates.source} ({config_file})" if rates.override else rates.source
    rows = [["source", source]]
    details = dict(zip(_keys(COLUMNS[2:]), _billed(rates), strict=True))
    rows += [[name.replace("_", " "), value] for name, value in details.items()]
    rows += [
        ["tier", f"{name}: {price} above {threshold:,} input tokens"]
        for name, tiered in _tiered_prices(rates)
        for threshold, price in tiered.tiers
    ]
    return rows


def _kinds(rates: Any) -> dict[str, Any]:
    """Each token kind's price for JSON: exact decimal strings (as money is everywhere),
    the kind it is billed as when it has no price of its own, and its long-context tiers."""
    kinds: dict[str, Any] = {}
    for name in KINDS:
        tiered, inherited = rates.billed(name)
        kinds[name] = {
            "usd_per_mtok": str(tiered.base),
            "billed_as": inherited,
            "tiers": [
                {"above_input_tokens": threshold, "usd_per_mtok": str(price)}
                for threshold, price in tiered.tiers
            ],
        }
    return kinds


def _per_request(rates: Any) -> str | None:
    return None if rates.per_thousand_requests is None else str(rates.per_thousand_requests)


def _keys(columns: list[str]) -> list[str]:
    return [c.replace(" ", "_") for c in columns]
