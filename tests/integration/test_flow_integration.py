"""The course flow against a real Prefect server: all 11 stages, suspend/resume, replays."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from core.db import session_scope
from models.tables import (
    AuditEvent,
    CourseStatus,
    HumanTask,
    StageRun,
    StageStatus,
    TaskStatus,
)
from services import courses, flow_steps, read_model
from tests.support.drive import answer_for, open_tasks, run_until_wait, state_of

pytestmark = pytest.mark.usefixtures("prefect_server")


def _open_task(course_id: int) -> HumanTask:
    tasks = open_tasks(course_id)
    assert len(tasks) == 1, [t.key for t in tasks]
    return tasks[0]


def _task_run_states(flow_run_id: str) -> list[tuple[str, str]]:
    """(task name, state name) of every task run in the flow run."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    with get_client(sync_client=True) as client:
        runs = client.read_task_runs(
            flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[UUID(flow_run_id)])), limit=200
        )
    return [
        (run.task_key.rsplit(".", 1)[-1].split("-")[0], run.state.name if run.state else "") for run in runs
    ]


def test_replays_never_repeat_finished_work() -> None:
    """Four resumes = four replays of the flow body; each side effect ran exactly once."""
    course = courses.start_course("Vejle", "minoritetsetniske", "K", date(2026, 1, 5))
    assert course.id is not None and course.flow_run_id is not None
    run_until_wait(course.flow_run_id)
    for _ in range(4):
        task = _open_task(course.id)
        courses.complete_task(task.id or 0, answer_for(task.kind), actor="test")
        run_until_wait(course.flow_run_id)
    assert state_of(course.flow_run_id) == ("Suspended", "sagsanalyse")
    executed = [name for name, state in _task_run_states(course.flow_run_id) if state == "Completed"]
    assert executed.count("begin_stage") == 5  # stages 1-5 begun once each
    assert executed.count("finish_stage") == 4
    assert executed.count("open_task") == 5
    assert executed.count("apply_answer") == 4
    assert executed.count("activate_course") == 1
    # The engine skips done work without calling Prefect: no task run is a cache hit.
    assert not [name for name, state in _task_run_states(course.flow_run_id) if state == "Cached"]
    with session_scope() as session:
        events = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.course_id == course.id))]
    assert events.count("fase startet") == 5 and events.count("opgave oprettet") == 5
    assert events.count("forløb startet") == 1


def test_waiting_course_holds_no_running_flow_run() -> None:
    course = courses.start_course("Kolding", "minoritetsetniske", "K", date(2026, 1, 5))
    assert course.flow_run_id is not None
    run = run_until_wait(course.flow_run_id)
    assert run.state is not None
    assert run.state.type.value == "PAUSED" and run.state.name == "Suspended"
    assert run.state.state_details.pause_reschedule  # suspended: resumes in a new process
    assert run.state.state_details.pause_timeout is None  # a long wait never fails the run


def test_restart_after_a_crash_between_two_tasks_duplicates_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The run dies after stage 1 was finished and before stage 2 began; a retry of the same run
    picks up where it was: no second stage row, event or task, nobody asked again."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.states import Scheduled

    course = courses.start_course("Horsens", "minoritetsetniske", "K", date(2026, 1, 5))
    assert course.id is not None and course.flow_run_id is not None
    run_until_wait(course.flow_run_id)
    task = _open_task(course.id)
    courses.complete_task(task.id or 0, answer_for(task.kind), actor="test")

    real_begin = flow_steps.begin_stage

    def crash(course_id: int, stage_key: str) -> None:
        if stage_key == "samarbejdsaftale":
            raise RuntimeError("strømmen gik")
        real_begin(course_id, stage_key)

    monkeypatch.setattr(flow_steps, "begin_stage", crash)
    run = run_until_wait(course.flow_run_id)
    assert run.state is not None and run.state.name == "Failed"
    assert read_model.get_course(course.id).status == CourseStatus.FAILED

    monkeypatch.setattr(flow_steps, "begin_stage", real_begin)
    with get_client(sync_client=True) as client:  # what "Retry" in the Prefect UI does
        client.set_flow_run_state(UUID(course.flow_run_id), Scheduled(), force=True)
    run_until_wait(course.flow_run_id)
    assert state_of(course.flow_run_id) == ("Suspended", "samarbejdsaftale")
    assert read_model.get_course(course.id).status == CourseStatus.ACTIVE
    with session_scope() as session:
        stages = list(session.exec(select(StageRun).where(StageRun.course_id == course.id)))
        tasks = list(session.exec(select(HumanTask).where(HumanTask.course_id == course.id)))
        events = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.course_id == course.id))]
    assert len(stages) == 11
    assert [s.status for s in stages[:2]] == [StageStatus.DONE, StageStatus.ACTIVE]
    assert sorted(t.key for t in tasks) == ["behovsafklaring", "samarbejdsaftale"]
    assert events.count("fase startet") == 2 and events.count("fase afsluttet") == 1
    assert events.count("opgave oprettet") == 2


def test_resume_from_the_prefect_ui_changes_nothing_and_the_course_waits_on() -> None:
    """Answers go through the CLI, API or dashboard (validated, stored, then the run resumed). A
    "Resume" pressed in the Prefect UI carries no answer: the run looks at the database, finds the
    same open task and waits again, on a new key; nothing is completed or asked twice."""
    from uuid import UUID

    from prefect.client.orchestration import get_client

    course = courses.start_course("Silkeborg", "minoritetsetniske", "K", date(2026, 1, 5))
    assert course.id is not None and course.flow_run_id is not None
    first = run_until_wait(course.flow_run_id)
    assert first.state is not None
    with get_client(sync_client=True) as client:
        client.resume_flow_run(UUID(course.flow_run_id))
    again = run_until_wait(course.flow_run_id)
    assert again.state is not None and again.state.name == "Suspended"
    assert again.state.state_details.pause_key != first.state.state_details.pause_key
    assert state_of(course.flow_run_id) == ("Suspended", "behovsafklaring")
    with session_scope() as session:
        tasks = list(session.exec(select(HumanTask).where(HumanTask.course_id == course.id)))
    assert [(t.key, t.status) for t in tasks] == [("behovsafklaring", TaskStatus.OPEN)]
