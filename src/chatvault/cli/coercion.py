"""Option values converted without pydantic.

Typer converts every option through a pydantic TypeAdapter it builds on first use, even an
option left unset: importing pydantic and building the adapters takes longer than a whole
usage report. chatvault's options are of a few plain kinds (text, whole numbers with bounds,
flags, string enums, lists of text), converted here as Click did; anything else (paths) is
left to Typer, and only when a value is actually given.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any

import typer.core
from typer._click.exceptions import BadParameter
from typer._coercion import RuntimeParam, TypeDescriptor, build_runtime_param
from typer._typing import get_args, get_origin


@dataclass(frozen=True)
class PlainRuntimeParam(RuntimeParam):
    kind: Any
    descriptor: TypeDescriptor

    def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
        kind, info = self.kind, self.parameter_info
        if kind is list:
            return [str(item) for item in value]
        if kind is str or (kind is bool and isinstance(value, bool)):
            return value
        if kind is int:
            return _whole_number(value, info.min, info.max)
        if isinstance(kind, type) and issubclass(kind, Enum):
            return _member(kind, value, info.case_sensitive)
        # Anything else: Typer's own conversion, built only now that a value was given.
        return build_runtime_param(self.descriptor)._coerce_value(value, param=param, ctx=ctx)


def _whole_number(value: Any, low: int | None, high: int | None) -> int:
    try:
        number = value if isinstance(value, int) else int(str(value).strip())
    except ValueError:
        raise BadParameter(f"{value!r} is not a valid integer.") from None
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = " and ".join(
            text
            for text in (low is not None and f"x>={low}", high is not None and f"x<={high}")
            if text
        )
        raise BadParameter(f"{number} is not in the range {bounds}.")
    return number


def _member(kind: type[Enum], value: Any, case_sensitive: bool) -> Enum:
    if isinstance(value, kind):
        return value
    text = str(value)
    for member in kind:
        if member.value == text or (not case_sensitive and member.value.lower() == text.lower()):
            return member
    choices = ", ".join(repr(member.value) for member in kind)
    raise BadParameter(f"{text!r} is not one of {choices}.")


def _plain(descriptor: TypeDescriptor) -> RuntimeParam:
    annotation = descriptor.annotation
    kind = annotation
    if get_origin(annotation) is list and get_args(annotation) == (str,):
        kind = list
    return PlainRuntimeParam(
        parameter_info=descriptor.parameter_info,
        annotation=annotation,
        kind=kind,
        descriptor=descriptor,
    )


typer.core.build_runtime_param = _plain
