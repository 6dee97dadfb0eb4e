"""Signed, expiring links that let a municipality answer one task without an account.

The token names the task and its course and is signed with the installation's secret key
(`FORLOEB_SECRET_KEY`, else a random key kept in the data dir), so the dashboard, the runner
that sends the mails and the CLI all make and accept the same links. Nothing is stored per link:
a link stops working when it expires, or - checked by the dashboard - when the task is answered or
a consultant revoked the task's links (`services.task_links`: links signed before the revocation).
"""

from __future__ import annotations

import os
import secrets
import time
from dataclasses import dataclass, field
from datetime import date, timedelta

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from core.clock import today
from core.settings import get_settings

LINK_SALT = "forloeb-kommune-opgave"
LINK_MAX_AGE_DAYS = 30


def existing_secret_key() -> str | None:
    """The secret key if there is one yet (`core.redact` masks it), without making one."""
    from_env = os.environ.get("FORLOEB_SECRET_KEY")
    if from_env:
        return from_env
    path = get_settings().data_dir / "dashboard-secret.txt"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    return None


def secret_key() -> str:
    """`FORLOEB_SECRET_KEY`, else a random key kept in the data dir (so restarts keep links/sessions)."""
    existing = existing_secret_key()
    if existing:
        return existing
    path = get_settings().data_dir / "dashboard-secret.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key, encoding="utf-8")
    path.chmod(0o600)
    return key


class LinkInvalid(Exception):
    """Forged or damaged link."""


class LinkExpired(Exception):
    pass


@dataclass(frozen=True)
class TaskLink:
    task_id: int
    course_id: int
    issued_at: float = field(default=0.0, compare=False)
    """Epoch seconds (to the millisecond) the link was signed: a revocation refuses older links."""


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(), salt=LINK_SALT)


def make_task_token(task_id: int, course_id: int) -> str:
    # "i": when it was issued, in ms (the signature's own timestamp has whole seconds only, too
    # coarse to tell a revoked link from a new one made the same second).
    return _serializer().dumps({"t": task_id, "c": course_id, "i": int(time.time() * 1000)})


def read_task_token(token: str, *, max_age_days: int = LINK_MAX_AGE_DAYS) -> TaskLink:
    try:
        data, signed = _serializer().loads(token, max_age=max_age_days * 24 * 3600, return_timestamp=True)
    except SignatureExpired:
        raise LinkExpired from None
    except BadSignature:
        raise LinkInvalid from None
    if not isinstance(data, dict) or not isinstance(data.get("t"), int) or not isinstance(data.get("c"), int):
        raise LinkInvalid
    issued = data["i"] / 1000 if isinstance(data.get("i"), int) else signed.timestamp()  # older links
    return TaskLink(task_id=data["t"], course_id=data["c"], issued_at=issued)


def task_link_path(token: str) -> str:
    return f"/k/{token}"


def municipality_task_url(task_id: int, course_id: int) -> str:
    """The full address (FORLOEB_PUBLIC_URL) of a new link to one task, for a message."""
    base = get_settings().public_url.rstrip("/")
    return base + task_link_path(make_task_token(task_id, course_id))


def link_expires(issued: date | None = None) -> date:
    """The last day a link issued today (or on `issued`) works: what a message tells its reader."""
    return (issued or today()) + timedelta(days=LINK_MAX_AGE_DAYS - 1)


# --- applications (issue 13) ------------------------------------------------------------------

APPLICATION_SALT = "forloeb-kommune-ansoegning"
APPLICATION_LINK_MAX_AGE_DAYS = 180
"""An application's link lives through assessment, decision and the wait for the start."""


def _application_serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(), salt=APPLICATION_SALT)


def make_application_token(application_id: int, uid: str) -> str:
    """The municipality's own link to its application: status, documents, withdrawal."""
    return _application_serializer().dumps({"a": application_id, "u": uid[:12]})


def read_application_token(token: str) -> tuple[int, str]:
    """(application id, the start of its uid); `LinkExpired` / `LinkInvalid` otherwise."""
    try:
        data = _application_serializer().loads(token, max_age=APPLICATION_LINK_MAX_AGE_DAYS * 24 * 3600)
    except SignatureExpired:
        raise LinkExpired from None
    except BadSignature:
        raise LinkInvalid from None
    if not isinstance(data, dict) or not isinstance(data.get("a"), int) or not isinstance(data.get("u"), str):
        raise LinkInvalid
    return data["a"], data["u"]


def application_url(application_id: int, uid: str) -> str:
    base = get_settings().public_url.rstrip("/")
    return f"{base}/a/{make_application_token(application_id, uid)}"
