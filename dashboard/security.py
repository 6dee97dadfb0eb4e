"""Secrets, password hashing, CSRF tokens and the signed links municipalities use.

Sessions are Starlette's signed cookie (itsdangerous); the secret comes from
`FORLOEB_SECRET_KEY` or is generated once into the data dir.
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from pwdlib import PasswordHash

from forloeb.settings import get_settings

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
LINK_SALT = "forloeb-kommune-opgave"
LINK_MAX_AGE_DAYS = 30


@lru_cache(maxsize=1)
def password_hasher() -> PasswordHash:
    return PasswordHash.recommended()


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    try:
        return password_hasher().verify(password, password_hash)
    except Exception:  # a malformed hash is a failed login, not a crash
        return False


def secret_key() -> str:
    """`FORLOEB_SECRET_KEY`, else a random key kept in the data dir (so restarts keep sessions)."""
    from_env = os.environ.get("FORLOEB_SECRET_KEY")
    if from_env:
        return from_env
    path = get_settings().data_dir / "dashboard-secret.txt"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    path.write_text(key, encoding="utf-8")
    path.chmod(0o600)
    return key


def cookies_secure() -> bool:
    """Secure cookies unless explicitly turned off for plain-http local use (`make run`, tests)."""
    return os.environ.get("FORLOEB_COOKIE_SECURE", "0").lower() in {"1", "true", "yes"}


def csrf_token(session: dict[str, Any]) -> str:
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def csrf_valid(session: dict[str, Any], submitted: str | None) -> bool:
    expected = session.get("csrf")
    return (
        isinstance(expected, str) and isinstance(submitted, str) and hmac.compare_digest(expected, submitted)
    )


# --- municipality links -----------------------------------------------------------------------


class LinkInvalid(Exception):
    """Forged or damaged link."""


class LinkExpired(Exception):
    pass


@dataclass(frozen=True)
class TaskLink:
    task_id: int
    course_id: int


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key(), salt=LINK_SALT)


def make_task_token(task_id: int, course_id: int) -> str:
    return _serializer().dumps({"t": task_id, "c": course_id})


def read_task_token(token: str, *, max_age_days: int = LINK_MAX_AGE_DAYS) -> TaskLink:
    try:
        data = _serializer().loads(token, max_age=max_age_days * 24 * 3600)
    except SignatureExpired:
        raise LinkExpired from None
    except BadSignature:
        raise LinkInvalid from None
    if not isinstance(data, dict) or not isinstance(data.get("t"), int) or not isinstance(data.get("c"), int):
        raise LinkInvalid
    return TaskLink(task_id=data["t"], course_id=data["c"])
