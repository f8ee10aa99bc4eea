"""A real HTTP server on 127.0.0.1 that receives webhooks, for the budget alert tests."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Receiver:
    """The webhook bodies received, and the status to answer the next ones with."""

    def __init__(self, port: int) -> None:
        self.url = f"http://127.0.0.1:{port}/services/T0/B0/secret-token"
        self.bodies: list[dict] = []
        self.status = 200
        self.lock = threading.Lock()

    @property
    def texts(self) -> list[str]:
        return [body["text"] for body in self.bodies]


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    receiver = Receiver(server.server_address[1])
    server.receiver = receiver  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        receiver: Receiver = self.server.receiver  # type: ignore[attr-defined]
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with receiver.lock:
            status = receiver.status
            if status == 200:
                receiver.bodies.append(json.loads(body))
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:  # quiet tests
        pass
