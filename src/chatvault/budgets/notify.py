"""Notification channels: deliver a budget alert by webhook, command or e-mail."""

from __future__ import annotations

import contextlib
import json
import os
from typing import TYPE_CHECKING, NamedTuple
from urllib.parse import urlsplit

if TYPE_CHECKING:
    import subprocess
    from email.message import EmailMessage

__all__ = [
    "Alert",
    "Channel",
    "Command",
    "Email",
    "NotifyError",
    "Webhook",
    "describe",
    "email_text",
    "send",
    "webhook_body",
]

# Slack's own palette; Mattermost and Rocket.Chat take any hex colour.
_COLORS = {"CRITICAL": "#e01e5a", "WARNING": "#ecb22e", "OK": "#2eb67d"}
_SECURITIES = ("starttls", "tls", "none")


class Alert(NamedTuple):
    """One message: a budget's thresholds newly crossed in one run."""

    budget: str
    severity: str
    title: str
    lines: tuple[str, ...]
    fields: tuple[tuple[str, str], ...]
    document: dict


class Webhook(NamedTuple):
    """POST a Slack-compatible JSON message to a URL (a secret: only its host is ever shown)."""

    url: str
    timeout_seconds: float = 10.0


class Command(NamedTuple):
    """Run a program (no shell) with the alert's JSON document on its stdin."""

    run: tuple[str, ...]
    timeout_seconds: float = 30.0


class Email(NamedTuple):
    """Send a plain-text e-mail through an SMTP server."""

    host: str
    sender: str
    to: tuple[str, ...]
    port: int = 587
    security: str = "starttls"
    user: str | None = None
    password: str | None = None
    timeout_seconds: float = 10.0
    ca_file: str | None = None


Channel = Webhook | Command | Email


class NotifyError(Exception):
    """A notification was not delivered; the message is one line and never holds a secret."""


def describe(channel: Channel) -> str:
    """A label for output and logs that reveals no secret."""
    if isinstance(channel, Webhook):
        return f"webhook {_webhook_host(channel.url)}"
    if isinstance(channel, Command):
        return f"command {os.path.basename(channel.run[0]) if channel.run else '(empty)'}"
    return f"email to {', '.join(channel.to)} via {channel.host}:{channel.port}"


def send(channel: Channel, alert: Alert) -> None:
    """Deliver the alert through the channel; raise NotifyError on any failure."""
    if isinstance(channel, Webhook):
        _send_webhook(channel, alert)
    elif isinstance(channel, Command):
        _send_command(channel, alert)
    elif isinstance(channel, Email):
        _send_email(channel, alert)
    else:
        raise NotifyError(f"unknown channel type {type(channel).__name__}")


def webhook_body(alert: Alert) -> dict:
    """The JSON a webhook receives."""
    fields = [{"title": _slack(n), "value": _slack(v), "short": True} for n, v in alert.fields]
    attachment = {
        "color": _COLORS.get(alert.severity, "#808080"),
        "title": _slack(alert.title),
        "fields": fields,
        "footer": "chatvault",
    }
    return {"text": _slack("\n".join((alert.title, *alert.lines))), "attachments": [attachment]}


def email_text(alert: Alert) -> str:
    """The body of the e-mail."""
    fields = [f"{name}: {value}" for name, value in alert.fields]
    return "\n".join([*alert.lines, "", *fields, "", "sent by chatvault"]) + "\n"


def _slack(text: str) -> str:
    # Slack reads <...> as links and mentions (<!channel>): names from usage data must not.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _webhook_host(url: str) -> str:
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "(invalid URL)"
    if not host:
        return "(invalid URL)"
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port}" if port else host


def _send_webhook(channel: Webhook, alert: Alert) -> None:
    import http.client
    import urllib.error
    import urllib.request

    from chatvault import __version__

    label = describe(channel)
    if label.endswith("(invalid URL)") or urlsplit(channel.url).scheme not in ("http", "https"):
        raise NotifyError(f"{label}: invalid URL (expected http:// or https://)")

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        # urllib turns a redirected POST into a GET without the body: that is no delivery.
        def redirect_request(self, *args, **kwargs):
            return None

    timeout = float(channel.timeout_seconds)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": f"chatvault/{__version__}",
    }
    body = json.dumps(webhook_body(alert), ensure_ascii=False).encode("utf-8")
    try:
        url, authorization = basic_auth(channel.url)
        if authorization:
            headers["Authorization"] = authorization
        request = urllib.request.Request(url, body, headers, method="POST")
        with urllib.request.build_opener(NoRedirect).open(request, timeout=timeout) as response:
            response.read(65536)
        return
    except urllib.error.HTTPError as exc:
        exc.close()
        # Only the status: an error page may quote the URL, whose path is the secret.
        reason = f"HTTP {exc.code}"
    except urllib.error.URLError as exc:
        reason = _network_reason(exc.reason, timeout)
    except (OSError, ValueError, http.client.HTTPException) as exc:
        reason = _network_reason(exc, timeout)
    raise NotifyError(f"{label}: {reason}") from None


def without_credentials(url: str) -> str:
    """The URL without its `user:password@`."""
    return basic_auth(url)[0]


def basic_auth(url: str) -> tuple[str, str | None]:
    """The URL without its `user:password@`, and the Basic Authorization header they make
    (percent-decoded, as curl reads them); urllib would take them for part of the host."""
    import base64
    from urllib.parse import unquote, urlunsplit

    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, hostport = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    token = base64.b64encode(f"{unquote(user)}:{unquote(password)}".encode()).decode("ascii")
    plain = urlunsplit((parts.scheme, hostport, parts.path, parts.query, parts.fragment))
    return plain, f"Basic {token}"


def _network_reason(exc: object, timeout: float) -> str:
    import http.client
    import socket
    import ssl

    if isinstance(exc, TimeoutError):
        return f"timed out after {timeout:g} s"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host ({exc.strerror})"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"TLS certificate not trusted ({exc.verify_message})"
    if isinstance(exc, ssl.SSLError):
        return f"TLS error ({exc.reason or type(exc).__name__})"
    if isinstance(exc, OSError):
        return f"connection failed ({exc.strerror or type(exc).__name__})"
    if isinstance(exc, ValueError | http.client.InvalidURL):
        return "invalid URL"
    # Other errors (HTTP protocol ones, URLError's string reasons) may quote the URL.
    return f"failed ({type(exc).__name__})" if isinstance(exc, BaseException) else "failed"


def _send_command(channel: Command, alert: Alert) -> None:
    import signal
    import subprocess

    label = describe(channel)
    if not channel.run:
        raise NotifyError(f"{label}: nothing to run")
    timeout = float(channel.timeout_seconds)
    try:
        data = (json.dumps(alert.document, ensure_ascii=False) + "\n").encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise NotifyError(f"{label}: the alert's document is not JSON ({exc})") from None
    try:
        # A session of its own, so a timeout kills the whole tree (a script and its curl).
        process = subprocess.Popen(
            channel.run,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except FileNotFoundError:
        raise NotifyError(f"{label}: program not found") from None
    except OSError as exc:
        raise NotifyError(f"{label}: cannot run ({exc.strerror})") from None
    with process:
        try:
            _, stderr = process.communicate(data, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise NotifyError(f"{label}: timed out after {timeout:g} s") from None
        finally:
            if process.returncode is None:
                _kill_tree(process)
    code = process.returncode
    if code == 0:
        return
    if code > 0:
        status = f"exited with {code}"
    else:
        names = {s.value: s.name for s in signal.Signals}
        status = f"killed by {names.get(-code, f'signal {-code}')}"
    line = _first_line(stderr)
    raise NotifyError(f"{label}: {status}" + (f": {line}" if line else ""))


def _kill_tree(process: subprocess.Popen) -> None:
    import signal

    if hasattr(os, "killpg"):
        with contextlib.suppress(OSError):
            os.killpg(process.pid, signal.SIGKILL)
    process.kill()
    process.wait()


def _first_line(output: bytes) -> str:
    text = output.decode("utf-8", "replace")
    line = next((s.strip() for s in text.splitlines() if s.strip()), "")
    line = "".join(c if c.isprintable() else " " for c in line)
    return line if len(line) <= 200 else line[:199] + "…"


def _send_email(channel: Email, alert: Alert) -> None:
    import smtplib
    import ssl

    label = f"email via {channel.host}:{channel.port}"
    if channel.security not in _SECURITIES:
        raise NotifyError(f"{label}: unknown security {channel.security!r} (starttls, tls, none)")
    if not channel.to:
        raise NotifyError(f"{label}: no recipients")
    try:
        message = _email_message(channel, alert)
    except (TypeError, ValueError) as exc:
        raise NotifyError(f"{label}: cannot build the message ({exc})") from None
    try:
        context = None
        if channel.security != "none":
            context = ssl.create_default_context(cafile=channel.ca_file)
    except (OSError, ValueError) as exc:
        raise NotifyError(f"{label}: cannot read ca_file {channel.ca_file} ({exc})") from None
    timeout = float(channel.timeout_seconds)
    try:
        if channel.security == "tls":
            smtp = smtplib.SMTP_SSL(channel.host, channel.port, timeout=timeout, context=context)
        else:
            smtp = smtplib.SMTP(channel.host, channel.port, timeout=timeout)
        try:
            if channel.security == "starttls":
                smtp.ehlo()
                # Never fall back to plain text: the password and the message would go in clear.
                if not smtp.has_extn("starttls"):
                    raise NotifyError(f"{label}: the server does not offer STARTTLS")
                smtp.starttls(context=context)
            if channel.user:
                smtp.login(channel.user, channel.password or "")
            refused = smtp.send_message(message)
        except BaseException:
            smtp.close()
            raise
    except NotifyError:
        raise
    except (OSError, ValueError) as exc:
        raise NotifyError(f"{label}: {_smtp_reason(exc, timeout)}") from None
    # Delivered: a failed goodbye must not make the caller send it again.
    with contextlib.suppress(OSError):
        smtp.quit()
    smtp.close()
    if refused:
        raise NotifyError(f"{label}: some recipients refused: {', '.join(sorted(refused))}")


def _email_message(channel: Email, alert: Alert) -> EmailMessage:
    from email.message import EmailMessage
    from email.utils import formatdate, make_msgid, parseaddr

    message = EmailMessage()
    message["Subject"] = " ".join(alert.title.split())
    message["From"] = channel.sender
    message["To"] = ", ".join(channel.to)
    message["Date"] = formatdate(localtime=True)
    # An explicit domain: make_msgid() would otherwise look up this host's FQDN, which can hang.
    domain = parseaddr(channel.sender)[1].rpartition("@")[2] or "chatvault.invalid"
    message["Message-ID"] = make_msgid("chatvault", domain=domain)
    message.set_content(email_text(alert))
    return message


def _smtp_reason(exc: Exception, timeout: float) -> str:
    import smtplib

    # Only the SMTP code, never the server's text: a failed AUTH may echo the credentials.
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        return f"authentication failed ({exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = sorted({code for code, _ in exc.recipients.values()})
        return f"all recipients refused ({', '.join(map(str, codes))})"
    if isinstance(exc, smtplib.SMTPResponseException):
        what = {
            smtplib.SMTPSenderRefused: "sender refused",
            smtplib.SMTPDataError: "message refused",
            smtplib.SMTPConnectError: "connection rejected",
            smtplib.SMTPHeloError: "greeting refused",
        }.get(type(exc), "server error")
        return f"{what} ({exc.smtp_code})"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # smtplib reports a silent server as a disconnection: the cause says which it was.
        if isinstance(exc.__context__, TimeoutError):
            return f"timed out after {timeout:g} s"
        return "connection closed by the server"
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return "the server does not support " + ("AUTH" if "AUTH" in str(exc) else "SMTPUTF8")
    if isinstance(exc, smtplib.SMTPException):
        return f"SMTP error ({type(exc).__name__})"
    return _network_reason(exc, timeout)
