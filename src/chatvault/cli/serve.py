"""`chatvault serve`: the HTTP API, the OpenTelemetry receiver and /metrics (docs/serve.md).
The ASGI stack is an optional extra, imported only here, when the command runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from chatvault.cli.common import Where, info, settings, with_database
from chatvault.errors import InputError


@with_database
def serve(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            show_default=False,
            help="Interface to bind; 0.0.0.0 for every one [default: serve.host, else 127.0.0.1].",
        ),
    ] = None,
    port: Annotated[
        int | None,
        typer.Option(
            "--port",
            min=0,
            max=65535,
            show_default=False,
            help="TCP port [default: serve.port, else 8787].",
        ),
    ] = None,
    workers: Annotated[int, typer.Option("--workers", min=1, max=64, help="Worker processes.")] = 1,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            metavar="FILE",
            dir_okay=False,
            help="Bearer tokens, one '<read|send|read,send> <token>' a line "
            "[also: serve.tokens, $CHATVAULT_SERVE_READ_TOKENS, $CHATVAULT_SERVE_SEND_TOKENS].",
        ),
    ] = None,
    max_body: Annotated[
        int,
        typer.Option("--max-body", metavar="BYTES", min=1024, help="Largest request body."),
    ] = 8 * 1024 * 1024,
    no_auth: Annotated[
        bool, typer.Option("--no-auth", help="Serve without tokens (loopback only).")
    ] = False,
    certfile: Annotated[
        Path | None,
        typer.Option("--ssl-certfile", metavar="FILE", dir_okay=False, help="TLS certificate."),
    ] = None,
    keyfile: Annotated[
        Path | None,
        typer.Option("--ssl-keyfile", metavar="FILE", dir_okay=False, help="TLS private key."),
    ] = None,
    where: Where = Where(),
) -> None:
    """Serve the API, an OpenTelemetry (OTLP/HTTP) receiver and Prometheus metrics."""
    try:
        import uvicorn

        from chatvault.serve.main import OPTIONS_ENV, Options, build, options_json
    except ModuleNotFoundError as exc:
        raise InputError(
            f"the server's packages are not installed ({exc.name})",
            fix="pip install 'chatvault[serve]'",
        ) from None
    import os

    if (certfile is None) != (keyfile is None):
        raise InputError("--ssl-certfile and --ssl-keyfile go together: give both")
    current = settings(ctx, where)
    host = host or current.config.serve.host or "127.0.0.1"
    port = port if port is not None else current.config.serve.port or 8787
    options = Options(
        database=current.database_url,
        config=None if current.config_file is None else str(current.config_file),
        token_file=None if token_file is None else str(token_file),
        max_body=max_body,
        no_auth=no_auth,
        host=host,
    )
    app = build(options)  # refused here, with one line, rather than in every worker
    scheme = "https" if certfile else "http"
    info(f"chatvault serving on {scheme}://{host}:{port} ({workers} worker(s)); Ctrl-C stops")
    tls = {"ssl_certfile": str(certfile), "ssl_keyfile": str(keyfile)} if certfile else {}
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_level="info", server_header=False, **tls)
        return
    os.environ.update({OPTIONS_ENV: options_json(options)})  # read by each worker
    uvicorn.run(
        "chatvault.serve.main:from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="info",
        server_header=False,
        **tls,
    )
