"""Bearer tokens with scopes: `read` (the API, the dashboard, /metrics) and `send` (the OTLP
receiver). Tokens come from the environment, a token file or the config's `serve.tokens`,
never from the command line (where `ps` shows them); they are compared in constant time and
never logged."""

from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass, field
from pathlib import Path

from chatvault.errors import ConfigError
from chatvault.serve.config import SCOPES, SHORTEST, ServeToken

READ, SEND = SCOPES
ENV = {READ: "CHATVAULT_SERVE_READ_TOKENS", SEND: "CHATVAULT_SERVE_SEND_TOKENS"}


def _digest(token: str) -> bytes:
    # Digests have one length: compare_digest then takes the same time whatever was sent.
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).digest()


@dataclass(frozen=True)
class Tokens:
    """The digests of the tokens each scope accepts."""

    scopes: dict[str, tuple[bytes, ...]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(self.scopes.values())

    def granted(self, presented: str) -> set[str]:
        """The scopes a presented token holds: every known token is compared, always."""
        given = _digest(presented)
        found = set()
        for scope, digests in self.scopes.items():
            for digest in digests:
                if hmac.compare_digest(given, digest):
                    found.add(scope)
        return found


def load_tokens(
    token_file: Path | None = None,
    environ: dict[str, str] | None = None,
    configured: tuple[ServeToken, ...] = (),
) -> Tokens:
    """Tokens from $CHATVAULT_SERVE_READ_TOKENS and $CHATVAULT_SERVE_SEND_TOKENS (comma
    separated), from `token_file`: lines of `<scope> <token>`, where scope is read, send or
    read,send; # starts a comment; and from the config (checked when it was read)."""
    env = os.environ if environ is None else environ
    found: dict[str, list[str]] = {scope: [] for scope in SCOPES}
    for entry in configured:
        for scope in entry.scopes:
            found[scope].append(entry.token.strip())
    for scope, name in ENV.items():
        found[scope] += [t.strip() for t in env.get(name, "").split(",") if t.strip()]
    if token_file is not None:
        try:
            lines = token_file.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            raise ConfigError(f"cannot read the token file {token_file}: {exc.strerror}") from None
        for number, line in enumerate(lines, start=1):
            words = line.split("#", 1)[0].split()
            if not words:
                continue
            scopes = words[0].split(",")
            if len(words) != 2 or not set(scopes) <= set(SCOPES):
                raise ConfigError(
                    f"{token_file}:{number}: write '<scope> <token>' with scope read, send "
                    "or read,send"
                )
            for scope in scopes:
                found[scope].append(words[1])
    for scope, tokens in found.items():
        if any(len(t) < SHORTEST for t in tokens):
            raise ConfigError(
                f"a {scope} token is shorter than {SHORTEST} characters "
                "(make one with: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            )
    return Tokens({scope: tuple(map(_digest, tokens)) for scope, tokens in found.items()})


def bearer(header: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header."""
    if not header:
        return None
    kind, _, token = header.strip().partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
