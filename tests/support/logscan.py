"""Capture every log line of a drive at DEBUG and scan it for personal data and secrets (issue 14).

`scanned_logs` sets the secrets a real installation has (an SMTP password on an authenticating
SMTP server on the loopback, the secret key), turns every logger to DEBUG (root, prefect, httpx,
apprise, uvicorn; SQLAlchemy is left to the code, which keeps its statement log off), collects each
record as a handler would write it, and afterwards adds what the Prefect server recorded for the
course and application flow runs of the test's database. It fails the test with the offending
lines when one holds an e-mail address, a CPR number, or a secret in use: the SMTP password, the
secret key, a dashboard session cookie and an API token used while capturing, and every link token
the drive made (from the outbox's mails and the evaluation links).
"""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from core import redact
from core.cpr import contains_cpr
from core.db import session_scope
from core.settings import get_settings
from tests.support.mail import Mailbox, free_port

EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
LINK_TOKEN = re.compile(r"/(?:k|a|evaluering|netvaerk)/([A-Za-z0-9._-]{16,})")
LOGGERS = ("", "prefect", "httpx", "apprise", "uvicorn", "forloeb", "services", "flows", "tasks")


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("mail.log"):  # the test's own SMTP server (aiosmtpd) logs DATA
            self.lines.append(self.format(record))


@dataclass
class LogScan:
    password: str
    key: str
    web_secrets: list[str] = field(default_factory=list)
    """A dashboard session cookie and an API token used during the capture."""
    lines: list[str] = field(default_factory=list)

    def secrets_in_use(self) -> list[str]:
        found = [self.password, self.key, *self.web_secrets]
        from sqlmodel import select

        from models.tables import EvaluationInvite, Notification

        with session_scope() as session:
            for mail in session.exec(select(Notification)):
                found += LINK_TOKEN.findall(f"{mail.body_text} {mail.body_html}")
            found += [t for t in session.exec(select(EvaluationInvite.token))]
        return sorted(set(found))

    def problems(self) -> list[str]:
        secrets_used = self.secrets_in_use()
        bad = []
        for line in self.lines:
            cpr = contains_cpr(redact.IDS.sub("", line))  # not ten digits inside a run id or a hash
            why = [name for name, hit in (("e-mail", EMAIL.search(line)), ("CPR", cpr)) if hit]
            why += ["secret" for s in secrets_used if s in line][:1]
            if why:
                bad.append(f"{'/'.join(why)}: {line[:300]}")
        return bad


def _prefect_lines() -> list[str]:
    """What the Prefect server recorded for this test's course and application runs (the runs'
    loggers send their lines there)."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker
    from sqlmodel import select

    from models.tables import Application, Course

    APILogWorker.drain_all(timeout=10)
    with session_scope() as session:
        flow_runs = [r for r in session.exec(select(Course.flow_run_id)) if r]
        flow_runs += [r for r in session.exec(select(Application.flow_run_id)) if r]
    if not flow_runs:
        return []
    with get_client(sync_client=True) as client:
        logs = client.read_logs(
            LogFilter(flow_run_id=LogFilterFlowRunId(any_=[UUID(r) for r in flow_runs])), limit=200
        )
    assert logs, "the runs' own log lines reached the Prefect server"
    return [f"prefect-api {log.name} {log.message}" for log in logs]


def _use_the_web() -> list[str]:
    """Log in to the dashboard and call the API with a token (both logged at DEBUG like the rest):
    the session cookie and the token are then secrets in use."""
    from services import api_tokens
    from tests.support.web import client, logged_in

    web = logged_in("logscan", "Konsulent Logscan")
    cookie = web.cookies.get("forloeb_session") or ""
    assert cookie and web.get("/oversigt").status_code == 200
    _row, token = api_tokens.create_token(
        owner="logscan", name="logscan", scopes=[api_tokens.READ], expires_days=None, actor="logscan"
    )
    assert client().get("/api/courses", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    return [cookie, token]


@contextmanager
def scanned_logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[LogScan]:
    password = "smtp-" + secrets.token_urlsafe(12)
    key = secrets.token_urlsafe(32)

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and auth_data.password.decode() == password
        return AuthResult(success=ok)

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(
        mailbox, hostname="127.0.0.1", port=port, authenticator=authenticate, auth_require_tls=False
    )
    controller.start()
    monkeypatch.setenv(
        "FORLOEB_SMTP_URL", f"mailto://forloeb:{password}@127.0.0.1:{port}?from=forloeb@localhost"
    )
    monkeypatch.setenv("FORLOEB_SECRET_KEY", key)
    monkeypatch.setenv("FORLOEB_SEND_BACKOFF_SECONDS", "0")
    get_settings.cache_clear()
    redact.install()  # what the dashboard, the runner and the CLI do at start (registers the secrets)
    collect = _Collect()
    saved: list[tuple[logging.Logger, int]] = []
    for name in LOGGERS:
        logger = logging.getLogger(name)
        saved.append((logger, logger.level))
        logger.setLevel(logging.DEBUG)
        if name == "" or not logger.propagate:
            logger.addHandler(collect)
    for name, known in list(logging.root.manager.loggerDict.items()):  # e.g. prefect.flow_runs
        if isinstance(known, logging.Logger) and not known.propagate and not name.startswith("sqlalchemy"):
            known.addHandler(collect)
    scan = LogScan(password, key, _use_the_web())
    try:
        yield scan
    finally:
        controller.stop()
        for logger, level in saved:
            logger.setLevel(level)
        for known in [logging.root, *logging.root.manager.loggerDict.values()]:
            if isinstance(known, logging.Logger) and collect in known.handlers:
                known.removeHandler(collect)
    scan.lines = collect.lines + _prefect_lines()
    assert mailbox.received, "the drive sent mail through the authenticating SMTP server"
    assert len(scan.lines) > 100, "the capture saw the drive's logs"
    problems = scan.problems()
    assert not problems, f"{len(problems)} log lines carry personal data or secrets:\n" + "\n".join(
        problems[:20]
    )
