"""schemathesis against /openapi.json: cases generated from the document the server serves,
sent over real HTTP with a token holding both scopes, and never a 5xx. Bounded: a few
examples per operation, so the whole file takes seconds."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from chatvault.db.migrate import migrate
from chatvault.serve import openapi
from chatvault.serve.read import endpoints
from tests.serve.conftest import BOTH, seeded, serving

schema = schemathesis.openapi.from_dict(openapi.document(endpoints()))


@schemathesis.serializer("application/x-protobuf")
def protobuf(_context, value):
    """The generated body (a binary string) sent as it is: arbitrary bytes for the OTLP
    parser, which must answer 400, never 500."""
    return value if isinstance(value, bytes) else str(value).encode()


@pytest.fixture(scope="module")
def one_server(tmp_path_factory):
    """One server with three rows for every operation's cases (a server each would take
    most of the time)."""
    home = tmp_path_factory.mktemp("schemathesis")
    url = f"sqlite:///{home / 'chatvault.db'}"
    migrate(url)
    with pytest.MonkeyPatch.context() as env:  # as tests/conftest.py's `isolated` does
        env.chdir(home)
        env.setenv("XDG_CONFIG_HOME", str(home))
        env.delenv("CHATVAULT_CONFIG", raising=False)
        env.setenv("CHATVAULT_SERVE_READ_TOKENS", BOTH)
        env.setenv("CHATVAULT_SERVE_SEND_TOKENS", BOTH)
        with serving(url) as running:
            yield seeded(running)


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    derandomize=True,  # the same cases on every run: a failure is reproduced, not a flake
    suppress_health_check=list(HealthCheck),
)
def test_no_server_error(case, one_server):
    case.call_and_validate(
        base_url=one_server.url,
        headers={"Authorization": f"Bearer {BOTH}"},
        checks=[not_a_server_error],
        timeout=30,
    )
