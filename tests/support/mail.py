"""Real parts for notification tests: an SMTP server (aiosmtpd) and an HTTP server for Apprise
`json://` webhooks, each on 127.0.0.1 and a free port."""

from __future__ import annotations

import email
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Received:
    envelope_to: list[str]
    message: Message

    @property
    def subject(self) -> str:
        from email.header import decode_header, make_header

        return str(make_header(decode_header(self.message["Subject"])))

    def parts(self, content_type: str) -> list[str]:
        found = []
        for part in self.message.walk():
            if part.get_content_type() == content_type:
                payload = part.get_payload(decode=True)
                assert isinstance(payload, bytes)
                found.append(payload.decode(part.get_content_charset() or "utf-8"))
        return found


@dataclass
class Mailbox:
    received: list[Received] = field(default_factory=list)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append(
            Received(list(envelope.rcpt_tos), email.message_from_bytes(envelope.original_content))
        )
        return "250 OK"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if address in r.envelope_to]


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.mailbox = Mailbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.mailbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """A running SMTP server; FORLOEB_SMTP_URL points at it; sends retry fast."""
    from core.settings import get_settings

    server = SmtpServer(free_port())
    server.start()
    monkeypatch.setenv("FORLOEB_SMTP_URL", f"mailto://127.0.0.1:{server.port}?from=forloeb@localhost")
    monkeypatch.setenv("FORLOEB_SEND_BACKOFF_SECONDS", "0.01")
    monkeypatch.setenv("FORLOEB_CONSULTANT_EMAIL", "konsulent@styrelsen.example")
    get_settings.cache_clear()
    yield server
    server.stop()
    get_settings.cache_clear()


class _Hook(BaseHTTPRequestHandler):
    posts: list[dict[str, Any]]

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.server.posts.append(json.loads(self.rfile.read(length)))  # type: ignore[attr-defined]
        self.send_response(200)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    """A local HTTP server; FORLOEB_NOTIFY_URLS = one Apprise json:// URL pointing at it."""
    from core.settings import get_settings

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), _Hook)
    server.posts = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("FORLOEB_NOTIFY_URLS", json.dumps([f"json://127.0.0.1:{server.server_port}/hook"]))
    get_settings.cache_clear()
    yield server.posts  # type: ignore[attr-defined]
    server.shutdown()
    get_settings.cache_clear()
