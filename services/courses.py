"""Starting and completing courses: what a consultant (or a municipality through its link) does.

Every function either does all of its work or raises a `ForloebError` and changes nothing.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.clock import format_local, now, today
from core.cpr import refuse_cpr
from core.db import session_scope
from core.errors import (
    AlreadyCompleted,
    Conflict,
    ForloebError,
    InvalidInput,
    NotFound,
    validation_messages,
)
from core.labels import label
from models.forms import get_form
from models.programmes import latest_version, programme_keys
from models.tables import ACTIVE_STATUSES, Course, CourseStatus, HumanTask, Municipality, TaskStatus
from services.audit import audit
from services.municipalities import find_municipality


def start_course(
    municipality: str,
    programme: str,
    consultant: str,
    start_date: date | None = None,
    *,
    actor: str | None = None,
    application_id: int | None = None,
    focus: str | None = None,
) -> Course:
    """Create the course and its flow run. Nothing is kept if Prefect cannot take it. A course
    from an application (`services.applications`) carries its id and the focus it asked for."""
    from services import prefect_gateway

    if programme not in programme_keys():
        raise InvalidInput(f"Ukendt program '{programme}'. Vælg et af: {', '.join(programme_keys())}.")
    consultant = consultant.strip()
    if not consultant:
        raise InvalidInput("Angiv konsulentens navn.")
    refuse_cpr(consultant)
    definition = latest_version(programme)
    start = start_date or today()
    with session_scope() as session:
        kommune = find_municipality(session, municipality)
        _refuse_second_active(session, kommune, programme)
        course = Course(
            municipality_code=kommune.code,
            programme=programme,
            programme_version=definition.version,
            consultant=consultant,
            start_date=start,
            application_id=application_id,
            focus=focus or None,
        )
        session.add(course)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(
                f"{kommune.name} har allerede et aktivt forløb i programmet '{programme}'."
            ) from None
        assert course.id is not None
        # If Prefect refuses, the exception rolls the course row back with everything else.
        course.flow_run_id = prefect_gateway.create_course_run(
            course.id,
            course.uid,
            run_name=f"{kommune.name} · {definition.name}",
            tags=["forloeb", f"programme:{programme}", f"kommune:{kommune.code}"],
        )
        session.add(course)
        audit(
            session,
            actor=actor or consultant,
            action="forløb oprettet",
            course_id=course.id,
            detail=f"{kommune.name}, {definition.name}, start {start.isoformat()}",
        )
        return course


def active_course(session: Session, municipality_code: int, programme: str) -> Course | None:
    """The municipality's active (or starting) course in the programme, if any."""
    return session.exec(
        select(Course).where(
            Course.municipality_code == municipality_code,
            Course.programme == programme,
            col(Course.status).in_(ACTIVE_STATUSES),
        )
    ).first()


def _refuse_second_active(session: Session, kommune: Municipality, programme: str) -> None:
    existing = active_course(session, kommune.code, programme)
    if existing is not None:
        raise Conflict(
            f"{kommune.name} har allerede et aktivt forløb i programmet '{programme}' "
            f"(forløb {existing.id}). Afslut det, før et nyt startes."
        )


def validate_answer(task: HumanTask, data: dict[str, Any]) -> dict[str, Any]:
    """The answer as JSON-ready data, or `InvalidInput` with every problem listed."""
    refuse_cpr(data)
    form = get_form(task.kind)
    try:
        return form.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        messages = validation_messages(exc.errors(include_input=False, include_url=False))
        raise InvalidInput(
            "Formularen er ikke gyldig:\n- " + "\n- ".join(messages), details=messages
        ) from None


def complete_task(
    task_id: int, data: dict[str, Any], *, actor: str, course_id: int | None = None
) -> HumanTask:
    """Validate the answer, store it and let the course go on. Completing twice is refused.

    The answer is stored before the run is resumed: once this returns it is never lost. If the
    run cannot be resumed right now (it is just moving on, or Prefect hiccups), the run reads the
    answer itself, or the lead runner's repair loop resumes it (`services.recovery`)."""
    import logging

    from services import prefect_gateway

    refuse_cpr(data, actor)  # first: a CPR number is refused even when Prefect is down
    prefect_gateway.ensure_reachable()  # Prefect down: refuse before anything is stored
    with session_scope() as session:
        task = session.get(HumanTask, task_id, with_for_update=True)
        if task is None:
            raise NotFound(f"Opgave {task_id} findes ikke.")
        if course_id is not None and task.course_id != course_id:
            raise Conflict(
                f"Opgave {task_id} hører ikke til forløb {course_id}, men til forløb {task.course_id}."
            )
        if task.status == TaskStatus.COMPLETED:
            when = format_local(task.completed_at) or "?"
            raise AlreadyCompleted(
                f"Opgave {task_id} ('{task.title}') er allerede udført af {task.completed_by} {when}. "
                "Forløbet er ikke genoptaget igen."
            )
        answer = validate_answer(task, data)
        course = session.get(Course, task.course_id)
        assert course is not None
        if not course.flow_run_id:
            raise Conflict(f"Forløb {course.id} har ingen flow-kørsel.")
        if course.status in (CourseStatus.COMPLETED, CourseStatus.CANCELLED):
            raise Conflict(f"Forløb {course.id} er {label(course.status.value)}; svaret er ikke gemt.")
        task.status = TaskStatus.COMPLETED
        task.answer = answer
        task.completed_by = actor
        task.completed_at = now()
        session.add(task)
        audit(session, actor=actor, action="opgave udført", course_id=task.course_id, detail=task.title)
        flow_run_id = course.flow_run_id
        session.flush()
        session.expunge(task)
    try:
        prefect_gateway.wake_course_run(flow_run_id, legacy=(task.key, answer, get_form(task.kind)))
    except ForloebError as exc:  # stored: the repair loop delivers it (answer_not_delivered)
        logging.getLogger(__name__).warning(
            "Svaret på opgave %s er gemt, men forløbet kunne ikke genoptages nu: %s", task_id, exc.message
        )
    return task


def task_form_schema(task: HumanTask) -> dict[str, Any]:
    return get_form(task.kind).model_json_schema()
