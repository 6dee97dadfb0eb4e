"""The course engine: what a course should do next, computed from the app database alone.

`plan(programme, snapshot, today)` is a pure function: given the definition and what is stored
(stage rows, tasks and answers, meetings, the flow's done-marks), it returns the actions that can be
taken now, on every track, and what the course waits on. The course flow (`flows/course.py`) takes
the actions, reads a new snapshot, and repeats until only waiting is left; then it suspends with no
process held. After a resume, a crash or a replay the same snapshot gives the same plan, and every
action is idempotent with a done-mark, so nothing is done twice and nobody is asked twice.

Tracks run in parallel: each has its own current stage; a stage begins when the stage before it in
its track and every stage in its `after` (a join) are finished, and its `starts` timer has come.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Literal

from sqlmodel import col, select

from core.clock import local_to_utc
from core.db import session_scope
from core.errors import NotFound
from core.workdays import next_working_day, previous_working_day, revisit_date
from models.programmes import ProgrammeDef, StageDef, StepDef, Timer
from models.tables import Course, FlowMark, HumanTask, Meeting, StageRun, StageStatus, TaskStatus

ActionKind = Literal[
    "activate",
    "begin_stage",
    "open_task",
    "announce_task",
    "apply_answer",
    "schedule_meeting",
    "announce_meeting",
    "finish_stage",
    "complete",
]


@dataclass(frozen=True)
class TaskRow:
    id: int
    status: TaskStatus
    applied: bool
    answer: dict[str, Any] | None


@dataclass(frozen=True)
class Snapshot:
    course_id: int
    programme: str
    version: int
    status: str
    start_date: date
    stages: dict[str, StageStatus]
    tasks: dict[str, TaskRow]
    meetings: set[str]
    marks: set[str]

    @property
    def answers(self) -> dict[str, dict[str, Any]]:
        """Every answer the course has acted on, by task key."""
        return {k: t.answer for k, t in self.tasks.items() if t.applied and t.answer is not None}


@dataclass(frozen=True)
class Action:
    kind: ActionKind
    stage: str = ""
    step: str = ""
    """The task (or meeting step) key, with its round suffix in repeated stages."""
    round_no: int = 1
    meeting_key: str | None = None

    @property
    def label(self) -> str:
        return ":".join(p for p in (self.kind, self.stage, self.step) if p)


@dataclass
class TrackState:
    track: str
    stage: str | None
    """The track's current stage (active, or the next one that waits to begin); None when done."""
    waiting_on: list[str] = field(default_factory=list)
    """Open task keys, or the stages a join waits for, or 'timer'."""
    begins_on: date | None = None
    done: bool = False


@dataclass
class Plan:
    actions: list[Action]
    tracks: list[TrackState]
    wake_on: date | None = None
    """The earliest day a timer lets a stage begin (the course waits until then)."""

    @property
    def finished(self) -> bool:
        return not self.actions and all(t.done for t in self.tracks)

    @property
    def open_tasks(self) -> list[str]:
        return [key for t in self.tracks for key in t.waiting_on if key not in ("timer",)]


def snapshot(course_id: int) -> Snapshot:
    with session_scope() as session:
        course = session.get(Course, course_id)
        if course is None:
            raise NotFound(f"Forløb {course_id} findes ikke.")
        stages = {
            key: StageStatus(status)
            for key, status in session.exec(
                select(StageRun.stage_key, StageRun.status).where(StageRun.course_id == course_id)
            )
        }
        tasks = {
            t.key: TaskRow(t.id or 0, t.status, t.applied, t.answer)
            for t in session.exec(select(HumanTask).where(HumanTask.course_id == course_id))
        }
        meetings = set(session.exec(select(Meeting.key).where(Meeting.course_id == course_id)))
        marks = set(session.exec(select(FlowMark.key).where(col(FlowMark.course_id) == course_id)))
        return Snapshot(
            course_id=course_id,
            programme=course.programme,
            version=course.programme_version,
            status=course.status.value,
            start_date=course.start_date,
            stages=stages,
            tasks=tasks,
            meetings=meetings,
            marks=marks,
        )


def timer_day(timer: Timer, answers: dict[str, dict[str, Any]]) -> date | None:
    """The working day a timer lets its stage begin, or None while its date is not answered."""
    step_key, _, name = timer.after.partition(".")
    value = answers.get(step_key, {}).get(name)
    if not value:
        return None
    base = date.fromisoformat(str(value)[:10])
    day = revisit_date(base, timer.months) if timer.months else next_working_day(base)
    if timer.weeks_before:
        day = previous_working_day(day - timedelta(weeks=timer.weeks_before))
    return day


def wake_time(day: date) -> datetime:
    """When a course waiting on a timer is woken: 07:00 Copenhagen time that day."""
    return local_to_utc(datetime.combine(day, time(7, 0)))


def meeting_key_for(stage: StageDef, step: StepDef, round_no: int) -> str | None:
    if step.meeting is None:
        return None
    return step.meeting.kind if stage.repeat is None else f"{step.meeting.kind}-{round_no}"


def _stage_steps(programme: ProgrammeDef, stage: StageDef, snap: Snapshot) -> Action | str | None:
    """The next action inside an active stage; a task key when it waits on that task; None when
    every step is done."""
    answers = snap.answers
    rounds = programme.rounds(stage, answers)
    for round_no in range(1, rounds + 1):
        for step in stage.steps:
            key = programme.step_key(stage, step, round_no)
            meeting_key = meeting_key_for(stage, step, round_no)
            rule = step.meeting
            if step.form is None:  # a meeting put in the calendar without asking anyone
                assert rule is not None and meeting_key is not None
                if meeting_key not in snap.meetings:
                    return Action("schedule_meeting", stage.key, key, round_no, meeting_key)
                if f"invite:{meeting_key}" not in snap.marks:
                    return Action("announce_meeting", stage.key, key, round_no, meeting_key)
                continue
            task = snap.tasks.get(key)
            if task is None:
                return Action("open_task", stage.key, key, round_no, meeting_key)
            if (
                programme.role(step.assignee).answers == "link"
                and f"announce:{key}" not in snap.marks
                and task.status == TaskStatus.OPEN
            ):
                return Action("announce_task", stage.key, key, round_no, meeting_key)
            if task.status == TaskStatus.OPEN:
                return key
            if not task.applied:
                return Action("apply_answer", stage.key, key, round_no, meeting_key)
            if (
                rule is not None
                and rule.action == "plan"
                and meeting_key is not None
                and f"invite:{meeting_key}" not in snap.marks
            ):
                return Action("announce_meeting", stage.key, key, round_no, meeting_key)
    return None


def plan(programme: ProgrammeDef, snap: Snapshot, today: date) -> Plan:
    """What can be done now on every track, and what each track waits on."""
    if snap.status in ("completed", "cancelled"):
        return Plan([], [TrackState(t.key, None, done=True) for t in programme.tracks])
    if "activate" not in snap.marks or any(s.key not in snap.stages for s in programme.stages):
        return Plan([Action("activate")], [TrackState(t.key, t.stages[0].key) for t in programme.tracks])
    actions: list[Action] = []
    tracks: list[TrackState] = []
    wake_on: date | None = None
    answers = snap.answers
    for track in programme.tracks:
        state = TrackState(track.key, None, done=True)
        for stage in track.stages:
            status = snap.stages.get(stage.key, StageStatus.PLANNED)
            if status == StageStatus.DONE:
                continue
            state = TrackState(track.key, stage.key)
            if status == StageStatus.PLANNED:
                blocking = [
                    k for k in programme.predecessors(stage.key) if snap.stages.get(k) != StageStatus.DONE
                ]
                if blocking:
                    state.waiting_on = blocking
                    break
                if stage.starts is not None:
                    day = timer_day(stage.starts, answers)
                    state.begins_on = day
                    if day is None or day > today:
                        state.waiting_on = ["timer"]
                        if day is not None:
                            wake_on = day if wake_on is None else min(wake_on, day)
                        break
                actions.append(Action("begin_stage", stage.key))
                break
            nxt = _stage_steps(programme, stage, snap)
            if isinstance(nxt, Action):
                actions.append(nxt)
            elif isinstance(nxt, str):
                state.waiting_on = [nxt]
            else:
                actions.append(Action("finish_stage", stage.key))
            break
        tracks.append(state)
    if not actions and all(t.done for t in tracks):
        actions.append(Action("complete"))
    return Plan(actions, tracks, wake_on)


def plan_for(course_id: int, today: date) -> tuple[ProgrammeDef, Plan]:
    """The plan of a stored course (doctor, read model): its definition and what it waits on."""
    from models.programmes import get_programme

    snap = snapshot(course_id)
    programme = get_programme(snap.programme, snap.version)
    return programme, plan(programme, snap, today)
