"""Min konto (change one's own password) and Konsulenter (admins add, deactivate and reset
logins); every change audited with who made it."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from core.errors import ForloebError, InvalidInput
from dashboard.deps import CheckedForm, form_str, start_session
from dashboard.pages.common import Admin, Id, Refused, User, form_page, redirect
from dashboard.templating import render
from models.tables import UserRole
from services.accounts import (
    change_own_password,
    create_user,
    list_users,
    load_user,
    set_active,
    set_password,
)

router = APIRouter(include_in_schema=False)


def _users_page(request: Request, refused: Refused | None = None) -> Response:
    return form_page(request, "users.html", {"users": list_users(), "roles": list(UserRole)}, refused)


@router.get("/konto")
def account_page(request: Request, user: User) -> Response:
    changed = request.query_params.get("skiftet") == "1"
    return render(request, "account.html", {"error": None, "changed": changed})


@router.post("/konto")
def change_password(request: Request, user: User, form: CheckedForm) -> Response:
    try:
        change_own_password(
            user.id,
            str(form.get("current") or ""),
            str(form.get("new") or ""),
            str(form.get("repeat") or ""),
        )
    except ForloebError as exc:
        refused = Refused.because(exc, {}, status_code=422)
        return form_page(request, "account.html", {"changed": False}, refused)
    # Every other session of this user has ended (the password stamp changed); this one goes on.
    fresh = load_user(user.id)
    if fresh is not None:
        start_session(request, fresh)
    return redirect("/konto?skiftet=1")


@router.post("/konsulenter/{user_id}/adgangskode")
def reset_password(request: Request, user_id: Id, user: Admin, form: CheckedForm) -> Response:
    """An admin gives a consultant a new password (e.g. forgotten); audited with the admin."""
    try:
        set_password(user_id, str(form.get("password") or ""), actor=user.username)
    except InvalidInput as exc:
        return _users_page(request, Refused.because(exc, {}, status_code=422))
    return redirect("/konsulenter")


@router.get("/konsulenter")
def users_page(request: Request, user: Admin) -> Response:
    return _users_page(request)


@router.post("/konsulenter")
def add_user(request: Request, user: Admin, form: CheckedForm) -> Response:
    values = {k: form_str(form, k) for k in ("username", "display_name", "role")}
    try:
        role = UserRole(values["role"] or UserRole.CONSULTANT)
        create_user(
            values["username"],
            values["display_name"],
            role,
            str(form.get("password") or ""),
            actor=user.username,
        )
    except ValueError:
        return _users_page(request, Refused(values, ["Ukendt rolle."]))
    except ForloebError as exc:
        return _users_page(request, Refused.because(exc, values, status_code=422))
    return redirect("/konsulenter")


@router.post("/konsulenter/{user_id}/aktiv")
def toggle_user(user_id: Id, user: Admin, form: CheckedForm) -> Response:
    set_active(user_id, form_str(form, "active") == "1", actor=user.username)
    return redirect("/konsulenter")
