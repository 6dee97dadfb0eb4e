"""Courses that heal themselves (services/recovery.py) against the session's Prefect server.

Each test breaks a course the way the fault drill saw it break - a runner killed mid-run, a wait
whose schema Prefect lost, an answer stored but never delivered, a run ended by an outage, a
defect - and checks that `diagnose` explains it and a repair lets the course go on exactly once.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from uuid import UUID

import httpx
import pytest
from prefect.client.orchestration import get_client
from prefect.states import Crashed, Pending, Running
from sqlmodel import select
from typer.testing import CliRunner

from core.clock import frozen, now
from core.db import session_scope
from forloeb.cli import app
from models.forms import get_form
from models.tables import AuditEvent, Course, CourseStatus, HumanTask, RunnerProcess, TaskStatus
from services import courses, engine, flow_steps, read_model, recovery
from tests.support.drive import answer_for, make_legacy_wait, open_tasks, read_run, run_until_wait, state_of

pytestmark = pytest.mark.usefixtures("prefect_server")
cli = CliRunner(env={"COLUMNS": "250"})


def _started(name: str) -> Course:
    course = courses.start_course(name, "minoritetsetniske", "Konsulent K", date(2026, 1, 5))
    assert course.flow_run_id is not None
    run_until_wait(course.flow_run_id)
    return course


def _answer_first_task(course: Course) -> HumanTask:
    [task] = open_tasks(course.id or 0)
    courses.complete_task(task.id or 0, answer_for(task.kind), actor="test")
    return task


def _kinds(course_id: int | None = None) -> list[str]:
    with frozen(now() + timedelta(minutes=2)):  # past the grace a fresh claim gets
        return [f.kind for f in recovery.diagnose(course_id).findings]


def _repairs(course_id: int) -> list[str]:
    with session_scope() as session:
        return [
            e.detail
            for e in session.exec(
                select(AuditEvent).where(
                    AuditEvent.course_id == course_id, AuditEvent.action == recovery.REPAIR_ACTION
                )
            )
        ]


def test_a_course_waiting_on_nothing_is_handed_back_and_a_due_timer_wakes_it() -> None:
    course = _started("Favrskov")
    run_id = course.flow_run_id or ""
    with session_scope() as session:  # its only task answered and applied behind the run's back
        [task] = session.exec(select(HumanTask).where(HumanTask.course_id == course.id)).all()
        task.status, task.answer, task.applied = TaskStatus.COMPLETED, answer_for(task.kind), True
        session.add(task)
    assert _kinds() == ["wrong_wait"]
    recovery.repair_automatically(actor="runner test")
    run_until_wait(run_id)
    assert state_of(run_id) == ("Suspended", "samarbejdsaftale")
    with session_scope() as session:  # now a stage waits on a timer that has come
        row = session.get(Course, course.id)
        assert row is not None
        row.wake_at = now() - timedelta(minutes=1)
        session.add(row)
    assert _kinds() == ["timer_due"]
    [(finding, outcome)] = recovery.repair_automatically(actor="runner test")
    assert finding.kind == "timer_due" and outcome == "forløbet er genoptaget"
    assert read_run(run_id).state is not None and read_run(run_id).state.type.value == "SCHEDULED"


def test_a_healthy_waiting_course_has_no_findings() -> None:
    _started("Aarhus")
    assert _kinds() == []
    code = cli.invoke(app, ["doctor"])
    assert code.exit_code == 0 and "1 forløb undersøgt" in code.output and "0 fund" in code.output


def test_a_run_left_running_by_a_dead_runner_is_handed_back_and_runs_on_once() -> None:
    course = _started("Odense")
    answered = _answer_first_task(course)
    run_id = course.flow_run_id or ""
    # What a runner killed mid-run leaves: the run claimed (Pending), then Running, and a
    # heartbeat row that stopped being renewed.
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(UUID(run_id), Pending(), force=True)
        client.set_flow_run_state(UUID(run_id), Running(), force=True)
    with session_scope() as session:
        stale = now() - timedelta(minutes=5)
        session.add(
            RunnerProcess(id="dead", host="h", pid=1, started_at=stale, seen_at=stale, running=[run_id])
        )
    assert _kinds() == ["orphaned_run"]

    with frozen(now() + timedelta(minutes=2)):
        repaired = recovery.repair_automatically(actor="runner test")
    assert [(f.kind, outcome) for f, outcome in repaired] == [("orphaned_run", "kørslen er sat i kø igen")]
    assert read_run(run_id).state is not None and read_run(run_id).state.type.value == "SCHEDULED"

    run_until_wait(run_id)
    assert state_of(run_id) == ("Suspended", "samarbejdsaftale")
    [next_task] = open_tasks(course.id or 0)
    assert next_task.key == "samarbejdsaftale"
    with session_scope() as session:
        first = session.get(HumanTask, answered.id)
        assert first is not None and first.applied and first.status == TaskStatus.COMPLETED
        events = [e.action for e in session.exec(select(AuditEvent).where(AuditEvent.course_id == course.id))]
    assert events.count("opgave oprettet") == 2 and events.count("fase afsluttet") == 1
    assert len(_repairs(course.id or 0)) == 1
    assert _kinds() == []


def test_a_live_runner_holding_the_run_is_left_alone() -> None:
    course = _started("Aalborg")
    _answer_first_task(course)
    run_id = course.flow_run_id or ""
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(UUID(run_id), Running(), force=True)
    recovery.runner_heartbeat("alive", "h", 2, [run_id])
    with frozen(now() + timedelta(seconds=20)):  # the heartbeat is 20 s old: still alive
        assert [f.kind for f in recovery.diagnose().findings] == []


def _legacy(course: Course) -> None:
    """The course waits the way it did before the engine (started before the upgrade)."""
    [task] = open_tasks(course.id or 0)
    make_legacy_wait(course.flow_run_id or "", task.key, get_form(task.kind))


def test_a_wait_whose_schema_was_lost_is_repaired_and_answers_are_accepted() -> None:
    course = _started("Vejle")
    run_id = course.flow_run_id or ""
    _legacy(course)
    with get_client(sync_client=True) as client:
        client.delete_flow_run_input(UUID(run_id), "suspended-behovsafklaring-schema")
    assert _kinds() == ["lost_schema"]
    result = cli.invoke(app, ["doctor"])
    assert result.exit_code == 1 and "mangler formularens skema" in result.output

    result = cli.invoke(app, ["doctor", "--fix", "--as", "admin"])
    assert result.exit_code == 0, result.output
    assert "formularens skema er gemt igen" in result.output
    assert _kinds() == []
    _answer_first_task(course)  # accepted now
    run_until_wait(run_id)
    assert state_of(run_id) == ("Suspended", "samarbejdsaftale")
    assert [d.split(":")[0] for d in _repairs(course.id or 0)] == ["lost_schema"]


def test_completing_a_task_repairs_a_lost_schema_on_the_way() -> None:
    course = _started("Horsens")
    run_id = course.flow_run_id or ""
    _legacy(course)
    with get_client(sync_client=True) as client:
        client.delete_flow_run_input(UUID(run_id), "suspended-behovsafklaring-schema")
    _answer_first_task(course)  # no "Run input schema not found"
    run_until_wait(run_id)
    assert state_of(run_id) == ("Suspended", "samarbejdsaftale")


def test_an_answer_stored_but_never_delivered_is_delivered_by_course_resume() -> None:
    course = _started("Kolding")
    [task] = open_tasks(course.id or 0)
    with session_scope() as session:  # the answer was committed, the resume never reached Prefect
        row = session.get(HumanTask, task.id)
        assert row is not None
        row.status, row.answer, row.completed_by = TaskStatus.COMPLETED, answer_for(task.kind), "test"
        session.add(row)
    assert _kinds() == ["answer_not_delivered"]
    result = cli.invoke(app, ["course", "resume", str(course.id)])
    assert result.exit_code == 0 and "genoptaget med det gemte svar" in result.output
    run_until_wait(course.flow_run_id or "")
    assert [t.key for t in open_tasks(course.id or 0)] == ["samarbejdsaftale"]


def test_an_outage_ends_the_run_but_never_the_course(monkeypatch: pytest.MonkeyPatch) -> None:
    course = _started("Herning")
    _answer_first_task(course)
    real_snapshot = engine.snapshot

    def prefect_down(course_id: int) -> object:
        raise httpx.ConnectError("All connection attempts failed")

    monkeypatch.setattr(engine, "snapshot", prefect_down)
    run = run_until_wait(course.flow_run_id or "")
    assert run.state is not None and run.state.type.value == "FAILED"
    assert read_model.get_course(course.id or 0).status == CourseStatus.ACTIVE
    with session_scope() as session:
        actions = [
            e.action for e in session.exec(select(AuditEvent).where(AuditEvent.course_id == course.id))
        ]
    assert "forløb afbrudt af driftsfejl" in actions and "forløb fejlet" not in actions

    monkeypatch.setattr(engine, "snapshot", real_snapshot)
    assert _kinds() == ["stopped_run"]
    recovery.repair_automatically(actor="runner test")
    run_until_wait(course.flow_run_id or "")
    assert state_of(course.flow_run_id or "") == ("Suspended", "samarbejdsaftale")


def test_a_defect_fails_the_course_in_danish_and_only_a_person_resumes_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    course = _started("Viborg")
    _answer_first_task(course)
    real_begin = flow_steps.begin_stage

    def defect(course_id: int, stage_key: str) -> None:
        raise KeyError("tidspunkt")

    monkeypatch.setattr(flow_steps, "begin_stage", defect)
    run_until_wait(course.flow_run_id or "")
    assert read_model.get_course(course.id or 0).status == CourseStatus.FAILED
    with session_scope() as session:
        failed = session.exec(
            select(AuditEvent).where(AuditEvent.course_id == course.id, AuditEvent.action == "forløb fejlet")
        ).one()
    assert "fejl i programmets definition eller i koden" in failed.detail and "KeyError" in failed.detail

    diagnosis = recovery.diagnose()
    assert [(f.kind, f.automatic) for f in diagnosis.findings] == [("failed_course", False)]
    assert recovery.repair_automatically(actor="runner test") == []  # never by itself

    monkeypatch.setattr(flow_steps, "begin_stage", real_begin)
    result = cli.invoke(app, ["course", "resume", str(course.id), "--as", "admin"])
    assert result.exit_code == 0, result.output
    run_until_wait(course.flow_run_id or "")
    assert state_of(course.flow_run_id or "") == ("Suspended", "samarbejdsaftale")
    assert read_model.get_course(course.id or 0).status == CourseStatus.ACTIVE


def test_stopped_runs_restart_by_themselves_at_most_three_times_an_hour() -> None:
    course = _started("Ikast-Brande")
    run_id = course.flow_run_id or ""
    for _ in range(recovery.AUTO_REPAIRS_PER_HOUR):
        with get_client(sync_client=True) as client:
            client.set_flow_run_state(UUID(run_id), Crashed(message="test"), force=True)
        assert [f.automatic for f in recovery.diagnose().findings] == [True]
        recovery.repair_automatically(actor="runner test")
        run_until_wait(run_id)
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(UUID(run_id), Crashed(message="test"), force=True)
    [finding] = recovery.diagnose().findings
    assert finding.kind == "stopped_run" and not finding.automatic
    assert "En person skal se på det" in finding.remedy


def test_doctor_json_lists_what_it_found() -> None:
    course = _started("Skive")
    _legacy(course)
    with get_client(sync_client=True) as client:
        client.delete_flow_run_input(UUID(course.flow_run_id or ""), "suspended-behovsafklaring-schema")
    result = cli.invoke(app, ["doctor", "--json"])
    assert result.exit_code == 1
    data = json.loads(result.output[: result.output.rindex("}") + 1])
    assert data["courses_checked"] == 1
    assert [f["kind"] for f in data["findings"]] == ["lost_schema"]


def test_waking_a_run_is_best_effort_with_one_retry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The answer is stored before the run is resumed, so the resume must not hang a person's call
    on Prefect's five backed-off retries (up to ~80 s on a busy SQLite server); the repair loop
    delivers what a failed resume did not."""
    from prefect.settings import PREFECT_CLIENT_MAX_RETRIES

    from services import prefect_gateway

    course = _started("Lemvig")
    seen: list[int] = []
    real_resume = prefect_gateway._resume

    def spying(flow_run_id: str, run_input: dict[str, object] | None) -> object:
        seen.append(PREFECT_CLIENT_MAX_RETRIES.value())
        return real_resume(flow_run_id, run_input)

    monkeypatch.setattr(prefect_gateway, "_resume", spying)
    _answer_first_task(course)
    assert seen == [prefect_gateway.WAKE_RETRIES] and PREFECT_CLIENT_MAX_RETRIES.value() == 5
    run_until_wait(course.flow_run_id or "")
    assert state_of(course.flow_run_id or "") == ("Suspended", "samarbejdsaftale")
