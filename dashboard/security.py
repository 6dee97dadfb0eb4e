"""Password hashing, CSRF tokens and the session cookie's settings.

Sessions are Starlette's signed cookie (itsdangerous) with `forloeb.links.secret_key()`, the
same secret that signs the municipalities' task links.
"""

from __future__ import annotations

import hmac
import os
import secrets
from functools import lru_cache
from typing import Any

from pwdlib import PasswordHash

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


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
