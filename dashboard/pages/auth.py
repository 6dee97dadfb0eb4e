"""Logging in and out; `/` (the launcher's readiness probe) and `/healthz`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dashboard.deps import (
    CheckedForm,
    client_address,
    form_str,
    login_throttle,
    session_user,
    start_session,
)
from dashboard.pages.common import Refused, form_page, redirect
from dashboard.templating import render
from services.accounts import authenticate, record_login

router = APIRouter(include_in_schema=False)


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else "/oversigt"


@router.get("/")
def home(request: Request) -> Response:
    # A 200 for the launcher's readiness probe; people who are logged in go on to the overview.
    if session_user(request) is not None:
        return redirect("/oversigt")
    return render(request, "login.html", {"next": "/oversigt", "error": None})


@router.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/login")
def login_page(request: Request, next: str = "/oversigt") -> Response:
    if session_user(request) is not None:
        return redirect(_safe_next(next))
    return form_page(request, "login.html", {"next": _safe_next(next)})


@router.post("/login")
def login(request: Request, form: CheckedForm) -> Response:
    username = form_str(form, "username")
    next_url = _safe_next(form_str(form, "next") or "/oversigt")
    context = {"next": next_url, "username": username}
    throttle, address = login_throttle(request), client_address(request)
    locked = throttle.locked(username, address)
    if locked is not None:  # refused without checking the password, the right one too
        record_login(username, success=False)
        response = form_page(request, "login.html", context, Refused({}, [locked.message()], status_code=429))
        response.headers["Retry-After"] = str(locked.retry_after)
        return response
    user = authenticate(username, str(form.get("password") or ""))  # argon2: slow on purpose
    record_login(user.username if user else username, success=user is not None)
    if user is None:
        throttle.failed(username, address)
        refused = Refused({}, ["Forkert brugernavn eller adgangskode."], status_code=401)
        return form_page(request, "login.html", context, refused)
    throttle.succeeded(username)
    start_session(request, user)
    return redirect(next_url)


@router.post("/logout")
def logout(request: Request, form: CheckedForm) -> Response:
    request.session.clear()
    return redirect("/login")
