"""Server-rendered pages (Danish). Reads come from `services.read_model`; writes go through
`services.courses` (and `services.accounts` for logins), each recording who did it."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from core.clock import today
from core.errors import ForloebError, InvalidInput
from core.links import LinkExpired, LinkInvalid, read_task_token
from dashboard import formgen
from dashboard.deps import SESSION_USER, admin_user, check_csrf, form_str, page_user, session_user
from dashboard.gantt import gantt_svg
from dashboard.templating import render
from models.programmes import latest_version, programme_keys
from models.tables import HumanTask, TaskStatus, UserRole
from services import courses, meetings, municipalities, outbox_admin, read_model
from services.accounts import (
    CurrentUser,
    authenticate,
    change_own_password,
    create_user,
    list_users,
    record_login,
    set_active,
    set_password,
)
from services.meetings import MeetingChange
from services.task_links import issue_task_link, record_link_opened

router = APIRouter(include_in_schema=False)
User = Annotated[CurrentUser, Depends(page_user)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
Admin = Annotated[CurrentUser, Depends(admin_user)]


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _safe_next(value: str) -> str:
    return value if value.startswith("/") and not value.startswith("//") else "/oversigt"


# --- login ------------------------------------------------------------------------------------


@router.get("/")
def home(request: Request) -> Response:
    # A 200 for the launcher's readiness probe; people who are logged in go on to the overview.
    if session_user(request) is not None:
        return _redirect("/oversigt")
    return render(request, "login.html", {"next": "/oversigt", "error": None})


@router.get("/healthz")
def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/login")
def login_page(request: Request, next: str = "/oversigt") -> Response:
    if session_user(request) is not None:
        return _redirect(_safe_next(next))
    return render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login")
async def login(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form)
    user = authenticate(form_str(form, "username"), str(form.get("password") or ""))
    next_url = _safe_next(form_str(form, "next") or "/oversigt")
    record_login(user.username if user else form_str(form, "username"), success=user is not None)
    if user is None:
        return render(
            request,
            "login.html",
            {
                "next": next_url,
                "error": "Forkert brugernavn eller adgangskode.",
                "username": form_str(form, "username"),
            },
            status_code=401,
        )
    request.session.clear()  # a fresh session (and CSRF token) after login
    request.session[SESSION_USER] = user.id
    return _redirect(next_url)


@router.post("/logout")
async def logout(request: Request) -> Response:
    form = await request.form()
    check_csrf(request, form)
    request.session.clear()
    return _redirect("/login")


# --- Oversigt ---------------------------------------------------------------------------------


def _int(value: str | None, default: int) -> int:
    try:
        return int(value) if value else default
    except ValueError:
        return default


@router.get("/oversigt")
def overview_page(request: Request, user: User) -> Response:
    p = request.query_params
    filters = read_model.OverviewFilters(
        programme=p.get("program"),
        consultant=p.get("konsulent"),
        region=p.get("region"),
        stage=p.get("fase"),
        status=p.get("status"),
        municipality_code=_int(p.get("kommune"), 0) or None,
        overdue_only=p.get("overskredet") == "1",
        sort=p.get("sort", "kommune"),
        descending=p.get("faldende") == "1",
        page=_int(p.get("side"), 1),
        page_size=_int(p.get("antal"), 50),
    )
    page = read_model.overview(filters)
    return render(
        request,
        "overview.html",
        {
            "page": page,
            "f": page.filters,
            "options": read_model.filter_options(),
            "stage_counts": read_model.stage_counts(),
        },
    )


# --- Forløb -----------------------------------------------------------------------------------


@router.get("/forloeb/ny")
def new_course_page(request: Request, user: User) -> Response:
    return _new_course(request, user, {}, None)


def _new_course(request: Request, user: CurrentUser, values: dict[str, str], error: str | None) -> Response:
    return render(
        request,
        "course_new.html",
        {
            "values": {"konsulent": user.display_name, "start": today().isoformat(), **values},
            "error": error,
            "programmes": [(k, latest_version(k).name) for k in programme_keys()],
            "kommuner": municipalities.list_municipalities(),
        },
        status_code=200 if error is None else 422,
    )


@router.post("/forloeb/ny")
async def new_course(request: Request, user: User) -> Response:
    form = await request.form()
    check_csrf(request, form)
    values = {k: form_str(form, k) for k in ("kommune", "program", "konsulent", "start")}
    try:
        start = date.fromisoformat(values["start"]) if values["start"] else None
    except ValueError:
        return _new_course(request, user, values, "Startdatoen skal være en dato som 2026-03-03.")
    try:
        course = courses.start_course(
            values["kommune"], values["program"], values["konsulent"], start, actor=user.username
        )
    except ForloebError as exc:
        if exc.http_status >= 500:
            raise
        return _new_course(request, user, values, exc.message)
    return _redirect(f"/forloeb/{course.id}?startet=1")


def _meeting_notice(request: Request) -> dict[str, Any] | None:
    """After a meeting was moved/cancelled here: what happened, for the notice on the course page."""
    p = request.query_params
    if p.get("handling") not in ("flyttet", "aflyst"):
        return None
    return {
        "id": _int(p.get("moede"), 0),
        "verb": p.get("handling"),
        "sent": _int(p.get("sendt"), 0),
        "failed": _int(p.get("fejlet"), 0),
    }


@router.get("/forloeb/{course_id}")
def course_page(request: Request, course_id: Id, user: User) -> Response:
    detail = read_model.course_detail(course_id)
    answers = {t.id: formgen.describe_answer(t.kind, t.answer) for t in detail.tasks}
    notes = outbox_admin.list_notifications(course_id=course_id, limit=50)
    return render(
        request,
        "course.html",
        {
            "d": detail,
            "gantt": gantt_svg(detail.stages, today()),
            "answers": answers,
            "notifications": notes,
            "done": _int(request.query_params.get("udfoert"), 0),
            "meeting_change": _meeting_notice(request),
            "started": request.query_params.get("startet") == "1",
        },
    )


# --- Opgaver ----------------------------------------------------------------------------------


@router.get("/opgaver")
def inbox_page(request: Request, user: User) -> Response:
    p = request.query_params
    # Consultants see their own courses' tasks; admins everyone's unless they pick a consultant.
    default = "" if user.is_admin else user.display_name
    consultant = p.get("konsulent", default)
    rows, total = read_model.task_inbox(
        consultant=consultant or None,
        assignee_role=p.get("rolle") or None,
        overdue_only=p.get("overskredet") == "1",
    )
    return render(
        request,
        "inbox.html",
        {
            "rows": rows,
            "total": total,
            "consultant": consultant,
            "options": read_model.filter_options(),
            "rolle": p.get("rolle", ""),
            "overdue_only": p.get("overskredet") == "1",
        },
    )


def _task_context(task: HumanTask, course_id: int) -> dict[str, Any]:
    detail = read_model.course_detail(course_id)
    return {"task": task, "d": detail}


def _form_page(
    request: Request,
    task: HumanTask,
    *,
    template: str,
    action: str,
    extra: dict[str, Any],
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    general: list[str] | None = None,
    status_code: int = 200,
) -> Response:
    specs = formgen.form_fields(task.kind, values)
    leftover = formgen.assign_errors(specs, errors or {})
    return render(
        request,
        template,
        {
            "task": task,
            "fields": specs,
            "general_errors": (general or []) + leftover,
            "action": action,
            "answer": formgen.describe_answer(task.kind, task.answer),
            **extra,
        },
        status_code=status_code,
    )


@router.get("/opgaver/{task_id}")
def task_page(request: Request, task_id: Id, user: User) -> Response:
    task, course, kommune = read_model.task_with_course(task_id)
    return _form_page(
        request,
        task,
        template="task.html",
        action=f"/opgaver/{task_id}",
        extra={"course": course, "kommune": kommune, "link": None},
    )


async def _submit(
    request: Request, task: HumanTask, form: FormData, *, actor: str
) -> tuple[dict[str, Any], dict[str, str], list[str], int] | None:
    """Complete the task; on failure (values, field errors, general errors, status) to re-render."""
    data = formgen.parse_form(task.kind, form)
    assert task.id is not None
    try:
        courses.complete_task(task.id, data, actor=actor, course_id=task.course_id)
    except InvalidInput as exc:
        details = exc.details if isinstance(exc.details, list) else []
        by_field, general = formgen.split_errors([str(d) for d in details])
        if not details:
            general = [exc.message]
        return data, by_field, general, exc.http_status
    except ForloebError as exc:
        if exc.http_status >= 500:
            raise
        return data, {}, [exc.message], exc.http_status
    return None


@router.post("/opgaver/{task_id}")
async def submit_task(request: Request, task_id: Id, user: User) -> Response:
    form = await request.form()
    check_csrf(request, form)
    task, course, kommune = read_model.task_with_course(task_id)
    failed = await _submit(request, task, form, actor=user.username)
    if failed is not None:
        values, by_field, general, status = failed
        return _form_page(
            request,
            task,
            template="task.html",
            action=f"/opgaver/{task_id}",
            extra={"course": course, "kommune": kommune, "link": None},
            values=values,
            errors=by_field,
            general=general,
            status_code=status,
        )
    return _redirect(f"/forloeb/{task.course_id}?udfoert={task_id}")


@router.post("/opgaver/{task_id}/kommunelink")
async def make_link(request: Request, task_id: Id, user: User) -> Response:
    form = await request.form()
    check_csrf(request, form)
    token = issue_task_link(task_id, actor=user.username)
    task, course, kommune = read_model.task_with_course(task_id)
    return _form_page(
        request,
        task,
        template="task.html",
        action=f"/opgaver/{task_id}",
        extra={
            "course": course,
            "kommune": kommune,
            "link": str(request.url_for("municipality_task", token=token)),
        },
    )


# --- municipality links (no login) ------------------------------------------------------------


def _link_error(request: Request, title: str, message: str, status_code: int) -> Response:
    return render(request, "link_error.html", {"title": title, "message": message}, status_code=status_code)


def _resolve_link(request: Request, token: str) -> tuple[HumanTask, Any, Any] | Response:
    try:
        link = read_task_token(token)
    except LinkExpired:
        return _link_error(
            request,
            "Linket er udløbet",
            "Linket er ikke længere gyldigt. Kontakt jeres konsulent i Socialstyrelsen for at få et nyt.",
            410,
        )
    except LinkInvalid:
        return _link_error(
            request,
            "Linket er ugyldigt",
            "Linket kan ikke bruges. Tjek at I har kopieret hele linket, "
            "eller bed jeres konsulent om et nyt.",
            403,
        )
    try:
        task, course, kommune = read_model.task_with_course(link.task_id)
    except ForloebError:
        return _link_error(
            request, "Opgaven findes ikke", "Opgaven, linket peger på, findes ikke længere.", 404
        )
    if task.course_id != link.course_id or task.assignee_role != "kommune":
        return _link_error(
            request, "Linket er ugyldigt", "Linket passer ikke til en opgave for kommunen.", 403
        )
    if task.status == TaskStatus.COMPLETED:
        return _link_error(
            request,
            "Opgaven er allerede besvaret",
            "Tak, opgaven er besvaret, og linket er derfor brugt. I behøver ikke gøre mere.",
            410,
        )
    return task, course, kommune


def _public_plan(course_id: int) -> dict[str, Any]:
    detail = read_model.course_detail(course_id)
    return {"stages": detail.stages, "meetings": detail.meetings, "programme": detail.programme}


@router.get("/k/{token}")
def municipality_task(request: Request, token: str) -> Response:
    resolved = _resolve_link(request, token)
    if isinstance(resolved, Response):
        return resolved
    task, course, kommune = resolved
    assert task.id is not None and course.id is not None
    record_link_opened(task.id, course.id, kommune.name)
    return _form_page(
        request,
        task,
        template="municipality_task.html",
        action=f"/k/{token}",
        extra={"kommune": kommune, "plan": _public_plan(course.id)},
    )


@router.post("/k/{token}")
async def municipality_submit(request: Request, token: str) -> Response:
    form = await request.form()
    check_csrf(request, form)
    resolved = _resolve_link(request, token)
    if isinstance(resolved, Response):
        return resolved
    task, course, kommune = resolved
    failed = await _submit(request, task, form, actor=f"kommune: {kommune.name} (link)")
    if failed is not None:
        values, by_field, general, status = failed
        return _form_page(
            request,
            task,
            template="municipality_task.html",
            action=f"/k/{token}",
            extra={"kommune": kommune, "plan": _public_plan(course.id)},
            values=values,
            errors=by_field,
            general=general,
            status_code=status,
        )
    return render(request, "link_done.html", {"task": task, "kommune": kommune})


# --- Møder: flyt og aflys (same code as `forloeb meeting move|cancel`) -------------------------


def _meeting_done(change: MeetingChange, verb: str) -> Response:
    meeting = change.meeting
    query = urlencode(
        {"moede": meeting.id, "handling": verb, "sendt": change.sent, "fejlet": len(change.failed)}
    )
    return _redirect(f"/forloeb/{meeting.course_id}?{query}#moeder")


@router.post("/moeder/{meeting_id}/flyt")
async def move_meeting(request: Request, meeting_id: Id, user: User) -> Response:
    """New time: old reminder runs cancelled, new ones scheduled, an updated invitation sent."""
    form = await request.form()
    check_csrf(request, form)
    at = meetings.parse_local(str(form.get("til") or ""))
    change = await run_in_threadpool(meetings.move_meeting, meeting_id, at, actor=user.username)
    return _meeting_done(change, "flyttet")


@router.post("/moeder/{meeting_id}/aflys")
async def cancel_meeting(request: Request, meeting_id: Id, user: User) -> Response:
    form = await request.form()
    check_csrf(request, form)
    change = await run_in_threadpool(meetings.cancel_meeting, meeting_id, actor=user.username)
    return _meeting_done(change, "aflyst")


# --- Notifikationer ---------------------------------------------------------------------------


@router.get("/notifikationer")
def notifications_page(request: Request, user: User) -> Response:
    p = request.query_params
    course_id = _int(p.get("forloeb"), 0) or None
    page = outbox_admin.list_notifications(status=p.get("status") or None, course_id=course_id)
    return render(
        request,
        "notifications.html",
        {
            "page": page,
            "status": p.get("status", ""),
            "course_id": course_id,
            "filters": outbox_admin.STATUS_FILTERS,
        },
    )


@router.post("/notifikationer/{notification_id}/send-igen")
async def retry_notification(request: Request, notification_id: Id, user: User) -> Response:
    form = await request.form()
    check_csrf(request, form)
    outbox_admin.retry_notification(notification_id, actor=user.username, force=form.get("force") == "1")
    return _redirect(f"/notifikationer?status={outbox_admin.ATTENTION}")


# --- Kommuner ---------------------------------------------------------------------------------


@router.get("/kommuner")
def municipalities_page(request: Request, user: User) -> Response:
    region = request.query_params.get("region") or None
    return render(
        request,
        "municipalities.html",
        {
            "rows": read_model.municipality_rows(region),
            "region": region or "",
            "options": read_model.filter_options(),
        },
    )


# --- Konsulenter (admin) ----------------------------------------------------------------------


def _users_page(request: Request, error: str | None = None, values: dict[str, str] | None = None) -> Response:
    return render(
        request,
        "users.html",
        {"users": list_users(), "error": error, "values": values or {}, "roles": list(UserRole)},
        status_code=200 if error is None else 422,
    )


@router.get("/konto")
def account_page(request: Request, user: User) -> Response:
    changed = request.query_params.get("skiftet") == "1"
    return render(request, "account.html", {"error": None, "changed": changed})


@router.post("/konto")
async def change_password(request: Request, user: User) -> Response:
    form = await request.form()
    check_csrf(request, form)
    try:
        change_own_password(
            user.id,
            str(form.get("current") or ""),
            str(form.get("new") or ""),
            str(form.get("repeat") or ""),
        )
    except ForloebError as exc:
        return render(request, "account.html", {"error": exc.message, "changed": False}, status_code=422)
    return _redirect("/konto?skiftet=1")


@router.post("/konsulenter/{user_id}/adgangskode")
async def reset_password(request: Request, user_id: Id, user: Admin) -> Response:
    """An admin gives a consultant a new password (e.g. forgotten); audited with the admin."""
    form = await request.form()
    check_csrf(request, form)
    try:
        set_password(user_id, str(form.get("password") or ""), actor=user.username)
    except InvalidInput as exc:
        return _users_page(request, exc.message)
    return _redirect("/konsulenter")


@router.get("/konsulenter")
def users_page(request: Request, user: Admin) -> Response:
    return _users_page(request)


@router.post("/konsulenter")
async def add_user(request: Request, user: Admin) -> Response:
    form = await request.form()
    check_csrf(request, form)
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
        return _users_page(request, "Ukendt rolle.", values)
    except ForloebError as exc:
        return _users_page(request, exc.message, values)
    return _redirect("/konsulenter")


@router.post("/konsulenter/{user_id}/aktiv")
async def toggle_user(request: Request, user_id: Id, user: Admin) -> Response:
    form = await request.form()
    check_csrf(request, form)
    set_active(user_id, form_str(form, "active") == "1", actor=user.username)
    return _redirect("/konsulenter")
