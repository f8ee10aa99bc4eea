"""Building the application from the command's options: in this process, or in each worker
process uvicorn starts (which gets the options through the environment)."""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.applications import Starlette

OPTIONS_ENV = "CHATVAULT_SERVE_OPTIONS"  # for worker processes: the options, as JSON
LOOPBACK = ("127.0.0.1", "::1", "localhost")


@dataclass(frozen=True)
class Options:
    database: str | None = None
    config: str | None = None
    token_file: str | None = None
    max_body: int = 8 * 1024 * 1024
    no_auth: bool = False
    host: str = "127.0.0.1"


def build(options: Options) -> Starlette:
    """The application; a ConfigError when it would not be safe to serve (no tokens)."""
    from chatvault.config import load_settings
    from chatvault.errors import ConfigError
    from chatvault.serve.app import Server, create_app
    from chatvault.serve.auth import ENV, load_tokens
    from chatvault.serve.received import Received

    settings = load_settings(options.database, Path(options.config) if options.config else None)
    token_file = Path(options.token_file) if options.token_file else None
    tokens = load_tokens(token_file, configured=settings.config.serve.tokens)
    if options.no_auth and options.host not in LOOPBACK:
        raise ConfigError(f"--no-auth serves only on the loopback interface, not {options.host}")
    if tokens.empty and not options.no_auth:
        raise ConfigError(
            f"no tokens: set {ENV['read']} and {ENV['send']}, serve.tokens in the config, "
            "or give --token-file (docs/serve.md); --no-auth serves without them on "
            "127.0.0.1 only"
        )
    server = Server(settings, tokens, Received(), options.max_body, options.no_auth)
    return create_app(server)


def from_environment() -> Starlette:
    """uvicorn's factory in each worker process."""
    return build(Options(**json.loads(os.environ[OPTIONS_ENV])))


def options_json(options: Options) -> str:
    return json.dumps(asdict(options))
