"""What the course flow does to the application database, one function per side effect.

Every function is idempotent on its own (unique keys, "if not done yet" checks), so a step that
runs again after a crash or a replay changes nothing. The Prefect tasks in `tasks/course.py` are
thin wrappers around these; tests call them directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlmodel import Session, select

from core.clock import COPENHAGEN, as_utc, local_to_utc, now, today
from core.db import session_scope
from core.errors import NotFound
from core.workdays import add_working_days, next_working_day, previous_working_day
from models.programmes import MEETING_TITLES, MeetingRule, ProgrammeDef, get_programme
from models.tables import (
    Contact,
    Course,
    CourseStatus,
    HumanTask,
    Meeting,
    MeetingStatus,
    Municipality,
    StageRun,
    StageStatus,
    TaskStatus,
)
from services.audit import audit

FLOW_ACTOR = "forløbsflow"


@dataclass(frozen=True)
class CourseHeader:
    """The parts of a course that never change after it starts."""

    id: int
    programme: str
    programme_version: int
    municipality: str
    start_date: date


@dataclass(frozen=True)
class StepState:
    task_id: int
    status: TaskStatus
    applied: bool
    answer: dict[str, Any] | None


def _course(session: Session, course_id: int) -> Course:
    course = session.get(Course, course_id)
    if course is None:
        raise NotFound(f"Forløb {course_id} findes ikke.")
    return course


def course_header(course_id: int) -> CourseHeader:
    with session_scope() as session:
        course = _course(session, course_id)
        municipality = session.get(Municipality, course.municipality_code)
        return CourseHeader(
            id=course_id,
            programme=course.programme,
            programme_version=course.programme_version,
            municipality=municipality.name if municipality else str(course.municipality_code),
            start_date=course.start_date,
        )


def plan_stages(programme: ProgrammeDef, start: date) -> list[tuple[str, str, date, date]]:
    """Planned (key, name, start, end) of every stage, back to back, on working days."""
    plan = []
    cursor = next_working_day(start)
    for stage in programme.stages:
        end = previous_working_day(cursor + timedelta(weeks=stage.planned_weeks) - timedelta(days=1))
        end = max(end, cursor)
        plan.append((stage.key, stage.name, cursor, end))
        cursor = next_working_day(end + timedelta(days=1))
    return plan


def activate_course(course_id: int, flow_run_id: str | None) -> None:
    """Mark the course active and lay out its stage plan (once)."""
    with session_scope() as session:
        course = _course(session, course_id)
        if course.status in (CourseStatus.STARTING, CourseStatus.FAILED):
            course.status = CourseStatus.ACTIVE
        if flow_run_id and not course.flow_run_id:
            course.flow_run_id = flow_run_id
        session.add(course)
        existing = set(session.exec(select(StageRun.stage_key).where(StageRun.course_id == course_id)))
        programme = get_programme(course.programme, course.programme_version)
        for position, (key, name, start, end) in enumerate(plan_stages(programme, course.start_date), 1):
            if key not in existing:
                session.add(
                    StageRun(
                        course_id=course_id,
                        stage_key=key,
                        position=position,
                        name=name,
                        planned_start=start,
                        planned_end=end,
                    )
                )
        audit(
            session,
            actor=FLOW_ACTOR,
            action="forløb startet",
            course_id=course_id,
            detail=f"{programme.name} (version {programme.version})",
            dedupe_key=f"{course_id}:activated",
        )


def _stage_run(session: Session, course_id: int, stage_key: str) -> StageRun:
    run = session.exec(
        select(StageRun).where(StageRun.course_id == course_id, StageRun.stage_key == stage_key)
    ).one_or_none()
    if run is None:
        raise NotFound(f"Fase {stage_key!r} findes ikke i forløb {course_id}.")
    return run


def begin_stage(course_id: int, stage_key: str) -> None:
    with session_scope() as session:
        run = _stage_run(session, course_id, stage_key)
        if run.status == StageStatus.PLANNED:
            run.status = StageStatus.ACTIVE
            run.actual_start = now()
            session.add(run)
        course = _course(session, course_id)
        if course.current_stage != stage_key:
            course.current_stage = stage_key
            course.current_stage_since = run.actual_start or now()
            session.add(course)
        audit(
            session,
            actor=FLOW_ACTOR,
            action="fase startet",
            course_id=course_id,
            detail=run.name,
            dedupe_key=f"{course_id}:stage-begin:{stage_key}",
        )


def finish_stage(course_id: int, stage_key: str) -> None:
    with session_scope() as session:
        run = _stage_run(session, course_id, stage_key)
        if run.status != StageStatus.DONE:
            run.status = StageStatus.DONE
            run.actual_end = now()
            session.add(run)
        audit(
            session,
            actor=FLOW_ACTOR,
            action="fase afsluttet",
            course_id=course_id,
            detail=run.name,
            dedupe_key=f"{course_id}:stage-finish:{stage_key}",
        )


def progress(course_id: int) -> tuple[set[str], dict[str, dict[str, Any]]]:
    """Finished stage keys and every answer the flow has already acted on."""
    with session_scope() as session:
        done = set(
            session.exec(
                select(StageRun.stage_key).where(
                    StageRun.course_id == course_id, StageRun.status == StageStatus.DONE
                )
            )
        )
        answers = {
            task.key: task.answer
            for task in session.exec(
                select(HumanTask).where(HumanTask.course_id == course_id, HumanTask.applied == True)  # noqa: E712
            )
            if task.answer is not None
        }
        return done, answers


def read_step(course_id: int, key: str) -> StepState | None:
    with session_scope() as session:
        task = session.exec(
            select(HumanTask).where(HumanTask.course_id == course_id, HumanTask.key == key)
        ).one_or_none()
        if task is None or task.id is None:
            return None
        return StepState(task.id, task.status, task.applied, task.answer)


def _meeting(session: Session, course_id: int, meeting_key: str) -> Meeting | None:
    return session.exec(
        select(Meeting).where(Meeting.course_id == course_id, Meeting.key == meeting_key)
    ).one_or_none()


def open_task(
    course_id: int,
    stage_key: str,
    key: str,
    form: str,
    title: str,
    assignee: str,
    due_working_days: int,
    meeting_key: str | None = None,
) -> int:
    """Create the human task the flow is about to wait on (once); returns its id."""
    with session_scope() as session:
        task = session.exec(
            select(HumanTask).where(HumanTask.course_id == course_id, HumanTask.key == key)
        ).one_or_none()
        if task is None:
            due = add_working_days(today(), due_working_days)
            meeting = _meeting(session, course_id, meeting_key) if meeting_key else None
            if meeting is not None:
                # Registering a meeting as held is due on the meeting's own day.
                due = as_utc(meeting.planned_at).astimezone(COPENHAGEN).date()
            task = HumanTask(
                course_id=course_id,
                stage_key=stage_key,
                key=key,
                kind=form,
                title=title,
                assignee_role=assignee,
                due_date=due,
            )
            session.add(task)
            session.flush()
            audit(
                session,
                actor=FLOW_ACTOR,
                action="opgave oprettet",
                course_id=course_id,
                detail=title,
                dedupe_key=f"{course_id}:task-open:{key}",
            )
        assert task.id is not None
        return task.id


def apply_answer(
    course_id: int,
    key: str,
    answer: dict[str, Any],
    meeting_key: str | None = None,
    meeting_rule: dict[str, Any] | None = None,
) -> None:
    """Act on a task's answer: meetings, contacts, the task row itself. Runs once per answer."""
    rule = MeetingRule.model_validate(meeting_rule) if meeting_rule else None
    with session_scope() as session:
        task = session.exec(
            select(HumanTask).where(HumanTask.course_id == course_id, HumanTask.key == key)
        ).one()
        if task.applied:
            return
        if task.status != TaskStatus.COMPLETED:
            # Resumed straight from the Prefect UI, not through our CLI/API.
            task.status = TaskStatus.COMPLETED
            task.answer = answer
            task.completed_by = "prefect-ui"
            task.completed_at = now()
        if rule and meeting_key:
            _apply_meeting(session, course_id, meeting_key, rule, answer)
        for person in answer.get("kontaktpersoner", []):
            exists = session.exec(
                select(Contact.id).where(Contact.course_id == course_id, Contact.email == person["email"])
            ).first()
            if exists is None:
                session.add(
                    Contact(
                        course_id=course_id, name=person["navn"], role=person["rolle"], email=person["email"]
                    )
                )
        task.applied = True
        session.add(task)


def _apply_meeting(
    session: Session, course_id: int, meeting_key: str, rule: MeetingRule, answer: dict[str, Any]
) -> None:
    meeting = _meeting(session, course_id, meeting_key)
    if rule.action == "plan":
        planned_at = local_to_utc(datetime.fromisoformat(answer["tidspunkt"]))
        if meeting is None:
            session.add(
                Meeting(
                    course_id=course_id,
                    key=meeting_key,
                    kind=rule.kind,
                    title=meeting_title(rule.kind, meeting_key),
                    planned_at=planned_at,
                    location=answer.get("sted", ""),
                )
            )
    elif rule.action == "hold" and meeting is not None and meeting.status != MeetingStatus.HELD:
        meeting.status = MeetingStatus.HELD
        meeting.held_on = date.fromisoformat(answer["afholdt_dato"])
        session.add(meeting)


def meeting_title(kind: str, meeting_key: str) -> str:
    title = MEETING_TITLES.get(kind, kind)
    suffix = meeting_key.removeprefix(kind).lstrip("-")
    return f"{title} {suffix}" if suffix else title


def schedule_meeting(
    course_id: int, meeting_key: str, kind: str, on: date, at: time, location: str = ""
) -> int:
    """Put a meeting in the calendar without asking anyone (the revisit)."""
    with session_scope() as session:
        meeting = _meeting(session, course_id, meeting_key)
        if meeting is None:
            meeting = Meeting(
                course_id=course_id,
                key=meeting_key,
                kind=kind,
                title=meeting_title(kind, meeting_key),
                planned_at=local_to_utc(datetime.combine(on, at)),
                location=location or "Aftales nærmere",
            )
            session.add(meeting)
            session.flush()
            audit(
                session,
                actor=FLOW_ACTOR,
                action="møde planlagt",
                course_id=course_id,
                detail=f"{meeting.title} {on.isoformat()}",
                dedupe_key=f"{course_id}:meeting-scheduled:{meeting_key}",
            )
        assert meeting.id is not None
        return meeting.id


def complete_course(course_id: int) -> None:
    with session_scope() as session:
        course = _course(session, course_id)
        if course.status != CourseStatus.COMPLETED:
            course.status = CourseStatus.COMPLETED
            course.completed_at = now()
            session.add(course)
        audit(
            session,
            actor=FLOW_ACTOR,
            action="forløb afsluttet",
            course_id=course_id,
            dedupe_key=f"{course_id}:completed",
        )


def mark_course_running(course_id: int) -> None:
    """A (re)started run: a course marked failed is active again (retried from the Prefect UI)."""
    with session_scope() as session:
        course = _course(session, course_id)
        if course.status == CourseStatus.FAILED:
            course.status = CourseStatus.ACTIVE
            session.add(course)
            audit(session, actor=FLOW_ACTOR, action="forløb genoptaget efter fejl", course_id=course_id)


def mark_course_failed(course_id: int, reason: str) -> None:
    with session_scope() as session:
        course = _course(session, course_id)
        if course.status in (CourseStatus.STARTING, CourseStatus.ACTIVE):
            course.status = CourseStatus.FAILED
            session.add(course)
        audit(session, actor=FLOW_ACTOR, action="forløb fejlet", course_id=course_id, detail=reason[:500])


def note_outage(course_id: int, what: str) -> None:
    """The run stopped on an outage: the course stays active (the runner hands the run back)."""
    with session_scope() as session:
        audit(
            session,
            actor=FLOW_ACTOR,
            action="forløb afbrudt af driftsfejl",
            course_id=course_id,
            detail=f"{what}; kørslen genoptages automatisk",
        )
