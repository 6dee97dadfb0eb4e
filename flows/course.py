"""The course flow: one flow run per course, from the first stage to the revisit, on every track.

The flow is generic: `services.engine` reads what is stored and says what can be done now, on each
track of the programme version the course is pinned to; the flow does it (one Prefect task per
action), reads again, and repeats until only waiting is left. Then it suspends: no process is held
while people work. Completing a task stores the answer and resumes the run; the run starts again
from the top, and what is done is skipped by the engine (no Prefect call at all), so nothing is done
twice and nobody is asked twice, after a resume, a crash, a replay or a code release.

Each wait has a fresh pause key (`vent-...`) and no input schema: answers are validated and stored
in the app database before the run is resumed, so a lost schema cannot make a wait unanswerable.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import uuid4

from prefect import flow, get_run_logger, suspend_flow_run
from prefect.runtime import flow_run as current_flow_run

from core.clock import today
from core.faults import describe_defect, is_infrastructure
from core.names import COURSE_FLOW
from models.programmes import ProgrammeDef, get_programme
from services import engine, flow_steps
from tasks.course import (
    activate_course,
    apply_answer,
    begin_stage,
    complete_course,
    finish_stage,
    open_task,
    schedule_meeting,
    show_stage_in_prefect,
)
from tasks.notifications import announce_meeting, announce_task, stage_messages

MAX_PASSES = 200
"""Every pass takes at least one action; a course that needs more between two waits has a defect."""


class EngineStuck(RuntimeError):
    """The engine keeps proposing work that does not get done: a defect, not an outage."""


def _take(
    action: engine.Action, course_id: int, programme: ProgrammeDef, header: Any, run_id: str | None
) -> None:
    kind = action.kind
    if kind == "activate":
        activate_course(course_id, run_id)
    elif kind == "begin_stage":
        stage_messages(course_id, action.stage, "on_start")
        track = programme.track_of[action.stage]
        if run_id and track is programme.main_track:
            position = programme.stage_position[action.stage]
            name = programme.stage(action.stage).name
            show_stage_in_prefect(
                run_id,
                f"{header.municipality} · {position}/{len(track.stages)} {name}",
                action.stage,
                position,
            )
        begin_stage(course_id, action.stage)
    elif kind == "open_task":
        open_task(course_id, action.stage, action.step, action.round_no, action.meeting_key)
    elif kind == "announce_task":
        announce_task(course_id, action.step)
    elif kind == "apply_answer":
        apply_answer(course_id, action.step, action.meeting_key)
    elif kind == "schedule_meeting":
        assert action.meeting_key is not None
        schedule_meeting(course_id, action.step, action.meeting_key)
    elif kind == "announce_meeting":
        assert action.meeting_key is not None
        announce_meeting(course_id, action.meeting_key)
    elif kind == "finish_stage":
        stage_messages(course_id, action.stage, "on_end")
        finish_stage(course_id, action.stage)
    elif kind == "complete":
        complete_course(course_id)


def _mark_running(flow: Any, flow_run: Any, state: Any) -> None:
    flow_steps.mark_course_running(int(flow_run.parameters["course_id"]))


@flow(name=COURSE_FLOW, persist_result=True, on_running=[_mark_running])
def course_flow(course_id: int) -> str:
    """Run one advisory course from start to finish.

    An outage (Prefect API, database, mail server; `core.faults.is_infrastructure`) ends this
    run but never the course: it stays active and the lead runner hands the run back, so it
    continues where it was. Only a defect (definition or code) marks the course failed, with a
    plain Danish reason. A crashed run (its process killed) is an outage too."""
    try:
        return _run_course(course_id)
    except Exception as exc:
        if is_infrastructure(exc):
            flow_steps.note_outage(course_id, type(exc).__name__)
        else:
            flow_steps.mark_course_failed(course_id, describe_defect(exc))
        raise


def _run_course(course_id: int) -> str:
    header = flow_steps.course_header(course_id)
    run_id = current_flow_run.id
    for _ in range(MAX_PASSES):
        snap = engine.snapshot(course_id)
        if snap.status == "cancelled":
            return "aflyst"
        # Read each pass: `forloeb course migrate` may have moved a waiting course to a new version.
        programme = get_programme(snap.programme, snap.version)
        plan = engine.plan(programme, snap, today())
        if not plan.actions:
            if plan.finished:
                return "afsluttet"
            wake: datetime | None = engine.wake_time(plan.wake_on) if plan.wake_on else None
            flow_steps.set_wake(course_id, wake)
            # timeout=None: a course may wait months; an expiring wait would fail the run.
            suspend_flow_run(key=f"vent-{uuid4().hex[:12]}", timeout=None)
            return "venter"  # pragma: no cover - suspending ends this execution
        for action in plan.actions:
            _take(action, course_id, programme, header, run_id)
        if any(a.kind == "complete" for a in plan.actions):
            get_run_logger().info("Forløb %s for %s er afsluttet", course_id, header.municipality)
            return "afsluttet"
    raise EngineStuck(f"Forløb {course_id} kommer ikke videre efter {MAX_PASSES} skridt uden at vente.")
