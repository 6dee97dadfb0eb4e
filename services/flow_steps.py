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

from core.clock import local_date, local_to_utc, now, today
from core.db import session_scope
from core.errors import NotFound
from core.workdays import add_working_days, next_working_day, previous_working_day, revisit_date
from models.programmes import ProgrammeDef, StepDef, find_programme, get_programme
from models.tables import (
    Contact,
    Course,
    CourseStatus,
    FlowMark,
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


def plan_stages(programme: ProgrammeDef, start: date) -> list[tuple[str, str, str, int, date, date]]:
    """Planned (key, name, track, position in track, start, end) of every stage, on working days:
    each stage after the one before it in its track and after the stages it joins."""
    ends: dict[str, date] = {}
    plan = []
    todo = list(programme.stages)
    while todo:  # the definition has no cycles (checked at load): every pass places one stage
        for stage in todo:
            before = programme.predecessors(stage.key)
            if all(k in ends for k in before):
                break
        else:  # pragma: no cover - refused at load
            raise ValueError("cycle in stage order")
        todo.remove(stage)
        cursor = next_working_day(max([start, *(ends[k] + timedelta(days=1) for k in before)]))
        end = previous_working_day(cursor + timedelta(weeks=stage.planned_weeks) - timedelta(days=1))
        end = max(end, cursor)
        ends[stage.key] = end
        track = programme.track_of[stage.key]
        plan.append((stage.key, stage.name, track.key, programme.stage_position[stage.key], cursor, end))
    order = {s.key: i for i, s in enumerate(programme.stages)}
    return sorted(plan, key=lambda row: order[row[0]])


def planned_stage_row(course_id: int, planned: tuple[str, str, str, int, date, date]) -> StageRun:
    """A stage row as `plan_stages` lays it out, not begun yet."""
    key, name, track, position, start, end = planned
    return StageRun(
        course_id=course_id,
        stage_key=key,
        track=track,
        position=position,
        name=name,
        planned_start=start,
        planned_end=end,
    )


def mark(session: Session, course_id: int, key: str) -> None:
    """Record that a course flow action is done (`services.engine`); a second mark is a no-op."""
    exists = session.exec(
        select(FlowMark.id).where(FlowMark.course_id == course_id, FlowMark.key == key)
    ).first()
    if exists is None:
        session.add(FlowMark(course_id=course_id, key=key))


def mark_done(course_id: int, key: str) -> None:
    with session_scope() as session:
        mark(session, course_id, key)


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
        for planned in plan_stages(programme, course.start_date):
            if planned[0] not in existing:
                session.add(planned_stage_row(course_id, planned))
        audit(
            session,
            actor=FLOW_ACTOR,
            action="forløb startet",
            course_id=course_id,
            detail=f"{programme.name} (version {programme.version})",
            dedupe_key=f"{course_id}:activated",
        )
        mark(session, course_id, "activate")


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
        programme = find_programme(course.programme, course.programme_version)
        main_track = programme is None or programme.track_of[stage_key] is programme.main_track
        if main_track and course.current_stage != stage_key:
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


def _meeting(session: Session, course_id: int, meeting_key: str) -> Meeting | None:
    return session.exec(
        select(Meeting).where(Meeting.course_id == course_id, Meeting.key == meeting_key)
    ).one_or_none()


def _programme_of(session: Session, course_id: int) -> ProgrammeDef:
    course = _course(session, course_id)
    return get_programme(course.programme, course.programme_version)


def _step(programme: ProgrammeDef, task_key: str) -> tuple[int, StepDef]:
    found = programme.step_of_task(task_key)
    if found is None:
        raise NotFound(f"Trinnet {task_key!r} findes ikke i {programme.key} version {programme.version}.")
    _stage, step, round_no = found
    return round_no, step


def open_task(course_id: int, stage_key: str, key: str, round_no: int, meeting_key: str | None) -> int:
    """Create the human task the course is about to wait on (once); returns its id."""
    with session_scope() as session:
        task = session.exec(
            select(HumanTask).where(HumanTask.course_id == course_id, HumanTask.key == key)
        ).one_or_none()
        if task is None:
            programme = _programme_of(session, course_id)
            _round, step = _step(programme, key)
            assert step.form is not None
            title = step.title.format(n=round_no)
            due = add_working_days(today(), step.due_working_days)
            meeting = _meeting(session, course_id, meeting_key) if meeting_key else None
            if meeting is not None:
                # Registering a meeting as held is due on the meeting's own day.
                due = local_date(meeting.planned_at)
            task = HumanTask(
                course_id=course_id,
                stage_key=stage_key,
                key=key,
                kind=programme.form(step.form).model,
                title=title,
                assignee_role=step.assignee,
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


def apply_answer(course_id: int, key: str, meeting_key: str | None = None) -> None:
    """Act on a task's stored answer (meetings, contact people, the task row). Runs once per answer.

    What an answer means comes from the form's declared fields in the programme (meeting_time,
    held_date, contacts ...), never from a field's name in code."""
    with session_scope() as session:
        task = session.exec(
            select(HumanTask).where(HumanTask.course_id == course_id, HumanTask.key == key)
        ).one()
        if task.applied:
            return
        if task.status != TaskStatus.COMPLETED or task.answer is None:
            raise NotFound(f"Opgaven {key!r} har intet svar endnu.")
        programme = _programme_of(session, course_id)
        _round, step = _step(programme, key)
        assert step.form is not None
        form = programme.form(step.form)
        answer = task.answer
        rule = step.meeting
        if rule is not None and meeting_key:
            meeting = _meeting(session, course_id, meeting_key)
            if rule.action == "plan" and meeting is None:
                time_field = form.field("meeting_time")
                assert time_field is not None  # checked at load
                virtual = (
                    form.field("meeting_mode") and answer.get(form.field("meeting_mode") or "") == "virtuelt"
                )
                link_field = form.field("meeting_link")
                session.add(
                    Meeting(
                        course_id=course_id,
                        key=meeting_key,
                        kind=rule.kind,
                        title=meeting_title(programme, rule.kind, meeting_key),
                        planned_at=local_to_utc(datetime.fromisoformat(answer[time_field])),
                        location=str(answer.get(form.field("location") or "", "") or ""),
                        link=(answer.get(link_field) if link_field and virtual else None),
                    )
                )
            elif rule.action == "hold" and meeting is not None and meeting.status != MeetingStatus.HELD:
                held_field = form.field("held_date")
                assert held_field is not None  # checked at load
                meeting.status = MeetingStatus.HELD
                meeting.held_on = date.fromisoformat(answer[held_field])
                session.add(meeting)
        contacts_field = form.field("contacts")
        if contacts_field:
            organisation = programme.organisation_of(step.assignee)
            if organisation.kind == "agency":
                organisation = next(o for o in programme.organisations if o.kind == "municipality")
            add_contacts(session, course_id, answer.get(contacts_field) or [], organisation.key)
        task.applied = True
        session.add(task)


def add_contacts(session: Session, course_id: int, people: list[dict[str, Any]], organisation: str) -> None:
    """The course's contact people (name, role, e-mail) of `organisation`; an e-mail the course
    already has is kept as it is."""
    for person in people:
        exists = session.exec(
            select(Contact.id).where(Contact.course_id == course_id, Contact.email == person["email"])
        ).first()
        if exists is None:
            session.add(
                Contact(
                    course_id=course_id,
                    name=person["navn"],
                    role=person["rolle"],
                    email=person["email"],
                    organisation=organisation,
                )
            )


def meeting_title(programme: ProgrammeDef | None, kind: str, meeting_key: str) -> str:
    title = programme.meeting_title(kind) if programme else kind
    suffix = meeting_key.removeprefix(kind).lstrip("-")
    return f"{title} {suffix}" if suffix else title


def scheduled_day(course_id: int, key: str) -> tuple[str, date, time]:
    """(kind, day, time) of an automatic meeting step: `months` after the answered date."""
    with session_scope() as session:
        programme = _programme_of(session, course_id)
        _round, step = _step(programme, key)
        rule = step.meeting
        assert rule is not None and rule.after is not None
        step_key, _, name = rule.after.partition(".")
        task = session.exec(
            select(HumanTask).where(HumanTask.course_id == course_id, HumanTask.key == step_key)
        ).one()
        assert task.answer is not None
        return rule.kind, revisit_date(date.fromisoformat(str(task.answer[name])[:10]), rule.months), rule.at


def schedule_meeting(
    course_id: int, meeting_key: str, kind: str, on: date, at: time, location: str = ""
) -> int:
    """Put a meeting in the calendar without asking anyone (the revisit)."""
    with session_scope() as session:
        meeting = _meeting(session, course_id, meeting_key)
        if meeting is None:
            course = _course(session, course_id)
            programme = find_programme(course.programme, course.programme_version)
            meeting = Meeting(
                course_id=course_id,
                key=meeting_key,
                kind=kind,
                title=meeting_title(programme, kind, meeting_key),
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


def set_wake(course_id: int, at: datetime | None) -> None:
    """The course waits on a timer until `at` (None: on no timer)."""
    with session_scope() as session:
        course = _course(session, course_id)
        if course.wake_at != at:
            course.wake_at = at
            session.add(course)


def complete_course(course_id: int) -> None:
    with session_scope() as session:
        course = _course(session, course_id)
        if course.status != CourseStatus.COMPLETED:
            course.status = CourseStatus.COMPLETED
            course.completed_at = now()
            course.wake_at = None
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
