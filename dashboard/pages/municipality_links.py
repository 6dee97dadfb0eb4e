"""The municipality's own pages, reached through a signed link (/k/<token>) without a login: one
task's form and the course's plan, nothing else."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import Response

from core.errors import ForloebError
from core.links import LinkExpired, LinkInvalid, read_task_token
from dashboard.deps import CheckedForm
from dashboard.pages.task_form import TaskFormPage, complete_from_form, show_task_form
from dashboard.templating import render
from models.tables import AccessKind, AccessVia, HumanTask, TaskStatus
from services import access_log, read_model
from services.task_links import answered_by_link, link_revoked, record_link_opened

router = APIRouter(include_in_schema=False)


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
    if task.course_id != link.course_id or not answered_by_link(course, task.assignee_role):
        return _link_error(
            request, "Linket er ugyldigt", "Linket passer ikke til en opgave for kommunen.", 403
        )
    if link_revoked(link):
        return _link_error(
            request,
            "Linket er trukket tilbage",
            "Jeres konsulent i Socialstyrelsen har trukket dette link tilbage, så det kan ikke længere "
            "bruges. Intet er ændret. Kontakt konsulenten, hvis I skal have et nyt link.",
            410,
        )
    if task.status == TaskStatus.COMPLETED:
        return _link_error(
            request,
            "Opgaven er allerede besvaret",
            "Tak, opgaven er besvaret, og linket er derfor brugt. I behøver ikke gøre mere.",
            410,
        )
    return task, course, kommune


def _link_page(token: str, kommune: Any, course_id: int) -> TaskFormPage:
    detail = read_model.course_detail(course_id)
    plan = {"stages": detail.stages, "meetings": detail.meetings, "programme": detail.programme}
    return TaskFormPage("municipality_task.html", f"/k/{token}", {"kommune": kommune, "plan": plan})


@router.get("/k/{token}")
def municipality_task(request: Request, token: str, background: BackgroundTasks) -> Response:
    resolved = _resolve_link(request, token)
    if isinstance(resolved, Response):
        return resolved
    task, course, kommune = resolved
    assert task.id is not None and course.id is not None
    record_link_opened(task.id, course.id, kommune.name)
    # The page shows the course's plan too: a read of the course, in the access log.
    actor = f"kommune: {kommune.name} (link)"
    background.add_task(access_log.record_read, AccessKind.COURSE, course.id, actor, AccessVia.LINK)
    return show_task_form(request, task, _link_page(token, kommune, course.id))


@router.post("/k/{token}")
def municipality_submit(request: Request, token: str, form: CheckedForm) -> Response:
    resolved = _resolve_link(request, token)
    if isinstance(resolved, Response):
        return resolved
    task, course, kommune = resolved
    refused = complete_from_form(task, form, actor=f"kommune: {kommune.name} (link)")
    if refused is not None:
        return show_task_form(request, task, _link_page(token, kommune, course.id), refused)
    return render(request, "link_done.html", {"task": task, "kommune": kommune})
