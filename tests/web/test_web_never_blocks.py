"""The web layer never blocks its event loop: no route's endpoint (or dependency) is a coroutine
doing work, and a page loads while another person's form submit waits on a slow mail server."""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from sqlmodel import select
from starlette.routing import Mount, Route

from core.db import session_scope
from core.settings import get_settings
from dashboard import deps
from dashboard.app import create_app
from models.tables import AuditEvent, Notification, NotificationStatus
from tests.support.mail import Mailbox, free_port
from tests.support.web import PASSWORD, csrf_from, make_user, seed_course

# Coroutine functions allowed to run on the event loop, each with why it never blocks.
ASYNC_DEPENDENCIES: dict[Callable[..., Any], str] = {
    deps.posted_form: "awaits the request body; does nothing else",
    deps.csrf_form: "compares the posted token with the session's in memory (hmac)",
}
ASYNC_FRAMEWORK_ROUTES: dict[str, str] = {
    "/api/openapi.json": "FastAPI's own: builds the schema in memory once, then serves it",
    "/api/docs": "FastAPI's own: returns a fixed HTML page",
    "/docs/oauth2-redirect": "FastAPI's own: returns a fixed HTML page",
}


@contextmanager
def live_server(app: FastAPI) -> Iterator[str]:
    """The app served over HTTP by uvicorn in a thread on 127.0.0.1 (one event loop, as deployed)."""
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(200):  # readiness, not a timing assertion
        if server.started:
            break
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def _async_dependencies(dependant: Dependant) -> Iterator[tuple[str, Callable[..., Any]]]:
    for sub in dependant.dependencies:
        if sub.call is not None and inspect.iscoroutinefunction(sub.call):
            yield getattr(sub.call, "__qualname__", repr(sub.call)), sub.call
        yield from _async_dependencies(sub)


def test_no_route_does_its_work_on_the_event_loop() -> None:
    app = create_app()
    offenders: list[str] = []
    checked = 0
    for route in iter_route_contexts(app.routes):  # included routers too, with their dependencies
        original = route.original_route
        if isinstance(original, APIRoute):
            checked += 1
            if inspect.iscoroutinefunction(route.endpoint):
                offenders.append(f"{sorted(route.methods or ())} {route.path}: async def {original.name}")
            for name, call in _async_dependencies(route.dependant):
                if call not in ASYNC_DEPENDENCIES:
                    offenders.append(f"{route.path}: async dependency {name}")
        elif isinstance(original, Route):
            if inspect.iscoroutinefunction(route.endpoint) and route.path not in ASYNC_FRAMEWORK_ROUTES:
                offenders.append(f"{route.path}: async def {original.name}")
        elif not (isinstance(original, Mount) and original.path == "/static"):
            offenders.append(f"unexpected route {original!r}")
    assert checked >= 30  # every page and API route was looked at
    assert not offenders, "blocking work would run on the event loop:\n" + "\n".join(offenders)


@dataclass
class HeldMailbox(Mailbox):
    """Accepts a message only when released (or after `hold_seconds`): a slow mail server."""

    hold_seconds: float = 10.0  # under Apprise's 15 s SMTP socket timeout
    entered: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.entered.set()
        deadline = time.monotonic() + self.hold_seconds
        while not self.release.is_set() and time.monotonic() < deadline:
            await asyncio.sleep(0.02)  # the SMTP server's own loop (aiosmtpd's thread), not the app's
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def slow_smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[HeldMailbox]:
    mailbox = HeldMailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    monkeypatch.setenv("FORLOEB_SMTP_URL", f"mailto://127.0.0.1:{port}?from=forloeb@localhost")
    get_settings.cache_clear()
    yield mailbox
    mailbox.release.set()
    controller.stop()
    get_settings.cache_clear()


def _failed_notification(course_id: int, recipient: str) -> int:
    row = Notification(
        course_id=course_id,
        purpose="påmindelse",
        recipient=recipient,
        idempotency_key=f"test-{course_id}-slow",
        subject="Påmindelse om møde",
        body_text="Hej",
        status=NotificationStatus.FAILED,
        attempts=3,
        last_error="Connection refused",
    )
    with session_scope() as session:
        session.add(row)
        session.flush()
        return int(row.id)  # type: ignore[arg-type]


def test_a_page_loads_while_a_send_again_waits_on_a_slow_mail_server(slow_smtp: HeldMailbox) -> None:
    course_id = seed_course(751)
    notification_id = _failed_notification(course_id, "leder@kommune.example")
    make_user("kk", "Konsulent K")
    finished: list[tuple[str, int]] = []
    with live_server(create_app()) as base, httpx.Client(base_url=base, timeout=60) as c:
        login = c.post(
            "/login",
            data={"username": "kk", "password": PASSWORD, "csrf_token": csrf_from(c.get("/login").text)},
        )
        assert login.status_code == 303
        token = csrf_from(c.get("/notifikationer", params={"status": "handling"}).text)

        def send_again() -> None:
            with httpx.Client(base_url=base, timeout=60, cookies=c.cookies) as other:
                response = other.post(
                    f"/notifikationer/{notification_id}/send-igen", data={"csrf_token": token}
                )
                finished.append(("send again", response.status_code))

        poster = threading.Thread(target=send_again)
        poster.start()
        # The POST is inside its handler, held by the mail server (Apprise -> SMTP DATA).
        assert slow_smtp.entered.wait(30), "the send never reached the mail server"
        overview = c.get("/oversigt")
        finished.append(("overview", overview.status_code))
        slow_smtp.release.set()
        poster.join(60)
    # Ordering, not timing: the overview was served while the send was still waiting.
    assert finished == [("overview", 200), ("send again", 303)]
    assert len(slow_smtp.to("leder@kommune.example")) == 1
    with session_scope() as session:
        row = session.get(Notification, notification_id)
        assert row is not None and row.status == NotificationStatus.SENT
        audited = [(e.actor, e.action) for e in session.exec(select(AuditEvent))]
    assert ("kk", "notifikation sendt igen") in audited
