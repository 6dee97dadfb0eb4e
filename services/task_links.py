"""Signed, expiring links that let a municipality (or a partner organisation) answer one task without
an account: for every role that the course's programme says answers by link.

A link opens exactly one task (its id and course are signed into it) and the course's plan, nothing
else. A consultant can revoke the links to a task (one sent to the wrong person, say): every link
to it signed before that moment is refused; a link made afterwards (a new one from the task page, a
reminder's) works. Revoking is audited and changes nothing else."""

from __future__ import annotations

from datetime import UTC, datetime

from core.db import session_scope
from core.errors import Conflict
from core.links import TaskLink, make_task_token
from models.tables import Course, TaskLinkRevocation, TaskStatus
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


def revoke_task_links(task_id: int, *, actor: str) -> datetime:
    """Refuse every link to the task issued until now (audited); returns the moment."""
    task, _course, _kommune = task_with_course(task_id)
    if task.status != TaskStatus.OPEN:
        raise Conflict(f"Opgave {task_id} er allerede udført; dens links virker ikke længere.")
    at = datetime.now(UTC)  # the wall clock links are signed with (not the app's `now()`, tests move that)
    with session_scope() as session:
        row = session.get(TaskLinkRevocation, task_id)
        if row is None:
            row = TaskLinkRevocation(task_id=task_id, revoked_at=at, revoked_by=actor)
        row.revoked_at, row.revoked_by = at, actor
        session.add(row)
        audit(
            session,
            actor=actor,
            action="kommunelinks tilbagekaldt",
            course_id=task.course_id,
            detail=task.title,
        )
    return at


def links_revoked_at(task_id: int) -> datetime | None:
    with session_scope() as session:
        row = session.get(TaskLinkRevocation, task_id)
        return None if row is None else _aware(row.revoked_at)


def link_revoked(link: TaskLink) -> bool:
    """Whether the link was signed before its task's links were revoked."""
    revoked = links_revoked_at(link.task_id)
    return revoked is not None and link.issued_at <= revoked.timestamp()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)  # SQLite reads naive UTC
