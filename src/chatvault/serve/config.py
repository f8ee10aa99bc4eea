"""The config's `serve:` section (docs/serve.md): bearer tokens with their scopes, and the
address `chatvault serve` binds when the command line does not say. Read with the rest of
the config, so it imports nothing of the server's packages."""

from __future__ import annotations

from typing import NamedTuple

from chatvault.errors import ConfigError

SCOPES = ("read", "send")
SHORTEST = 16  # characters: a token shorter than this is guessable


class ServeToken(NamedTuple):
    """One `serve.tokens` entry: `token: ${GRAFANA_TOKEN}` and `scopes: [read]`."""

    token: str
    scopes: tuple[str, ...]


class ServeConfig(NamedTuple):
    """The config's `serve:` section."""

    host: str | None = None  # default: 127.0.0.1
    port: int | None = None  # default: 8787
    tokens: tuple[ServeToken, ...] = ()


def check_serve(serve: ServeConfig) -> None:
    """Rules beyond types, each naming its key, never quoting a token."""
    if serve.port is not None and not 0 <= serve.port <= 65535:
        raise ConfigError(f"serve.port: must be 0..65535, got {serve.port}")
    if serve.host is not None and not serve.host.strip():
        raise ConfigError("serve.host: empty; leave it out for 127.0.0.1")
    for i, entry in enumerate(serve.tokens):
        where = f"serve.tokens[{i}]"
        if not entry.scopes or not set(entry.scopes) <= set(SCOPES):
            raise ConfigError(f"{where}.scopes: a list of read and/or send")
        if len(entry.token.strip()) < SHORTEST:
            raise ConfigError(
                f"{where}.token: shorter than {SHORTEST} characters (make one with: "
                "python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
