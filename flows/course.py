"""The course flow: one flow run per course, from needs clarification to the revisit.

The flow is generic: it walks the stages of the programme definition the course is pinned to.
While it waits on people it is *suspended*: no process is held. After each resume the body
runs again from the top; finished steps come back from the database or the task cache, so
nothing is done twice and nobody is asked twice.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow, get_run_logger, suspend_flow_run
from prefect.runtime import flow_run as current_flow_run

from core.faults import describe_defect, is_infrastructure
from core.names import COURSE_FLOW
from core.workdays import revisit_date
from models.forms import get_form
from models.programmes import ProgrammeDef, StageDef, StepDef, get_programme
from models.tables import TaskStatus
from services import flow_steps
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


def human_step(
    course_id: int,
    stage: StageDef,
    step: StepDef,
    key: str,
    title: str,
    meeting_key: str | None,
) -> dict[str, Any]:
    """Ask a person once and return the answer.

    The database is asked first: a step whose answer is already stored and acted on returns at
    once (no Prefect calls at all), so a replayed, retried or restarted run never asks again.
    """
    assert step.form is not None
    announces = step.meeting is not None and step.meeting.action == "plan" and meeting_key is not None
    state = flow_steps.read_step(course_id, key)
    if state is not None and state.applied and state.answer is not None:
        # Cached once it succeeded; after a crash between the answer and the invitation (or its
        # reminder runs) it finishes the job. The outbox keys keep every mail to one.
        if announces and meeting_key:
            announce_meeting(course_id, meeting_key)
        return state.answer
    open_task(course_id, stage.key, key, step.form, title, step.assignee, step.due_working_days, meeting_key)
    if step.assignee == "kommune":
        announce_task(course_id, key)
    if state is not None and state.status == TaskStatus.COMPLETED and state.answer is not None:
        answer = state.answer
    else:
        form = get_form(step.form)
        # timeout=None: a course may wait months; an expiring wait would fail the run.
        received = suspend_flow_run(wait_for_input=form, key=key, timeout=None)
        answer = form.model_validate(received.model_dump()).model_dump(mode="json")
    apply_answer(
        course_id,
        key,
        answer,
        meeting_key,
        step.meeting.model_dump(mode="json") if step.meeting else None,
    )
    if announces and meeting_key:
        announce_meeting(course_id, meeting_key)
    return answer


def _answer_date(answers: dict[str, dict[str, Any]], ref: str) -> date:
    step_key, _, field = ref.partition(".")
    return date.fromisoformat(answers[step_key][field])


def run_stage(
    programme: ProgrammeDef,
    stage: StageDef,
    course_id: int,
    answers: dict[str, dict[str, Any]],
) -> None:
    rounds = programme.rounds(stage, answers)
    for round_no in range(1, rounds + 1):
        for step in stage.steps:
            key = programme.step_key(stage, step, round_no)
            meeting_key = None
            if step.meeting is not None:
                meeting_key = step.meeting.kind if stage.repeat is None else f"{step.meeting.kind}-{round_no}"
            if step.form is None:
                assert step.meeting is not None and step.meeting.after is not None
                on = revisit_date(_answer_date(answers, step.meeting.after), step.meeting.months)
                schedule_meeting(course_id, meeting_key or step.key, step.meeting.kind, on, step.meeting.at)
                announce_meeting(course_id, meeting_key or step.key)
                continue
            title = step.title.format(n=round_no)
            answers[key] = human_step(course_id, stage, step, key, title, meeting_key)


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
    logger = get_run_logger()
    header = flow_steps.course_header(course_id)
    programme = get_programme(header.programme, header.programme_version)
    flow_run_id = current_flow_run.id
    activate_course(course_id, flow_run_id)
    # Finished stages are skipped outright on a replay: their answers come from the database,
    # so a resume late in the course costs no more Prefect calls than one early on.
    done, answers = flow_steps.progress(course_id)
    total = len(programme.stages)
    for position, stage in enumerate(programme.stages, start=1):
        if stage.key in done:
            continue
        begin_stage(course_id, stage.key)
        stage_messages(course_id, stage.key)
        if flow_run_id:
            show_stage_in_prefect(
                flow_run_id,
                f"{header.municipality} · {position}/{total} {stage.name}",
                stage.key,
                position,
            )
        run_stage(programme, stage, course_id, answers)
        finish_stage(course_id, stage.key)
    complete_course(course_id)
    logger.info("Forløb %s for %s er afsluttet", course_id, header.municipality)
    return "afsluttet"
