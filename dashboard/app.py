"""The dashboard: FastAPI + Jinja2 pages and the JSON API. Reads the app database; never waits on
Prefect (only completing a task or starting a course calls it, through `services.courses`).

Run: `uvicorn dashboard.app:app --host 127.0.0.1 --port 8000` (`make run` does this).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core import redact
from core.errors import ForloebError, validation_messages
from core.links import secret_key
from dashboard import api, api_applications, api_kpi, api_network, api_schema
from dashboard.deps import ApiUnauthorized, CsrfFailed, Forbidden, LoginRequired, LoginThrottled
from dashboard.pages import (
    accounts,
    api_tokens,
    applications,
    auth,
    courses,
    evaluation,
    kpi,
    meetings,
    municipalities,
    municipality_links,
    network,
    notifications,
    operations,
    overview,
    privacy,
    tasks,
)
from dashboard.security import cookies_secure
from dashboard.templating import render
from dashboard.throttle import LoginThrottle

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
SESSION_MAX_AGE = 8 * 3600
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    # Municipality links carry their token in the URL: never leak it in a Referer.
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; style-src 'self'; "
    "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
}
HSTS = "max-age=31536000"
"""Sent on HTTPS responses only: directly, or behind the proxy when uvicorn trusts its
X-Forwarded-Proto (`--proxy-headers`, FORWARDED_ALLOW_IPS); the app never reads that header itself."""
METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


class HeadAsGet:
    """`HEAD` wherever `GET` is (RFC 9110 9.3.2): routed and answered as GET, headers only.
    FastAPI routes list only the methods declared, and the OpenAPI document stays without HEAD."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                message = {**message, "body": b""}
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)


def allowed_methods(app: ASGIApp, scope: Scope) -> str:
    """The methods some route answers on this path, for the `Allow` header of a 405."""
    if scope["path"].startswith("/static/"):
        return "GET, HEAD"
    routes = getattr(app, "routes", [])
    allowed = [
        method
        for method in METHODS
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in routes)
    ]
    if "GET" in allowed and "HEAD" not in allowed:
        allowed.insert(allowed.index("GET") + 1, "HEAD")
    return ", ".join(allowed)


class LazySessions:
    """Starlette's signed-cookie sessions (HttpOnly, SameSite=Lax), with the secret read on first
    use (the data dir may not exist at import). The cookie is `Secure` on every HTTPS request and
    always when `FORLOEB_COOKIE_SECURE=1`; plain http is only for `make run` on 127.0.0.1."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.inner: dict[bool, SessionMiddleware] = {}

    def _middleware(self, secure: bool) -> SessionMiddleware:
        if secure not in self.inner:
            self.inner[secure] = SessionMiddleware(
                self.app,
                secret_key=secret_key(),
                session_cookie="forloeb_session",
                max_age=SESSION_MAX_AGE,
                same_site="lax",
                https_only=secure,
            )
        return self.inner[secure]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        secure = cookies_secure() or scope.get("scheme") in ("https", "wss")
        await self._middleware(secure)(scope, receive, send)


def problem(
    status: int, detail: str, errors: list[str] | None = None, headers: dict[str, str] | None = None
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "errors": errors or [],
    }
    return JSONResponse(body, status_code=status, media_type="application/problem+json", headers=headers)


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api")


def _error_page(request: Request, status: int, title: str, message: str) -> Response:
    return render(
        request, "error.html", {"title": title, "message": message, "status": status}, status_code=status
    )


def _install_handlers(app: FastAPI) -> None:
    @app.exception_handler(ForloebError)
    async def forloeb_error(request: Request, exc: ForloebError) -> Response:
        if exc.http_status >= 500:
            log.warning("service error on %s: %s", request.url.path, exc.message)
        errors = [str(d) for d in exc.details] if isinstance(exc.details, list) else []
        if _is_api(request):
            return problem(exc.http_status, exc.message, errors)
        title = {404: "Ikke fundet", 409: "Konflikt", 422: "Ugyldige oplysninger", 503: "Prefect svarer ikke"}
        return _error_page(request, exc.http_status, title.get(exc.http_status, "Fejl"), exc.message)

    @app.exception_handler(LoginRequired)
    async def login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        from urllib.parse import quote

        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, exc: Forbidden) -> Response:
        if _is_api(request):
            return problem(403, exc.message)
        return _error_page(request, 403, "Ingen adgang", exc.message)

    @app.exception_handler(ApiUnauthorized)
    async def unauthorized(request: Request, exc: ApiUnauthorized) -> Response:
        challenge = 'Basic realm="forloeb", Bearer realm="forloeb"'  # a password or an API token
        return problem(401, exc.message, headers={"WWW-Authenticate": challenge})

    @app.exception_handler(CsrfFailed)
    async def csrf_failed(request: Request, exc: CsrfFailed) -> Response:
        message = "Formularen er udløbet eller kom ikke fra denne side. Genindlæs siden og prøv igen."
        if _is_api(request):
            return problem(403, message + " / CSRF token missing or invalid (send X-CSRF-Token).")
        return _error_page(request, 403, "Formularen kunne ikke bruges", message)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(request: Request, exc: RequestValidationError) -> Response:
        lines = validation_messages(exc.errors(), where_default="forespørgslen", skip=("body",))
        if _is_api(request):
            return problem(422, "Forespørgslen er ikke gyldig. / The request is not valid.", lines)
        return _error_page(request, 422, "Ugyldig forespørgsel", "; ".join(lines))

    @app.exception_handler(LoginThrottled)
    async def throttled(request: Request, exc: LoginThrottled) -> Response:
        message = exc.locked.message()
        headers = {"Retry-After": str(exc.locked.retry_after)}
        return problem(429, f"{message} / Too many failed logins, try again later.", headers=headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(exc.headers or {})
        if exc.status_code == 405:  # RFC 9110 15.5.6: every 405 says what is allowed
            headers["Allow"] = allowed_methods(request.app, request.scope)
        if _is_api(request):
            detail = "Siden findes ikke. / Not found." if exc.status_code == 404 else str(exc.detail)
            if exc.status_code == 405:
                detail = "Metoden er ikke tilladt her. / Method not allowed."
            elif exc.status_code == 400:  # FastAPI: a JSON body that cannot be decoded
                detail = f"{api_schema.DESCRIPTIONS[400]} / {exc.detail}"
            return problem(exc.status_code, detail, headers=headers)
        if exc.status_code == 404:
            return _error_page(request, 404, "Siden findes ikke", "Der er ingen side på denne adresse.")
        if exc.status_code == 405:
            response = _error_page(
                request,
                405,
                "Metoden er ikke tilladt",
                "Siden kan ikke bruges sådan. Gå tilbage og prøv igen.",
            )
        else:
            response = _error_page(request, exc.status_code, "Fejl", str(exc.detail))
        response.headers.update(headers)
        return response

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s", request.url.path)
        message = "Der skete en uventet fejl. Prøv igen; sker det igen, så kontakt en administrator."
        if _is_api(request):
            return problem(500, message + " / Internal error.")
        return _error_page(request, 500, "Uventet fejl", message)


def create_app() -> FastAPI:
    redact.install()  # no secret, link token, e-mail or CPR number in the dashboard's logs
    from notifications.send import smtp_problem

    if problem := smtp_problem():  # "Send igen" is refused with it too; the runner does not start
        log.error("%s", problem)
    app = FastAPI(
        title="Forløb: rådgivningsforløb for kommuner",
        version="1.0",
        description=(
            "JSON API for courses, tasks and notifications. Scripts and BI tools authenticate with "
            "a personal API token (`Authorization: Bearer flb_...`, scoped; `forloeb token create` "
            "or the page API-nøgler); HTTP Basic (dashboard username/password) and the dashboard "
            "session cookie plus `X-CSRF-Token` also work. "
            "Errors are `application/problem+json`; `detail` is Danish."
        ),
        openapi_url="/api/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.include_router(api.router)
    app.include_router(api_applications.router)
    app.include_router(api_kpi.router)
    app.include_router(api_network.router)
    for area in (
        applications,
        auth,
        overview,
        courses,
        kpi,
        evaluation,
        network,
        tasks,
        municipality_links,
        meetings,
        notifications,
        municipalities,
        accounts,
        api_tokens,
        operations,
        privacy,
    ):
        app.include_router(area.router)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    _install_handlers(app)
    api_schema.install(app)  # the exact OpenAPI document

    @app.middleware("http")
    async def timing_and_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.2f}"
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if request.url.scheme == "https":
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        if not request.url.path.startswith("/static"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.add_middleware(LazySessions)
    app.add_middleware(HeadAsGet)  # outermost: sessions, headers and routing all see a GET
    app.state.login_throttle = LoginThrottle()
    return app


app = create_app()
