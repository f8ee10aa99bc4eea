"""Query parameters, read as the CLI reads its options: the same names (without the dashes),
the same checks, the same one-line messages (which name the CLI's option)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from chatvault.cli.filters import Filters
from chatvault.errors import InputError

SPAN = ("since", "until")
DIMENSIONS = ("model", "user", "provider", "project", "status")
FILTERS = (*SPAN, *DIMENSIONS, "billable", "tz")
REPEATABLE = frozenset(DIMENSIONS)
TRUE, FALSE = ("true", "1", "yes"), ("false", "0", "no")


@dataclass(frozen=True)
class Param:
    """A query parameter as the OpenAPI document describes it."""

    name: str
    kind: str  # string, integer, number, boolean
    help: str
    repeatable: bool = False
    minimum: float | None = None
    maximum: float | None = None
    choices: Sequence[str] = ()


FILTER_PARAMS = (
    Param("since", "string", "From this time on, inclusive (ISO date or time, 7d, this-month...)"),
    Param("until", "string", "Before this time, exclusive (same forms)"),
    *(Param(d, "string", f"Only these {d} values (* and ? globs)", True) for d in DIMENSIONS),
    Param("billable", "boolean", "Only billable rows"),
    Param("tz", "string", "IANA time zone of dates and day boundaries"),
)


class Query:
    """A request's query parameters; unknown names are refused, so a typo is not ignored."""

    def __init__(self, items: Iterable[tuple[str, str]], allowed: Iterable[Param]):
        self.params = {p.name: p for p in allowed}
        self.values: dict[str, list[str]] = {}
        for key, value in items:
            if key not in self.params:
                known = ", ".join(sorted(self.params)) or "none"
                raise InputError(f"unknown parameter {key!r} (this endpoint takes: {known})")
            self.values.setdefault(key, []).append(value)
        for key, values in self.values.items():
            if len(values) > 1 and not self.params[key].repeatable:
                raise InputError(
                    f"--{key.replace('_', '-')} given {len(values)} times: give it once"
                )

    def text(self, name: str, default: str | None = None) -> str | None:
        values = self.values.get(name)
        return values[-1] if values else default

    def texts(self, name: str) -> list[str] | None:
        return self.values.get(name) or None

    def integer(self, name: str, default: int | None = None) -> int | None:
        raw = self.text(name)
        if raw is None:
            return default
        param = self.params[name]
        option = f"--{name.replace('_', '-')}"
        text = raw.strip()
        if not (text.lstrip("-").isascii() and text.lstrip("-").isdigit()) or len(text) > 12:
            raise InputError(f"{option} {raw!r}: give a whole number")
        value = int(text)
        self._within(option, value, param)
        return value

    def number(self, name: str, default: float) -> float:
        raw = self.text(name)
        if raw is None:
            return default
        option = f"--{name.replace('_', '-')}"
        try:
            value = float(raw)
        except ValueError:
            raise InputError(f"{option} {raw!r}: give a number") from None
        if value != value:  # NaN
            raise InputError(f"{option} {raw!r}: give a number")
        self._within(option, value, self.params[name])
        return value

    def boolean(self, name: str) -> bool:
        raw = self.text(name)
        if raw is None:
            return False
        if raw.strip().lower() in TRUE:
            return True
        if raw.strip().lower() in FALSE:
            return False
        raise InputError(f"--{name.replace('_', '-')} {raw!r}: give true or false")

    def choice(self, name: str, default: str) -> str:
        value = self.text(name, default)
        choices = self.params[name].choices
        if choices and value not in choices:
            option = f"--{name.replace('_', '-')}"
            raise InputError(f"{option} {value!r}: use one of {', '.join(choices)}")
        return value

    def filters(self) -> Filters:
        """The filter parameters, checked as `Filters` checks the CLI's options."""
        given: dict[str, Any] = {}
        for name in FILTERS:
            if name not in self.params:
                continue
            if name in REPEATABLE:
                given[name] = self.texts(name)
            elif name == "billable":
                given[name] = self.boolean(name)
            else:
                given[name] = self.text(name)
        return Filters.checked(**given)

    @staticmethod
    def _within(option: str, value: float, param: Param) -> None:
        low, high = param.minimum, param.maximum
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"{low:g} to {high:g}" if high is not None else f"at least {low:g}"
            raise InputError(f"{option} {value:g}: must be {span}")


def query(items: Mapping[str, Any] | Iterable[tuple[str, str]], *params: Param) -> Query:
    pairs = items.multi_items() if hasattr(items, "multi_items") else items
    return Query(pairs, params)
