"""Who is asking: session logins for pages; session, HTTP Basic or an API token for the API; CSRF.

API tokens (`Authorization: Bearer flb_...`, `services.api_tokens`) work on the JSON API only, each
endpoint declaring the scope it needs (`Security(api_user, scopes=[...])`, which also puts the scheme
and scope in the OpenAPI document). A token on a route that declares no scope is refused (fail
closed). A session or HTTP Basic login has every scope (the person's own rights).

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

from fastapi import Depends, Request, Security
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBasic, HTTPBearer, SecurityScopes
from starlette.datastructures import FormData

from core.links import secret_key
from core.settings import get_settings
from dashboard.security import CSRF_FIELD, CSRF_HEADER, csrf_valid
from dashboard.throttle import Locked, LoginThrottle
from services.accounts import CurrentUser, authenticate, load_user
from services.api_tokens import (
    APPLICATIONS_WRITE,
    COURSES_WRITE,
    READ,
    SCOPES,
    TASKS_WRITE,
    TokenPrincipal,
    authenticate_token,
)

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


bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="apiToken",
    bearerFormat="flb_…",
    description="A personal API token (`forloeb token create`, or the page API-nøgler): "
    "`Authorization: Bearer flb_...`. Each operation lists the scope it needs: "
    + "; ".join(f"`{scope}`: {text}" for scope, text in SCOPES.items())
    + ". The way for scripts and BI tools.",
)


class _DeclaredBasic(HTTPBasic):
    """Declares HTTP Basic in the OpenAPI document; the header itself is read by `api_user` (a
    malformed one is a plain 401 like a wrong password)."""

    async def __call__(self, request: Request) -> None:  # type: ignore[override]
        return None


basic_scheme = _DeclaredBasic(
    auto_error=False,
    scheme_name="basic",
    description="Dashboard username and password (argon2-checked, cached a minute). Every scope "
    "of the person. The browser session cookie plus `X-CSRF-Token` for writes also works.",
)


def _route_scopes(request: Request) -> frozenset[str]:
    """The scopes the matched route declares anywhere in its dependencies (`Security(scopes=...)`).
    Reads FastAPI's `Dependant.own_oauth_scopes`: should a FastAPI upgrade rename it, this finds no
    scope and every token is refused (fail closed; tests/web/test_api_tokens.py notices)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return frozenset()
    cached: frozenset[str] | None = getattr(route, "_forloeb_scopes", None)  # kept on the route itself
    if cached is None:
        found: set[str] = set()
        pending = [route.dependant]
        while pending:
            dependant = pending.pop()
            found.update(getattr(dependant, "own_oauth_scopes", None) or [])
            pending.extend(dependant.dependencies)
        cached = frozenset(found)
        route._forloeb_scopes = cached  # type: ignore[attr-defined]
    return cached


def _bearer_user(request: Request, token: str) -> CurrentUser:
    principal = authenticate_token(token)
    if principal is None:
        raise ApiUnauthorized(
            "API-nøglen er ukendt, udløbet eller tilbagekaldt. / Invalid, expired or revoked token."
        )
    request.state.api_token = principal
    return principal.user


def _authenticated(request: Request) -> CurrentUser:
    """Session cookie (writes then need the X-CSRF-Token header), an API token, or HTTP Basic
    (throttled as the login form is: 429 with Retry-After while locked out). Once per request."""
    known = getattr(request.state, "api_user", None)
    if isinstance(known, CurrentUser):
        return known
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        user = _bearer_user(request, value.strip())
    elif (credentials := _basic_credentials(request)) is not None:
        throttle, address = login_throttle(request), client_address(request)
        locked = throttle.locked(credentials[0], address)
        if locked is not None:
            raise LoginThrottled(locked)
        found = _basic_user(*credentials)
        if found is None:
            throttle.failed(credentials[0], address)
            raise ApiUnauthorized("Forkert brugernavn eller adgangskode. / Wrong username or password.")
        throttle.succeeded(credentials[0])
        user = found
    else:
        session = session_user(request)
        if session is None:
            raise ApiUnauthorized("Log ind først. / Authentication required.")
        if request.method not in SAFE_METHODS and not csrf_valid(
            request.session, request.headers.get(CSRF_HEADER)
        ):
            raise CsrfFailed
        user = session
    request.state.api_user = user
    return user


def api_user(
    request: Request,
    security_scopes: SecurityScopes,
    _token: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    _basic: Annotated[None, Depends(basic_scheme)],
) -> CurrentUser:
    """The person the API request acts for. With a token: only if the token holds every scope the
    route declares (403 naming the missing ones; a route declaring none refuses tokens)."""
    user = _authenticated(request)
    principal: TokenPrincipal | None = getattr(request.state, "api_token", None)
    if principal is not None:
        required = set(security_scopes.scopes) | _route_scopes(request)
        if not required:
            raise Forbidden(
                "Denne del af API'et kan ikke bruges med en API-nøgle. / Not available to tokens."
            )
        missing = sorted(required - principal.scopes)
        if missing:
            raise Forbidden(
                f"API-nøglen mangler scope: {', '.join(missing)}. / Token lacks scope {', '.join(missing)}."
            )
    return user


def api_admin(user: Annotated[CurrentUser, Depends(api_user)]) -> CurrentUser:
    if not user.is_admin:
        raise Forbidden(ADMINS_ONLY)
    return user


Reader = Annotated[CurrentUser, Security(api_user, scopes=[READ])]
TasksWriter = Annotated[CurrentUser, Security(api_user, scopes=[TASKS_WRITE])]
CoursesWriter = Annotated[CurrentUser, Security(api_user, scopes=[COURSES_WRITE])]
ApplicationsWriter = Annotated[CurrentUser, Security(api_user, scopes=[APPLICATIONS_WRITE])]
AdminReader = Annotated[CurrentUser, Security(api_admin, scopes=[READ])]
AdminCoursesWriter = Annotated[CurrentUser, Security(api_admin, scopes=[COURSES_WRITE])]
"""An API endpoint's caller with the scope it needs (one of these on every endpoint under /api)."""


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
