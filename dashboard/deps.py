"""Who is asking: session logins for pages, session or HTTP Basic for the API, CSRF checks.

A page handler that takes a posted form declares `form: CheckedForm`: the body is read here on the
event loop (reading it is async) and its CSRF token checked, so the handler itself is a plain
`def` that FastAPI runs in its thread pool (database, Prefect, SMTP and argon2 block)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.datastructures import FormData

from core.links import secret_key
from dashboard.security import CSRF_FIELD, CSRF_HEADER, csrf_valid
from services.accounts import CurrentUser, authenticate, load_user

SESSION_USER = "uid"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


class LoginRequired(Exception):
    """A page needs a login: redirect to /login."""


class Forbidden(Exception):
    def __init__(self, message: str = "Du har ikke adgang til denne side.") -> None:
        super().__init__(message)
        self.message = message


class ApiUnauthorized(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class CsrfFailed(Exception):
    pass


def session_user(request: Request) -> CurrentUser | None:
    user_id = request.session.get(SESSION_USER)
    if not isinstance(user_id, int):
        return None
    user = load_user(user_id)
    if user is None:
        request.session.clear()
    return user


def page_user(request: Request) -> CurrentUser:
    user = session_user(request)
    if user is None:
        raise LoginRequired
    request.state.user = user
    return user


ADMINS_ONLY = "Kun administratorer har adgang her (konsulenter, driftsstatus)."


def admin_user(request: Request) -> CurrentUser:
    user = page_user(request)
    if not user.is_admin:
        raise Forbidden(ADMINS_ONLY)
    return user


def _basic_credentials(request: Request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic" or not value:
        return None
    try:
        decoded = base64.b64decode(value, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, sep, password = decoded.partition(":")
    return (username, password) if sep else None


BASIC_CACHE_SECONDS = 60
_basic_cache: dict[tuple[str, str], tuple[int, float]] = {}


def _basic_user(username: str, password: str) -> CurrentUser | None:
    """Argon2 is slow on purpose; an API client sending Basic on every request is verified once a
    minute. The cache key is an HMAC of the password (never the password), and the user is re-read
    on every hit so deactivation takes effect at once."""
    key = (username, hmac.new(secret_key().encode(), password.encode(), hashlib.sha256).hexdigest())
    hit = _basic_cache.get(key)
    if hit is not None and hit[1] > time.monotonic():
        return load_user(hit[0])
    user = authenticate(username, password)
    if user is not None:
        if len(_basic_cache) > 256:
            _basic_cache.clear()
        _basic_cache[key] = (user.id, time.monotonic() + BASIC_CACHE_SECONDS)
    return user


def api_user(request: Request) -> CurrentUser:
    """Session cookie (writes then need the X-CSRF-Token header) or HTTP Basic."""
    credentials = _basic_credentials(request)
    if credentials is not None:
        user = _basic_user(*credentials)
        if user is None:
            raise ApiUnauthorized("Forkert brugernavn eller adgangskode. / Wrong username or password.")
        return user
    user = session_user(request)
    if user is None:
        raise ApiUnauthorized("Log ind først. / Authentication required.")
    if request.method not in SAFE_METHODS and not csrf_valid(
        request.session, request.headers.get(CSRF_HEADER)
    ):
        raise CsrfFailed
    return user


def api_admin(request: Request) -> CurrentUser:
    user = api_user(request)
    if not user.is_admin:
        raise Forbidden(ADMINS_ONLY)
    return user


def check_csrf(request: Request, form: FormData) -> None:
    value = form.get(CSRF_FIELD)
    if not csrf_valid(request.session, value if isinstance(value, str) else None):
        raise CsrfFailed


async def posted_form(request: Request) -> FormData:
    """The posted form body. Only reading it is async: the handler that uses it can be `def`."""
    return await request.form()


async def csrf_form(request: Request, form: Annotated[FormData, Depends(posted_form)]) -> FormData:
    """The posted form once its CSRF token matches the session's (`CsrfFailed`: 403 otherwise).
    Compares two strings in memory; nothing here blocks."""
    check_csrf(request, form)
    return form


CheckedForm = Annotated[FormData, Depends(csrf_form)]
"""A page handler's posted form, read and CSRF-checked before the handler runs."""


def form_str(form: FormData | dict[str, Any], name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""
