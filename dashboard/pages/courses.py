"""Forløb: starting a course (/forloeb/ny) and the course page (/forloeb/<id>)."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import Response

from core.clock import today
from core.errors import ForloebError
from dashboard import formgen
from dashboard.deps import CheckedForm, form_str
from dashboard.gantt import gantt_svg
from dashboard.pages.common import Id, Refused, User, form_page, int_param, redirect
from dashboard.templating import render
from models.programmes import latest_version, programme_keys
from models.tables import AccessKind, AccessVia
from services import access_log, courses, municipalities, outbox_admin, privacy, read_model
from services.accounts import CurrentUser

router = APIRouter(include_in_schema=False)


def _new_course(request: Request, user: CurrentUser, refused: Refused | None = None) -> Response:
    return form_page(
        request,
        "course_new.html",
        {
            "values": {"konsulent": user.display_name, "start": today().isoformat()},
            "programmes": [(k, latest_version(k).name) for k in programme_keys()],
            "kommuner": municipalities.list_municipalities(),
        },
        refused,
    )


@router.get("/forloeb/ny")
def new_course_page(request: Request, user: User) -> Response:
    return _new_course(request, user)


@router.post("/forloeb/ny")
def new_course(request: Request, user: User, form: CheckedForm) -> Response:
    values = {k: form_str(form, k) for k in ("kommune", "program", "konsulent", "start")}
    try:
        start = date.fromisoformat(values["start"]) if values["start"] else None
    except ValueError:
        return _new_course(request, user, Refused(values, ["Startdatoen skal være en dato som 2026-03-03."]))
    try:
        course = courses.start_course(
            values["kommune"], values["program"], values["konsulent"], start, actor=user.username
        )
    except ForloebError as exc:
        return _new_course(request, user, Refused.because(exc, values, status_code=422))
    return redirect(f"/forloeb/{course.id}?startet=1")


def _meeting_notice(request: Request) -> dict[str, Any] | None:
    """After a meeting was moved/cancelled here: what happened, for the notice on the course page."""
    p = request.query_params
    if p.get("handling") not in ("flyttet", "aflyst"):
        return None
    return {
        "id": int_param(p.get("moede"), 0),
        "verb": p.get("handling"),
        "sent": int_param(p.get("sendt"), 0),
        "failed": int_param(p.get("fejlet"), 0),
    }


@router.get("/forloeb/{course_id}")
def course_page(request: Request, course_id: Id, user: User, background: BackgroundTasks) -> Response:
    detail = read_model.course_detail(course_id)
    background.add_task(access_log.record_read, AccessKind.COURSE, course_id, user.username, AccessVia.PAGE)
    answers = {t.id: formgen.describe_answer(t.kind, t.answer) for t in detail.tasks}
    notes = outbox_admin.list_notifications(course_id=course_id, limit=50)
    lanes = [(t.key, t.name) for t in detail.programme.tracks] if detail.programme else []
    return render(
        request,
        "course.html",
        {
            "d": detail,
            "gantt": gantt_svg(detail.stages, today(), lanes),
            "track_names": dict(lanes),
            "answers": answers,
            "notifications": notes,
            "done": int_param(request.query_params.get("udfoert"), 0),
            "meeting_change": _meeting_notice(request),
            "started": request.query_params.get("startet") == "1",
            "retention": privacy.course_retention_note(detail.course),
        },
    )
