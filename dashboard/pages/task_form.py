"""A task's generated form, shared by the consultant's task page (/opgaver/<id>) and the
municipality's link page (/k/<token>): showing it, and completing the task from what was posted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from starlette.datastructures import FormData

from core.errors import ForloebError
from dashboard import formgen
from dashboard.pages.common import Refused, form_page
from models.tables import HumanTask
from services import courses


@dataclass(frozen=True)
class TaskFormPage:
    """Where a task's form is shown: its template, where it posts to, what else the page shows."""

    template: str
    action: str
    extra: dict[str, Any] = field(default_factory=dict)


def show_task_form(
    request: Request, task: HumanTask, page: TaskFormPage, refused: Refused | None = None
) -> Response:
    context = {
        "task": task,
        "action": page.action,
        "answer": formgen.describe_answer(task.kind, task.answer),
        **page.extra,
    }
    return form_page(request, page.template, context, refused, task_kind=task.kind)


def complete_from_form(task: HumanTask, form: FormData, *, actor: str) -> Refused | None:
    """Complete the task with the posted answer (validated, stored, the course resumed); None when
    done, else what to show again (errors by field, the error's own status)."""
    data = formgen.parse_form(task.kind, form)
    assert task.id is not None
    try:
        courses.complete_task(task.id, data, actor=actor, course_id=task.course_id)
    except ForloebError as exc:
        return Refused.because(exc, data, by_field=True)
    return None
