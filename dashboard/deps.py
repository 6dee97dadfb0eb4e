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
from core.settings import get_settings
from dashboard.security import CSRF_FIELD, CSRF_HEADER, csrf_valid
from dashboard.throttle import Locked, LoginThrottle
from services.accounts import CurrentUser, authenticate, load_user

SESSION_USER = "uid"
SESSION_STAMP = "pw"
"""The user's password stamp at login: a password change ends the session."""
SESSION_SINCE = "since"
SESSION_SEEN = "seen"
SESSION_MAX_SECONDS = 8 * 3600
"""Absolute: a session ends 8 h after login, however busy (the cookie is re-signed on every
response, so its own max-age only bounds inactivity)."""
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


class LoginThrottled(Exception):
    """HTTP Basic on the API while the username or address is locked out: 429 with Retry-After."""

    def __init__(self, locked: Locked) -> None:
        super().__init__(locked.message())
        self.locked = locked


def epoch() -> float:
    """Wall-clock seconds (tests move it)."""
    return time.time()


def start_session(request: Request, user: CurrentUser) -> None:
    request.session.clear()  # a fresh session (and CSRF token) after login
    request.session[SESSION_USER] = user.id
    request.session[SESSION_STAMP] = user.password_stamp
    request.session[SESSION_SINCE] = request.session[SESSION_SEEN] = int(epoch())


def session_user(request: Request) -> CurrentUser | None:
    """The logged-in user, or None: also when the session is older than 8 h, idle longer than
    `session_idle_minutes`, or the password changed since login (the session is then cleared)."""
    session = request.session
    user_id = session.get(SESSION_USER)
    if not isinstance(user_id, int):
        return None
    now = int(epoch())
    since, seen = session.get(SESSION_SINCE), session.get(SESSION_SEEN)
    idle = get_settings().session_idle_minutes * 60
    user = None
    if (
        isinstance(since, int)
        and isinstance(seen, int)
        and now - since < SESSION_MAX_SECONDS
        and now - seen < idle
    ):
        user = load_user(user_id)
    if user is None or session.get(SESSION_STAMP) != user.password_stamp:
        session.clear()
        return None
    if not isinstance(seen, int) or now - seen >= 30:  # a fresh cookie at most every 30 s
        session[SESSION_SEEN] = now
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
_basic_cache: dict[tuple[str, str], tuple[int, str, float]] = {}


def _basic_user(username: str, password: str) -> CurrentUser | None:
    """Argon2 is slow on purpose; an API client sending Basic on every request is verified once a
    minute. The cache key is an HMAC of the password (never the password), and the user is re-read
    on every hit so deactivation and a password change take effect at once."""
    key = (username, hmac.new(secret_key().encode(), password.encode(), hashlib.sha256).hexdigest())
    hit = _basic_cache.get(key)
    if hit is not None and hit[2] > time.monotonic():
        cached = load_user(hit[0])
        if cached is not None and cached.password_stamp == hit[1]:  # a new password: verify again
            return cached
    user = authenticate(username, password)
    if user is not None:
        if len(_basic_cache) > 256:
            _basic_cache.clear()
        _basic_cache[key] = (user.id, user.password_stamp, time.monotonic() + BASIC_CACHE_SECONDS)
    return user


def login_throttle(request: Request) -> LoginThrottle:
    throttle: LoginThrottle = request.app.state.login_throttle
    return throttle


def client_address(request: Request) -> str:
    """The client's address (uvicorn puts the proxy's X-Forwarded-For here when it trusts it)."""
    return request.client.host if request.client else "?"


def api_user(request: Request) -> CurrentUser:
    """Session cookie (writes then need the X-CSRF-Token header) or HTTP Basic (throttled as the
    login form is: 429 with Retry-After while locked out)."""
    credentials = _basic_credentials(request)
    if credentials is not None:
        throttle, address = login_throttle(request), client_address(request)
        locked = throttle.locked(credentials[0], address)
        if locked is not None:
            raise LoginThrottled(locked)
        user = _basic_user(*credentials)
        if user is None:
            throttle.failed(credentials[0], address)
            raise ApiUnauthorized("Forkert brugernavn eller adgangskode. / Wrong username or password.")
        throttle.succeeded(credentials[0])
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
