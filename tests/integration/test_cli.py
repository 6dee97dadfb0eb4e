"""Every CLI command, and every bad input: a clear message, a non-zero exit, nothing changed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlmodel import delete, func, select
from typer.testing import CliRunner

from core.db import session_scope
from forloeb.cli import app
from models.tables import AuditEvent, Course, HumanTask, Municipality, TaskStatus
from services import read_model
from tests.support.drive import answer_for, open_tasks, run_until_wait, state_of

runner = CliRunner(env={"COLUMNS": "200"})


def forloeb(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), input=input)
    return result.exit_code, result.output


def _count(model: type) -> int:
    with session_scope() as session:
        return int(session.exec(select(func.count()).select_from(model)).one())


# --- commands that do not need Prefect ----------------------------------------------------


def test_kommuner_lists_all_98_and_searches() -> None:
    code, out = forloeb("kommuner")
    assert code == 0 and "Kommuner (98)" in out and "København" in out and "Christiansø" not in out
    code, out = forloeb("kommuner", "--search", "aarhus")
    assert code == 0 and "Kommuner (1)" in out and "751" in out
    code, out = forloeb("kommuner", "--search", "Nordjylland")
    assert code == 0 and "Kommuner (11)" in out


def test_kommuner_on_an_empty_database_loads_them_and_says_so_on_stderr() -> None:
    with session_scope() as session:
        session.exec(delete(Municipality))
    assert _count(Municipality) == 0
    result = runner.invoke(app, ["kommuner", "--search", "aarhus"])
    assert result.exit_code == 0
    assert "Databasen havde ingen kommuner; 98 er nu indlæst fra kommuner.csv." in result.stderr
    assert "indlæst" not in result.stdout
    assert "Kommuner (1)" in result.stdout and "751" in result.stdout
    assert _count(Municipality) == 98
    # Loaded once: a search that finds nothing on a full table loads nothing and says nothing.
    result = runner.invoke(app, ["kommuner", "--search", "Atlantis"])
    assert result.exit_code == 0 and "Kommuner (0)" in result.stdout and result.stderr == ""


def test_status_and_tasks_with_no_courses() -> None:
    assert forloeb("status")[0] == 0
    code, out = forloeb("tasks")
    assert code == 0 and "Opgaver (0)" in out


def test_task_show_unknown_task() -> None:
    code, out = forloeb("task", "show", "999")
    assert code == 3 and "Opgave 999 findes ikke" in out


def test_status_of_unknown_course() -> None:
    code, out = forloeb("status", "42")
    assert code == 3 and "Forløb 42 findes ikke" in out


def test_unknown_municipality_changes_nothing() -> None:
    code, out = forloeb("start", "Atlantis", "--consultant", "K")
    assert code == 3 and "Kommunen 'Atlantis' findes ikke" in out
    code, out = forloeb("start", "Århuss", "--consultant", "K")
    assert code == 3 and "Mente du: Aarhus" in out
    code, out = forloeb("start", "999", "--consultant", "K")
    assert code == 3 and "Ingen kommune har koden 999" in out
    assert _count(Course) == 0


def test_ambiguous_municipality_lists_candidates() -> None:
    code, out = forloeb("start", "Frederiks", "--consultant", "K")
    assert code == 2
    for name in ("Frederiksberg", "Frederikshavn", "Frederikssund"):
        assert name in out
    assert _count(Course) == 0


def test_bad_options_are_refused_before_anything_happens() -> None:
    code, out = forloeb("start", "Aarhus", "--programme", "ukendt", "--consultant", "K")
    assert code == 2 and "Ukendt program 'ukendt'" in out
    code, out = forloeb("start", "Aarhus", "--consultant", "K", "--start-date", "3. marts")
    assert code == 2 and "ÅÅÅÅ-MM-DD" in out
    code, out = forloeb("start", "Aarhus")
    assert code == 2 and "konsulentens navn" in out
    assert _count(Course) == 0


def test_prefect_server_not_running_says_how_to_start_it() -> None:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings({PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        code, out = forloeb("start", "Aarhus", "--consultant", "K")
    assert code == 5
    assert "Prefect-serveren svarer ikke" in out and "make run" in out
    assert "Traceback" not in out
    assert _count(Course) == 0


def test_complete_needs_exactly_one_answer_source(tmp_path: Path) -> None:
    code, out = forloeb("complete", "1")
    assert code == 2 and "--data" in out
    code, out = forloeb("complete", "1", "--data", "{ikke json")
    assert code == 2 and "ikke gyldig JSON" in out
    code, out = forloeb("complete", "1", "--data", "[1, 2]")
    assert code == 2 and "JSON-objekt" in out
    code, out = forloeb("complete", "1", "--file", str(tmp_path / "mangler.json"))
    assert code == 2 and "Kan ikke læse" in out


# --- commands against the Prefect harness ---------------------------------------------------


@pytest.fixture
def course(prefect_server: str) -> Iterator[Course]:
    code, out = forloeb("start", "aarhus", "--consultant", "Konsulent K", "--start-date", "2026-01-05")
    assert code == 0, out
    assert "Forløb 1 er startet" in out
    course = read_model.get_course(1)
    assert course.flow_run_id
    run_until_wait(course.flow_run_id)
    yield course


def _open_task(course_id: int) -> HumanTask:
    [task] = open_tasks(course_id)
    return task


def test_start_status_tasks_show_and_complete(course: Course, tmp_path: Path) -> None:
    assert course.id is not None and course.flow_run_id is not None
    code, out = forloeb("status")
    assert code == 0 and "Aarhus" in out and "1/11 Behovsafklaring" in out and "Hold formøde" in out
    code, out = forloeb("status", str(course.id))
    assert code == 0 and "Faser" in out and "11. Genbesøg" in out and course.flow_run_id in out
    code, out = forloeb("tasks", "--course", str(course.id))
    assert code == 0 and "Opgaver (1)" in out and "Hold formøde og aftal fokus" in out
    task = _open_task(course.id)
    code, out = forloeb("task", "show", str(task.id))
    assert code == 0 and "formoede_dato" in out and "Dato for formødet" in out

    answer = tmp_path / "svar.json"
    answer.write_text(json.dumps(answer_for("behovsafklaring")), encoding="utf-8")
    code, out = forloeb("complete", str(task.id), "--file", str(answer), "--as", "Konsulent K")
    assert code == 0 and "er udført" in out, out
    run_until_wait(course.flow_run_id)
    assert state_of(course.flow_run_id) == ("Suspended", "samarbejdsaftale")
    code, out = forloeb("task", "show", str(task.id))
    assert code == 0 and "Udført af Konsulent K" in out and "Opsporing og håndtering af underretninger" in out
    code, out = forloeb("tasks", "--all", "--course", str(course.id))
    assert code == 0 and "Opgaver (2)" in out
    # Answers through stdin work too.
    nxt = _open_task(course.id)
    code, out = forloeb(
        "complete", str(nxt.id), "--file", "-", input=json.dumps(answer_for("samarbejdsaftale"))
    )
    assert code == 0, out


def test_duplicate_active_course_is_refused(course: Course) -> None:
    code, out = forloeb("start", "Århus", "--consultant", "Anden K")
    assert code == 4 and "allerede et aktivt forløb" in out
    assert _count(Course) == 1


def test_invalid_form_changes_nothing(course: Course) -> None:
    assert course.id is not None and course.flow_run_id is not None
    task = _open_task(course.id)
    code, out = forloeb(
        "complete", str(task.id), "--data", json.dumps({"formoede_dato": "i går", "ekstra": 1})
    )
    assert code == 2
    assert "formoede_dato: skal være en dato" in out
    assert "fokus: skal udfyldes" in out
    assert "ekstra: er ikke et felt" in out
    assert _open_task(course.id).status == TaskStatus.OPEN
    assert state_of(course.flow_run_id) == ("Suspended", "behovsafklaring")


def test_cpr_number_in_free_text_is_refused_and_never_stored(course: Course) -> None:
    assert course.id is not None and course.flow_run_id is not None
    task = _open_task(course.id)
    cpr = "010203-1234"
    answer = answer_for("behovsafklaring", fokus=f"Barnet med cpr {cpr} skal drøftes")
    code, out = forloeb("complete", str(task.id), "--data", json.dumps(answer))
    assert code == 2 and "CPR-nummer" in out
    assert cpr not in out
    assert _open_task(course.id).answer is None
    with session_scope() as session:
        assert all(cpr not in (e.detail or "") for e in session.exec(select(AuditEvent)))
    assert state_of(course.flow_run_id) == ("Suspended", "behovsafklaring")


def test_task_completed_twice_is_reported_not_resumed(course: Course) -> None:
    assert course.id is not None and course.flow_run_id is not None
    task = _open_task(course.id)
    data = json.dumps(answer_for("behovsafklaring"))
    assert forloeb("complete", str(task.id), "--data", data)[0] == 0
    code, out = forloeb("complete", str(task.id), "--data", data)
    assert code == 4 and "allerede udført" in out and "ikke genoptaget igen" in out
    run_until_wait(course.flow_run_id)
    code, out = forloeb("complete", str(task.id), "--data", data)
    assert code == 4
    assert state_of(course.flow_run_id) == ("Suspended", "samarbejdsaftale")


def test_task_of_another_course_is_refused(course: Course) -> None:
    assert course.id is not None
    code, out = forloeb("start", "Odense", "--consultant", "K")
    assert code == 0, out
    task = _open_task(course.id)
    other = read_model.get_course(2)
    code, out = forloeb(
        "complete",
        str(task.id),
        "--course",
        str(other.id),
        "--data",
        json.dumps(answer_for("behovsafklaring")),
    )
    assert code == 4 and "hører ikke til forløb 2" in out
    assert _open_task(course.id).status == TaskStatus.OPEN


def test_an_answer_given_while_the_run_is_moving_on_is_kept_and_acted_on(course: Course) -> None:
    """The run is not suspended when the answer comes (it is moving on after another answer, as
    two tracks of one course do): the answer is stored at once, and the run acts on it when it
    executes; nothing is refused, nothing asked twice."""
    from uuid import UUID

    from prefect.client.orchestration import get_client
    from prefect.states import Running, Scheduled

    assert course.id is not None and course.flow_run_id is not None
    task = _open_task(course.id)
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(UUID(course.flow_run_id), Running(), force=True)
    code, out = forloeb("complete", str(task.id), "--data", json.dumps(answer_for("behovsafklaring")))
    assert code == 0, out
    stored = read_model.get_task(task.id or 0)
    assert stored.status == TaskStatus.COMPLETED and not stored.applied
    with get_client(sync_client=True) as client:  # the run goes on (as its runner would)
        client.set_flow_run_state(UUID(course.flow_run_id), Scheduled(), force=True)
    run_until_wait(course.flow_run_id)
    assert read_model.get_task(task.id or 0).applied
    assert state_of(course.flow_run_id) == ("Suspended", "samarbejdsaftale")
