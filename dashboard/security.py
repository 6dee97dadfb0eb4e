"""CSRF tokens and the session cookie's settings (password hashing: `services.accounts`).

Sessions are Starlette's signed cookie (itsdangerous) with `core.links.secret_key()`, the
same secret that signs the municipalities' task links.
"""

from __future__ import annotations

import hmac
import os
import secrets
from typing import Any

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"


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
