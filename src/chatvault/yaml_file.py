"""Reading a YAML file the way chatvault's config needs it: numbers exact, keys once.

What a file's bytes parse to is kept in the cache directory under their digest, so a command
run again with the same config does not import PyYAML (about a tenth of the start-up of
`python -c "import typer, sqlalchemy"`). The entry is tagged JSON that gives back exactly
what the parser gave, Decimal, dates and all; a value it cannot represent is not kept.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from chatvault import cache
from chatvault.errors import ConfigError

# Changes whenever the same bytes would parse to something else (the loader, the tags).
FORMAT = b"chatvault-yaml-1\0"


def read_yaml(path: Path) -> Any:
    """The file's data (None when empty), or one ConfigError naming the file and line."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    key = hashlib.sha256(FORMAT + raw).hexdigest()
    place = cache.folder("config")
    kept = cache.load(place, key) if place else None
    if kept is not None:
        try:
            return _decoded(kept["data"])
        except (KeyError, TypeError, ValueError, InvalidOperation, RecursionError):
            pass  # a damaged entry: parse the file again
    data = _parsed(raw, path)
    if place:
        # RecursionError: lists nested deeper than Python recurses.
        with contextlib.suppress(_NotKept, RecursionError):
            cache.store(place, key, {"data": _encoded(data, set())})
    return data


def _parsed(raw: bytes, path: Path) -> Any:
    import yaml

    try:
        return yaml.load(raw.decode("utf-8"), Loader=_loader())
    except UnicodeDecodeError:
        raise ConfigError(f"config file {path}: not UTF-8 text") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"config file {path}{where}: {problem}") from None


class _NotKept(Exception):
    """A value that the cache's JSON does not give back exactly."""


# Scalars JSON keeps as they are; every other value is a one-key object naming its type.
_PLAIN = (str, int, bool, type(None))


def _encoded(value: Any, seen: set[int]) -> Any:
    """The value as tagged JSON. A list or mapping met twice is a YAML alias: JSON would
    write it out each time (a few lines of aliases can stand for millions of items)."""
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, Decimal):
        return {"decimal": str(value)}
    if isinstance(value, datetime):  # before date: a datetime is a date
        return {"datetime": value.isoformat()}
    if isinstance(value, date):
        return {"date": value.isoformat()}
    if type(value) in (list, dict):
        if id(value) in seen:
            raise _NotKept("alias")
        seen.add(id(value))
    if type(value) is list:
        return [_encoded(item, seen) for item in value]
    if type(value) is dict:
        return {"map": [[_encoded(k, seen), _encoded(v, seen)] for k, v in value.items()]}
    raise _NotKept(type(value).__name__)


def _decoded(value: Any) -> Any:
    if isinstance(value, list):
        return [_decoded(item) for item in value]
    if not isinstance(value, dict):
        return value
    ((tag, content),) = value.items()
    if tag == "map":
        return {_decoded(k): _decoded(v) for k, v in content}
    if tag == "decimal":
        return Decimal(content)
    if tag == "datetime":
        return datetime.fromisoformat(content)
    if tag == "date":
        return date.fromisoformat(content)
    raise ValueError(tag)


@functools.cache
def _loader() -> type:
    import yaml

    # libyaml's parser when PyYAML has it: several times faster than the pure-Python one.
    class DecimalLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
        """A SafeLoader that reads floats as Decimal (no float on the money path) and refuses
        a key given twice (YAML would silently keep the last one)."""

        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
            seen = set()
            for key_node, _ in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        None, None, f"duplicate key {key!r}", key_node.start_mark
                    )
                seen.add(key)
            return super().construct_mapping(node, deep)

    def construct_decimal(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> Decimal:
        text = str(loader.construct_scalar(node)).replace("_", "")
        try:
            value = Decimal(text)
        except InvalidOperation:
            value = Decimal("NaN")
        if not value.is_finite():
            raise yaml.constructor.ConstructorError(
                None, None, f"{text!r} is not a finite number", node.start_mark
            )
        return value

    DecimalLoader.add_constructor("tag:yaml.org,2002:float", construct_decimal)
    return DecimalLoader
