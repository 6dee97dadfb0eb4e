"""What consultants do, as functions: the CLI, the API and the dashboard all call these.

Every function either does all of its work or raises a `ForloebError` and changes nothing.
"""

from __future__ import annotations

import csv
import difflib
import unicodedata
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from forloeb.clock import days_since, format_local, now, today
from forloeb.course_ops import audit
from forloeb.cpr import any_contains_cpr
from forloeb.db import session_scope
from forloeb.errors import (
    AlreadyCompleted,
    AmbiguousMunicipality,
    Conflict,
    CprNumberFound,
    InvalidInput,
    NotFound,
)
from models.forms import CPR_MESSAGE, get_form
from models.programmes import get_programme, latest_version, programme_keys
from models.tables import (
    ACTIVE_STATUSES,
    Course,
    CourseStatus,
    HumanTask,
    Meeting,
    MeetingStatus,
    Municipality,
    StageRun,
    TaskStatus,
)

# --- municipalities -------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Case- and spelling-insensitive key: 'Århus', 'aarhus' and 'AARHUS' fold alike."""
    text = unicodedata.normalize("NFC", text).casefold().strip()
    for old, new in (("å", "aa"), ("æ", "ae"), ("ø", "oe"), ("-", " ")):
        text = text.replace(old, new)
    return " ".join(text.split())


def seed_municipalities(csv_path: Path) -> int:
    """Load the municipalities (code,name,region); existing rows are updated. Returns the count."""
    with csv_path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with session_scope() as session:
        for row in rows:
            session.merge(Municipality(code=int(row["code"]), name=row["name"], region=row["region"]))
    return len(rows)


def list_municipalities(search: str | None = None) -> list[Municipality]:
    with session_scope() as session:
        rows = list(session.exec(select(Municipality).order_by(Municipality.name)))
    if search:
        key = _fold(search)
        rows = [m for m in rows if key in _fold(m.name) or key in _fold(m.region) or search == str(m.code)]
    return rows


def find_municipality(session: Session, query: str) -> Municipality:
    """By code ('751') or name, case-insensitive ('aarhus', 'Århus'). Ambiguous → candidates."""
    query = query.strip()
    if query.isdigit():
        found = session.get(Municipality, int(query))
        if found is None:
            raise NotFound(f"Ingen kommune har koden {query}.")
        return found
    everyone = list(session.exec(select(Municipality)))
    key = _fold(query)
    exact = [m for m in everyone if _fold(m.name) == key]
    if exact:
        return exact[0]
    partial = [m for m in everyone if _fold(m.name).startswith(key) or key in _fold(m.name)]
    if len(partial) == 1:
        return partial[0]
    if partial:
        names = ", ".join(sorted(f"{m.name} ({m.code})" for m in partial))
        raise AmbiguousMunicipality(
            f"'{query}' passer på flere kommuner: {names}. Angiv navnet helt eller koden.",
            details=[m.code for m in partial],
        )
    close = difflib.get_close_matches(key, [_fold(m.name) for m in everyone], n=3, cutoff=0.7)
    hint = ""
    if close:
        hint = " Mente du: " + ", ".join(m.name for m in everyone if _fold(m.name) in close) + "?"
    raise NotFound(f"Kommunen '{query}' findes ikke.{hint}")


# --- courses --------------------------------------------------------------------------------


def start_course(
    municipality: str,
    programme: str,
    consultant: str,
    start_date: date | None = None,
    *,
    actor: str | None = None,
) -> Course:
    """Create the course and its flow run. Nothing is kept if Prefect cannot take it."""
    from forloeb import orchestrator

    if programme not in programme_keys():
        raise InvalidInput(f"Ukendt program '{programme}'. Vælg et af: {', '.join(programme_keys())}.")
    consultant = consultant.strip()
    if not consultant:
        raise InvalidInput("Angiv konsulentens navn.")
    if any_contains_cpr(consultant):
        raise CprNumberFound(CPR_MESSAGE)
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
        course.flow_run_id = orchestrator.create_course_run(
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


def _refuse_second_active(session: Session, kommune: Municipality, programme: str) -> None:
    existing = session.exec(
        select(Course).where(
            Course.municipality_code == kommune.code,
            Course.programme == programme,
            col(Course.status).in_(ACTIVE_STATUSES),
        )
    ).first()
    if existing is not None:
        raise Conflict(
            f"{kommune.name} har allerede et aktivt forløb i programmet '{programme}' "
            f"(forløb {existing.id}). Afslut det, før et nyt startes."
        )


def get_course(course_id: int) -> Course:
    with session_scope() as session:
        course = session.get(Course, course_id)
        if course is None:
            raise NotFound(f"Forløb {course_id} findes ikke.")
        return course


@dataclass(frozen=True)
class CourseSummary:
    id: int
    municipality: str
    programme: str
    consultant: str
    status: str
    stage_key: str | None
    stage_name: str | None
    stage_position: int | None
    stage_count: int
    days_in_stage: int | None
    next_task: HumanTask | None
    open_tasks: int
    overdue_tasks: int
    next_meeting: Meeting | None
    flow_run_id: str | None


def course_summaries(course_id: int | None = None) -> list[CourseSummary]:
    """One row per course for overviews (a fixed number of queries, whatever the count)."""
    with session_scope() as session:
        query = (
            select(Course, Municipality).join(Municipality).order_by(col(Municipality.name), col(Course.id))
        )
        if course_id is not None:
            query = query.where(Course.id == course_id)
        rows = list(session.exec(query))
        if course_id is not None and not rows:
            raise NotFound(f"Forløb {course_id} findes ikke.")
        ids = [c.id for c, _ in rows]
        open_tasks: dict[int, list[HumanTask]] = {}
        for task in session.exec(
            select(HumanTask)
            .where(col(HumanTask.course_id).in_(ids), HumanTask.status == TaskStatus.OPEN)
            .order_by(col(HumanTask.due_date))
        ):
            open_tasks.setdefault(task.course_id, []).append(task)
        meetings: dict[int, Meeting] = {}
        for meeting in session.exec(
            select(Meeting)
            .where(
                col(Meeting.course_id).in_(ids),
                Meeting.status == MeetingStatus.PLANNED,
                col(Meeting.planned_at) >= now(),
            )
            .order_by(col(Meeting.planned_at))
        ):
            meetings.setdefault(meeting.course_id, meeting)
    day = today()
    result = []
    for course, kommune in rows:
        assert course.id is not None
        programme = get_programme(course.programme, course.programme_version)
        stage = programme.stage(course.current_stage) if course.current_stage else None
        tasks = open_tasks.get(course.id, [])
        result.append(
            CourseSummary(
                id=course.id,
                municipality=kommune.name,
                programme=course.programme,
                consultant=course.consultant,
                status=course.status.value,
                stage_key=stage.key if stage else None,
                stage_name=stage.name if stage else None,
                stage_position=programme.stage_position[stage.key] if stage else None,
                stage_count=len(programme.stages),
                days_in_stage=days_since(course.current_stage_since, day),
                next_task=tasks[0] if tasks else None,
                open_tasks=len(tasks),
                overdue_tasks=sum(1 for t in tasks if t.due_date < day),
                next_meeting=meetings.get(course.id),
                flow_run_id=course.flow_run_id,
            )
        )
    return result


def stage_runs(course_id: int) -> list[StageRun]:
    with session_scope() as session:
        return list(
            session.exec(
                select(StageRun).where(StageRun.course_id == course_id).order_by(col(StageRun.position))
            )
        )


def course_meetings(course_id: int) -> list[Meeting]:
    with session_scope() as session:
        return list(
            session.exec(
                select(Meeting).where(Meeting.course_id == course_id).order_by(col(Meeting.planned_at))
            )
        )


# --- tasks ----------------------------------------------------------------------------------


def list_tasks(
    *, course_id: int | None = None, overdue: bool = False, include_done: bool = False
) -> list[tuple[HumanTask, str]]:
    """Tasks with their municipality's name, overdue first, then by due date."""
    with session_scope() as session:
        query = (
            select(HumanTask, Municipality.name)
            .join(Course, col(HumanTask.course_id) == col(Course.id))
            .join(Municipality, col(Course.municipality_code) == col(Municipality.code))
        )
        if course_id is not None:
            query = query.where(HumanTask.course_id == course_id)
        if not include_done:
            query = query.where(HumanTask.status == TaskStatus.OPEN)
        if overdue:
            query = query.where(HumanTask.status == TaskStatus.OPEN, col(HumanTask.due_date) < today())
        query = query.order_by(col(HumanTask.due_date), col(HumanTask.id))
        return [(task, name) for task, name in session.exec(query)]


def get_task(task_id: int) -> HumanTask:
    with session_scope() as session:
        task = session.get(HumanTask, task_id)
        if task is None:
            raise NotFound(f"Opgave {task_id} findes ikke.")
        return task


def validation_messages(exc: ValidationError) -> list[str]:
    """Danish, one line per problem; never echoes the input (it might hold personal data)."""
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "formularen"
        message = str(error["msg"]).removeprefix("Value error, ")
        lines.append(f"{where}: {_danish(error['type'], message)}")
    return lines


_DANISH = {
    "missing": "skal udfyldes",
    "extra_forbidden": "er ikke et felt i denne formular",
    "int_parsing": "skal være et helt tal",
    "int_type": "skal være et helt tal",
    "bool_parsing": "skal være ja/nej (true/false)",
    "bool_type": "skal være ja/nej (true/false)",
    "date_from_datetime_parsing": "skal være en dato som 2026-03-03",
    "date_parsing": "skal være en dato som 2026-03-03",
    "date_type": "skal være en dato som 2026-03-03",
    "datetime_from_date_parsing": "skal være et tidspunkt som 2026-03-03 10:00",
    "datetime_parsing": "skal være et tidspunkt som 2026-03-03 10:00",
    "datetime_type": "skal være et tidspunkt som 2026-03-03 10:00",
    "string_type": "skal være tekst",
    "list_type": "skal være en liste",
    "too_short": "har for få elementer eller tegn",
    "too_long": "har for mange elementer eller tegn",
    "string_too_short": "skal udfyldes",
    "string_too_long": "er for lang",
    "string_pattern_mismatch": "har et ugyldigt format",
    "greater_than_equal": "er for lille",
    "less_than_equal": "er for stor",
    "literal_error": "har en ugyldig værdi",
}


def _danish(error_type: str, message: str) -> str:
    if error_type in _DANISH:
        return f"{_DANISH[error_type]} ({message})"
    return message


def validate_answer(task: HumanTask, data: dict[str, Any]) -> dict[str, Any]:
    """The answer as JSON-ready data, or `InvalidInput` with every problem listed."""
    if any_contains_cpr(data):
        raise CprNumberFound(CPR_MESSAGE)
    form = get_form(task.kind)
    try:
        return form.model_validate(data).model_dump(mode="json")
    except ValidationError as exc:
        messages = validation_messages(exc)
        raise InvalidInput(
            "Formularen er ikke gyldig:\n- " + "\n- ".join(messages), details=messages
        ) from None


def complete_task(
    task_id: int, data: dict[str, Any], *, actor: str, course_id: int | None = None
) -> HumanTask:
    """Validate the answer, store it and resume the course. Completing twice is refused."""
    from forloeb import orchestrator

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
        task.status = TaskStatus.COMPLETED
        task.answer = answer
        task.completed_by = actor
        task.completed_at = now()
        session.add(task)
        audit(session, actor=actor, action="opgave udført", course_id=task.course_id, detail=task.title)
        session.flush()
        # Resume last: if Prefect refuses, the exception rolls the row back and nothing changed.
        # If the commit after a successful resume failed, the flow stores the answer itself.
        orchestrator.resume_course_run(course.flow_run_id, task.key, answer)
        return task


def task_form_schema(task: HumanTask) -> dict[str, Any]:
    return get_form(task.kind).model_json_schema()


def course_count_by_stage() -> dict[str | None, int]:
    with session_scope() as session:
        rows = session.exec(
            select(Course.current_stage, func.count())
            .where(col(Course.status).in_(ACTIVE_STATUSES))
            .group_by(Course.current_stage)
        )
        return {stage: count for stage, count in rows}


# --- notifications (issue 4) ----------------------------------------------------------------


def retry_notification(notification_id: int, *, actor: str, force: bool = False) -> bool:
    """Send a failed outbox row again; the attempt and its outcome are audited with the person.

    Refused (`Conflict`, nothing sent, nothing audited): a sent row, a row being sent right now,
    and - unless `force` - a row whose earlier send was interrupted and may have arrived."""
    from notifications import outbox

    row = outbox.get_row(notification_id)

    def record(outcome: str) -> None:
        with session_scope() as session:
            audit(
                session,
                actor=actor,
                action="notifikation sendt igen" + (" (tvunget)" if force else ""),
                course_id=row.course_id,
                detail=f"#{notification_id} {row.purpose} til {row.recipient}: {outcome}",
            )

    try:
        sent = outbox.retry(notification_id, force=force)
    except outbox.DeliveryFailed:
        record("fejlede igen")
        raise
    record("sendt")
    return sent


__all__ = ["CourseStatus"]
