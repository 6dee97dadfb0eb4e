"""Opgaver: the task inbox, a task's form (/opgaver/<id>) and issuing a municipality its link."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dashboard.deps import CheckedForm
from dashboard.pages.common import Id, User, redirect
from dashboard.pages.task_form import TaskFormPage, complete_from_form, show_task_form
from dashboard.templating import render
from models.tables import Course, Municipality
from services import evaluation, read_model
from services.task_links import issue_task_link, links_revoked_at, revoke_task_links

router = APIRouter(include_in_schema=False)


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


def _by_link(task_id: int, course: Course) -> bool:
    from services.read_model import get_task
    from services.task_links import answered_by_link

    return answered_by_link(course, get_task(task_id).assignee_role)


def _evaluation(task_id: int, course: Course) -> evaluation.EvaluationStatus | None:
    """An open evaluation task with links sent: the count and 'Luk evalueringen' instead of the form."""
    assert course.id is not None
    counted = evaluation.status(course.id)
    return counted if counted.open_task_id == task_id and counted.sent else None


def _task_page(task_id: int, course: Course, kommune: Municipality, link: str | None = None) -> TaskFormPage:
    return TaskFormPage(
        "task.html",
        f"/opgaver/{task_id}",
        {
            "course": course,
            "kommune": kommune,
            "link": link,
            "by_link": _by_link(task_id, course),
            "links_revoked_at": links_revoked_at(task_id),
            "evaluation": _evaluation(task_id, course),
        },
    )


@router.get("/opgaver/{task_id}")
def task_page(request: Request, task_id: Id, user: User) -> Response:
    task, course, kommune = read_model.task_with_course(task_id)
    return show_task_form(request, task, _task_page(task_id, course, kommune))


@router.post("/opgaver/{task_id}")
def submit_task(request: Request, task_id: Id, user: User, form: CheckedForm) -> Response:
    task, course, kommune = read_model.task_with_course(task_id)
    refused = complete_from_form(task, form, actor=user.username)
    if refused is not None:
        return show_task_form(request, task, _task_page(task_id, course, kommune), refused)
    return redirect(f"/forloeb/{task.course_id}?udfoert={task_id}")


@router.post("/opgaver/{task_id}/kommunelink")
def make_link(request: Request, task_id: Id, user: User, form: CheckedForm) -> Response:
    token = issue_task_link(task_id, actor=user.username)
    task, course, kommune = read_model.task_with_course(task_id)
    link = str(request.url_for("municipality_task", token=token))
    return show_task_form(request, task, _task_page(task_id, course, kommune, link))


@router.post("/opgaver/{task_id}/kommunelink/tilbagekald")
def revoke_links(request: Request, task_id: Id, user: User, form: CheckedForm) -> Response:
    """Every link to this task issued until now stops working (audited); a new one can be made."""
    revoke_task_links(task_id, actor=user.username)
    return redirect(f"/opgaver/{task_id}?tilbagekaldt=1")
