"""Notification channels against real local servers: webhook, command, SMTP with and without TLS."""

from __future__ import annotations

import base64
import email
import email.policy
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from chatvault import __version__
from chatvault.budgets.notify import (
    Alert,
    Command,
    Email,
    NotifyError,
    Webhook,
    describe,
    email_text,
    send,
)

SECRET_PATH = "/services/T000/B000/XXXXSECRET"
PASSWORD = "hunter2-s3cret"
PYTHON = os.path.basename(sys.executable)
ALERT = Alert(
    budget="team-a",
    severity="WARNING",
    title="BUDGET WARNING - team-a 83% of $500.00",
    lines=("crossed 80% ($400.00) of the monthly budget", "top model: gpt-4o (€ shown as-is)"),
    fields=(
        ("Spent", "$415.00"),
        ("Budget", "$500.00"),
        ("Period", "2026-11-01 to 2026-11-30 (Europe/Paris)"),
        ("Forecast", "$540.00 (80%: $505.00-$575.00)"),
    ),
    document={"budget": "team-a", "severity": "WARNING", "spent": "415.00", "note": "€"},
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- webhook ---------------------------------------------------------------------------------


@pytest.fixture
def http_server() -> Iterator[Callable[..., tuple[str, list[dict]]]]:
    """Start a server answering every POST with `status` after `delay` s; collect the requests."""
    servers, release = [], threading.Event()

    def start(status: int = 200, delay: float = 0, headers: dict | None = None):
        received: list[dict] = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append({"path": self.path, "headers": self.headers, "body": body})
                release.wait(delay)
                # An error page quoting the path, as many servers do: it must not be shown.
                page = f"<h1>{status}</h1> cannot POST {self.path}".encode()
                self.send_response(status)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            do_GET = do_POST

            def log_message(self, *args):
                pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}", received

    yield start
    release.set()
    for server in servers:
        server.shutdown()
        server.server_close()


def test_webhook_posts_slack_compatible_json(http_server):
    base, received = http_server()
    send(Webhook(base + SECRET_PATH), ALERT)
    [request] = received
    assert request["path"] == SECRET_PATH
    assert request["headers"]["Content-Type"] == "application/json; charset=utf-8"
    assert request["headers"]["User-Agent"] == f"chatvault/{__version__}"
    assert json.loads(request["body"].decode("utf-8")) == {
        "text": "BUDGET WARNING - team-a 83% of $500.00\n"
        "crossed 80% ($400.00) of the monthly budget\ntop model: gpt-4o (€ shown as-is)",
        "attachments": [
            {
                "color": "#ecb22e",
                "title": ALERT.title,
                "fields": [{"title": n, "value": v, "short": True} for n, v in ALERT.fields],
                "footer": "chatvault",
            }
        ],
    }


def test_webhook_colour_by_severity_and_slack_escaping(http_server):
    base, received = http_server()
    critical = Alert("x", "CRITICAL", "R&D <!channel>", (), (("User", "<@U123>"),), {})
    send(Webhook(base + "/hook"), critical)
    body = json.loads(received[0]["body"])
    assert body["text"] == "R&amp;D &lt;!channel&gt;"
    assert body["attachments"][0]["color"] == "#e01e5a"
    assert body["attachments"][0]["fields"][0]["value"] == "&lt;@U123&gt;"


def test_webhook_http_500_names_the_status_never_the_url(http_server):
    base, received = http_server(status=500)
    channel = Webhook(base + SECRET_PATH + "?token=XXXXSECRET")
    with pytest.raises(NotifyError) as caught:
        send(channel, ALERT)
    port = base.rsplit(":", 1)[1]
    assert str(caught.value) == f"webhook 127.0.0.1:{port}: HTTP 500"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert describe(channel) == f"webhook 127.0.0.1:{port}"
    assert len(received) == 1


def test_webhook_redirect_is_a_failure_not_a_get(http_server):
    base, received = http_server(status=302, headers={"Location": "/elsewhere"})
    with pytest.raises(NotifyError, match=r": HTTP 302$"):
        send(Webhook(base + SECRET_PATH), ALERT)
    assert [r["path"] for r in received] == [SECRET_PATH]


def test_webhook_times_out(http_server):
    base, _ = http_server(delay=10)
    started = time.monotonic()
    with pytest.raises(NotifyError, match=r"^webhook 127\.0\.0\.1:\d+: timed out after 0\.5 s$"):
        send(Webhook(base + SECRET_PATH, timeout_seconds=0.5), ALERT)
    assert time.monotonic() - started < 3


def test_webhook_connection_refused():
    port = free_port()
    with pytest.raises(NotifyError) as caught:
        send(Webhook(f"http://127.0.0.1:{port}{SECRET_PATH}"), ALERT)
    assert str(caught.value) == f"webhook 127.0.0.1:{port}: connection refused"


def test_webhook_dns_failure(monkeypatch):
    def fail(*args, **kwargs):
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", fail)
    with pytest.raises(NotifyError) as caught:
        send(Webhook("https://hooks.example.invalid" + SECRET_PATH), ALERT)
    assert str(caught.value) == (
        "webhook hooks.example.invalid: cannot resolve the host (Name or service not known)"
    )


@pytest.mark.parametrize(
    "url",
    [
        "ftp://hooks.slack.com" + SECRET_PATH,
        "hooks.slack.com" + SECRET_PATH,
        "https://hooks.slack.com:99999" + SECRET_PATH,
        "https:///XXXXSECRET",
        "http://[::1/XXXXSECRET",
    ],
)
def test_webhook_invalid_url_is_refused_without_quoting_it(url):
    with pytest.raises(NotifyError, match="invalid URL") as caught:
        send(Webhook(url), ALERT)
    assert "XXXXSECRET" not in str(caught.value)
    assert "XXXXSECRET" not in describe(Webhook(url))


def test_webhook_user_and_password_in_the_url_are_sent_as_basic_auth(http_server):
    base, received = http_server()
    host = base.removeprefix("http://")
    # Percent-encoded as in any URL (curl's rule): "p@ss:w/rd" and "ops team".
    send(Webhook(f"http://ops%20team:p%40ss%3Aw%2Frd@{host}{SECRET_PATH}"), ALERT)
    [request] = received
    assert request["path"] == SECRET_PATH
    expected = base64.b64encode(b"ops team:p@ss:w/rd").decode()
    assert request["headers"]["Authorization"] == f"Basic {expected}"
    assert request["headers"]["Host"] == host  # the credentials are not part of the host


def test_webhook_basic_auth_refused_names_the_host_only(http_server):
    base, _ = http_server(status=401)
    host = base.removeprefix("http://")
    with pytest.raises(NotifyError) as caught:
        send(Webhook(f"http://bot:{PASSWORD}@{host}{SECRET_PATH}"), ALERT)
    assert str(caught.value) == f"webhook {host}: HTTP 401"


def test_webhook_describe_shows_only_the_host():
    url = "https://bot:XXXXSECRET@hooks.slack.com/services/T0/B0/XXXXSECRET?token=XXXXSECRET"
    assert describe(Webhook(url)) == "webhook hooks.slack.com"
    assert describe(Webhook("http://[::1]:8080" + SECRET_PATH)) == "webhook [::1]:8080"


# --- command ---------------------------------------------------------------------------------


def python(code: str, *args: str, timeout: float = 30.0) -> Command:
    return Command((sys.executable, "-c", code, *args), timeout_seconds=timeout)


def test_command_gets_the_document_on_stdin(tmp_path):
    out = tmp_path / "stdin.json"
    code = "import sys, pathlib; pathlib.Path(sys.argv[1]).write_bytes(sys.stdin.buffer.read())"
    send(python(code, str(out)), ALERT)
    assert out.read_bytes() == (json.dumps(ALERT.document, ensure_ascii=False) + "\n").encode()
    assert json.loads(out.read_text(encoding="utf-8")) == ALERT.document


def test_command_environment_is_inherited(tmp_path, monkeypatch):
    monkeypatch.setenv("CHATVAULT_TEST_TEAM", "ai-platform")
    out = tmp_path / "env"
    code = "import os, sys; open(sys.argv[1], 'w').write(os.environ['CHATVAULT_TEST_TEAM'])"
    send(python(code, str(out)), ALERT)
    assert out.read_text() == "ai-platform"


def test_command_exit_code_and_first_stderr_line():
    code = "import sys; sys.stderr.write('\\n  no such team  \\nsecond line\\n'); sys.exit(3)"
    with pytest.raises(NotifyError) as caught:
        send(python(code), ALERT)
    assert str(caught.value) == f"command {PYTHON}: exited with 3: no such team"


def test_command_odd_stderr_is_one_short_line():
    code = "import sys; sys.stderr.buffer.write(b'\\xff\\x1b[31m' + b'x' * 5000); sys.exit(1)"
    with pytest.raises(NotifyError) as caught:
        send(python(code), ALERT)
    message = str(caught.value)
    assert message.startswith(f"command {PYTHON}: exited with 1: \ufffd [31mxxx")
    assert "\n" not in message and "\x1b" not in message and message.endswith("…")
    assert len(message) < 260


def test_command_killed_by_a_signal():
    with pytest.raises(NotifyError, match=r"killed by SIGKILL$"):
        send(python("import os, signal; os.kill(os.getpid(), signal.SIGKILL)"), ALERT)


def test_command_that_ignores_stdin_succeeds():
    big = Alert("b", "OK", "t", (), (), {"padding": "x" * 1_000_000})
    send(python("pass"), big)


def test_command_timeout_kills_the_whole_tree(tmp_path):
    pid_file = tmp_path / "pid"
    code = (
        "import subprocess, sys, time; "
        "p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); "
        "open(sys.argv[1], 'w').write(str(p.pid)); time.sleep(60)"
    )
    started = time.monotonic()
    with pytest.raises(NotifyError) as caught:
        send(python(code, str(pid_file), timeout=1), ALERT)
    assert str(caught.value) == f"command {PYTHON}: timed out after 1 s"
    assert time.monotonic() - started < 4
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 3
    while alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(grandchild)


def alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"  # a zombie is dead, waiting to be reaped


def test_command_missing_program():
    channel = Command(("/nonexistent/page-oncall", "--team", "a"))
    with pytest.raises(NotifyError) as caught:
        send(channel, ALERT)
    assert str(caught.value) == "command page-oncall: program not found"
    assert describe(channel) == "command page-oncall"


def test_command_not_executable(tmp_path):
    script = tmp_path / "page-oncall"
    script.write_text("#!/bin/sh\n")
    with pytest.raises(NotifyError, match=r"^command page-oncall: cannot run \(Permission denied"):
        send(Command((str(script),)), ALERT)


# --- email -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-days", "1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture
def server_tls(certificate) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    return context


class Inbox:
    """An aiosmtpd handler keeping what it receives."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 OK"

    def message(self):
        [envelope] = self.envelopes
        return envelope, email.message_from_bytes(envelope.content, policy=email.policy.default)


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b"chatvault" and auth_data.password == PASSWORD.encode()
    return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd answers 535


@pytest.fixture
def smtp_server() -> Iterator[Callable[..., tuple[int, Inbox]]]:
    """Start an aiosmtpd server on 127.0.0.1 with the given SMTP options."""
    controllers = []

    def start(**options):
        inbox, port = Inbox(), free_port()
        controller = Controller(
            inbox, hostname="127.0.0.1", port=port, server_hostname="localhost", **options
        )
        controller.start()
        controllers.append(controller)
        return port, inbox

    yield start
    for controller in controllers:
        controller.stop()


def mail(port: int, **options) -> Email:
    return Email(
        **{
            "host": "127.0.0.1",
            "port": port,
            "sender": "chatvault@example.com",
            "to": ("ops@example.com", "finance@example.com"),
            "timeout_seconds": 5,
        }
        | options
    )


def test_email_plain_delivery(smtp_server):
    port, inbox = smtp_server()
    send(mail(port, security="none"), ALERT)
    envelope, message = inbox.message()
    assert envelope.mail_from == "chatvault@example.com"
    assert envelope.rcpt_tos == ["ops@example.com", "finance@example.com"]
    assert message["Subject"] == ALERT.title
    assert message["From"] == "chatvault@example.com"
    assert message["To"] == "ops@example.com, finance@example.com"
    assert message["Date"] and message["Message-ID"].endswith("@example.com>")
    assert message.get_content_type() == "text/plain"
    body = message.get_content().replace("\r\n", "\n")
    assert body == email_text(ALERT)
    assert body == (
        "crossed 80% ($400.00) of the monthly budget\n"
        "top model: gpt-4o (€ shown as-is)\n"
        "\n"
        "Spent: $415.00\n"
        "Budget: $500.00\n"
        "Period: 2026-11-01 to 2026-11-30 (Europe/Paris)\n"
        "Forecast: $540.00 (80%: $505.00-$575.00)\n"
        "\n"
        "sent by chatvault\n"
    )


def test_email_starttls_with_login(smtp_server, server_tls, certificate):
    port, inbox = smtp_server(
        tls_context=server_tls,
        require_starttls=True,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=True,
    )
    channel = mail(port, user="chatvault", password=PASSWORD, ca_file=str(certificate[0]))
    send(channel, ALERT)
    assert inbox.message()[1]["Subject"] == ALERT.title
    assert describe(channel) == (
        f"email to ops@example.com, finance@example.com via 127.0.0.1:{port}"
    )


def test_email_wrong_password_is_not_echoed(smtp_server, server_tls, certificate):
    port, inbox = smtp_server(tls_context=server_tls, authenticator=authenticate)
    wrong = "wrong-" + PASSWORD
    channel = mail(port, user="chatvault", password=wrong, ca_file=str(certificate[0]))
    with pytest.raises(NotifyError) as caught:
        send(channel, ALERT)
    assert str(caught.value) == f"email via 127.0.0.1:{port}: authentication failed (535)"
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert PASSWORD not in describe(channel)
    assert inbox.envelopes == []


def test_email_starttls_never_falls_back_to_plain_text(smtp_server):
    port, inbox = smtp_server(authenticator=authenticate, auth_require_tls=False)
    with pytest.raises(NotifyError) as caught:
        send(mail(port, user="chatvault", password=PASSWORD), ALERT)
    assert str(caught.value) == f"email via 127.0.0.1:{port}: the server does not offer STARTTLS"
    assert inbox.envelopes == []


def test_email_certificate_is_verified_by_default(smtp_server, server_tls):
    port, inbox = smtp_server(tls_context=server_tls)
    with pytest.raises(NotifyError, match=r": TLS certificate not trusted \(self.signed"):
        send(mail(port), ALERT)
    assert inbox.envelopes == []


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_email_implicit_tls(smtp_server, server_tls, certificate):
    # aiosmtpd only counts STARTTLS as TLS for AUTH: implicit TLS must waive the check.
    port, inbox = smtp_server(
        ssl_context=server_tls,
        authenticator=authenticate,
        auth_required=True,
        auth_require_tls=False,
    )
    channel = mail(
        port, security="tls", user="chatvault", password=PASSWORD, ca_file=str(certificate[0])
    )
    send(channel, ALERT)
    assert inbox.message()[0].rcpt_tos == ["ops@example.com", "finance@example.com"]


def test_email_connection_refused():
    port = free_port()
    with pytest.raises(NotifyError) as caught:
        send(mail(port, security="tls"), ALERT)
    assert str(caught.value) == f"email via 127.0.0.1:{port}: connection refused"


def test_email_silent_server_times_out():
    with socket.socket() as listener:  # accepts connections (backlog) but never greets
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(NotifyError) as caught:
            send(mail(port, timeout_seconds=0.5), ALERT)
    assert str(caught.value) == f"email via 127.0.0.1:{port}: timed out after 0.5 s"
    assert time.monotonic() - started < 3


def test_email_bad_settings():
    with pytest.raises(NotifyError, match=r"unknown security 'ssl'"):
        send(mail(1, security="ssl"), ALERT)
    with pytest.raises(NotifyError, match=r"no recipients"):
        send(mail(1, to=()), ALERT)
    with pytest.raises(NotifyError, match=r"cannot read ca_file /nonexistent.pem"):
        send(mail(1, ca_file="/nonexistent.pem"), ALERT)


def test_a_new_webhook_password_is_the_same_channel():
    """Rotating a webhook's Basic-auth password must not re-send this period's alerts."""
    from chatvault.budgets.alerting import channel_key

    old, new = (Webhook(f"https://bot:{pw}@hooks.example.com/x") for pw in ("old", "new"))
    assert (
        channel_key(old) == channel_key(new) == channel_key(Webhook("https://hooks.example.com/x"))
    )
    assert channel_key(Webhook("https://hooks.example.com/y")) != channel_key(new)
