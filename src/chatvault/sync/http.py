"""The HTTP client of a provider's admin API: GET a JSON page, with a timeout, retries with
backoff on 429 and 5xx (honouring Retry-After), and one clear line for everything else.

Numbers in a page are read as Decimal (never float): a cost stays exactly as sent. The admin
key goes in a header only; no message, error or log line ever holds it.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from email.utils import parsedate_to_datetime
from typing import Any

from chatvault.errors import ChatvaultError
from chatvault.redact import redact

MAX_WAIT = 60.0  # seconds: the longest chatvault waits before one retry, whatever is asked


class SyncError(ChatvaultError):
    exit_code = 1


class KeyRejected(SyncError):
    exit_code = 2


Params = Mapping[str, str | int | Sequence[str] | None]


@dataclass
class Client:
    """One provider's API at `base_url`, with the headers that carry its key."""

    provider: str  # 'openai' or 'anthropic', for messages
    base_url: str
    headers: Mapping[str, str] = field(repr=False)
    timeout: float = 30.0
    retries: int = 5
    backoff: float = 1.0  # seconds before the first retry without Retry-After; doubled each time
    sleep: Callable[[float], None] = time.sleep
    key_hint: str = ""  # where the key comes from, for the 401/403 line
    requests: int = 0  # made so far (a retry counts), for the summary

    def get(self, path: str, params: Params) -> dict[str, Any]:
        """The JSON object at `path`; SyncError once retries are spent or on any other error."""
        url = f"{self.base_url.rstrip('/')}{path}?{_query(params)}"
        for attempt in range(self.retries + 1):
            self.requests += 1
            request = urllib.request.Request(
                url, headers={**self.headers, "Accept": "application/json"}
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    body = response.read()
            except urllib.error.HTTPError as exc:
                status = exc.code
                retry_after = exc.headers.get("Retry-After")
                detail = self._scrub(_error_detail(exc))
                if status in (401, 403):
                    raise KeyRejected(
                        f"{self.provider} refused the admin key (HTTP {status}{detail}): a wrong "
                        "key, or not an admin key",
                        fix=self.key_hint or None,
                    ) from None
                if (status != 429 and status < 500) or attempt == self.retries:
                    raise SyncError(
                        f"{self.provider} answered HTTP {status} for {path}{detail}"
                        + (f" after {attempt + 1} tries" if attempt else "")
                    ) from None
                self.sleep(self._wait(attempt, retry_after))
                continue
            except (TimeoutError, urllib.error.URLError, ConnectionError) as exc:
                if attempt == self.retries:
                    reason = getattr(exc, "reason", exc) or type(exc).__name__
                    raise SyncError(
                        f"{self.provider}: no answer from {_origin(self.base_url)}{path} after "
                        f"{attempt + 1} tries ({redact(str(reason))}; timeout {self.timeout:g} s)"
                    ) from None
                self.sleep(self._wait(attempt, None))
                continue
            return _page(self.provider, path, body)
        raise AssertionError("unreachable")

    def _scrub(self, text: str) -> str:
        """The text without the key, should a server echo it back."""
        for value in self.headers.values():
            secret = value.removeprefix("Bearer ")
            if len(secret) >= 8:
                text = text.replace(secret, "***")
        return text

    def _wait(self, attempt: int, retry_after: str | None) -> float:
        asked = _retry_after(retry_after)
        if asked is not None:
            return min(asked, MAX_WAIT)
        return min(self.backoff * 2**attempt, MAX_WAIT)


def _query(params: Params) -> str:
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, (list, tuple)):
            pairs.extend((key, str(item)) for item in value)
        else:
            pairs.append((key, str(value)))
    return urllib.parse.urlencode(pairs)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds: a number of seconds, or an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _error_detail(exc: urllib.error.HTTPError) -> str:
    """': <the API's error message>', when the body is the usual {"error": {"message"}}."""
    try:
        body = json.loads(exc.read(4096) or b"{}")
        message = body.get("error", {}).get("message")
    except (ValueError, AttributeError, OSError):
        return ""
    return f": {redact(' '.join(str(message).split()))[:200]}" if message else ""


def _page(provider: str, path: str, body: bytes) -> dict[str, Any]:
    try:
        page = json.loads(body, parse_float=Decimal)
    except ValueError:
        raise SyncError(f"{provider} sent a malformed page for {path}: not JSON") from None
    if not isinstance(page, dict) or not isinstance(page.get("data"), list):
        raise SyncError(f"{provider} sent a malformed page for {path}: no 'data' list")
    if not isinstance(page.get("has_more", False), bool):
        raise SyncError(f"{provider} sent a malformed page for {path}: 'has_more' is not a boolean")
    if page.get("has_more") and not isinstance(page.get("next_page"), str):
        raise SyncError(f"{provider} sent a malformed page for {path}: has_more without next_page")
    return page


def _origin(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}" + (f":{parts.port}" if parts.port else "")
