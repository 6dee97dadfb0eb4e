"""Signed, expiring links that let a municipality (or a partner organisation) answer one task without
an account: for every role that the course's programme says answers by link."""

from __future__ import annotations

from core.db import session_scope
from core.errors import Conflict
from core.links import make_task_token
from models.tables import Course, TaskStatus
from services.audit import audit
from services.read_model import task_with_course


def issue_task_link(task_id: int, *, actor: str) -> str:
    """A token for an open task assigned to the municipality; issuing it is audited."""
    task, course, _kommune = task_with_course(task_id)
    if not answered_by_link(course, task.assignee_role):
        raise Conflict(
            f"Opgave {task_id} besvares i dashboardet ({task.assignee_role}); der laves kun links til "
            "opgaver, som kommunen eller en samarbejdspartner besvarer."
        )
    if task.status != TaskStatus.OPEN:
        raise Conflict(f"Opgave {task_id} er allerede udført.")
    token = make_task_token(task_id, task.course_id)
    with session_scope() as session:
        audit(session, actor=actor, action="kommunelink udstedt", course_id=task.course_id, detail=task.title)
    return token


def record_link_opened(task_id: int, course_id: int, municipality: str) -> None:
    """So the consultant can see that the municipality opened its link (and when)."""
    with session_scope() as session:
        audit(
            session,
            actor=f"kommune: {municipality} (link)",
            action="kommunelink åbnet",
            course_id=course_id,
            detail=f"opgave {task_id}",
        )


def answered_by_link(course: Course, role: str) -> bool:
    """Whether tasks of `role` are answered through a signed link (no login), per the programme."""
    from notifications.compose import answers_by_link

    return answers_by_link(course, role)
