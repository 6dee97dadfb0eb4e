"""Waits made before the course engine (on a task's key, with its form's schema as input): the lead
runner's repair loop asks Prefect for a wait's form schema once per wait, not every 15 s
for every waiting course (bench/burst.py: with 200 waiting courses those requests, each with a new
Prefect client, took a fifth of the runner's CPU and slowed a burst of resumes)."""

from __future__ import annotations

from datetime import date
from uuid import UUID

import pytest
from prefect.client.orchestration import get_client

from models.forms import get_form
from services import courses, prefect_gateway, recovery
from tests.support.drive import answer_for, make_legacy_wait, open_tasks, run_until_wait, state_of

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_a_waits_schema_is_asked_for_once_by_the_loop_and_a_later_lost_one_is_still_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    course = courses.start_course("Ikast-Brande", "minoritetsetniske", "Konsulent K", date(2026, 1, 5))
    run_id = course.flow_run_id or ""
    run_until_wait(run_id)
    [first] = open_tasks(course.id or 0)
    make_legacy_wait(run_id, first.key, get_form(first.kind))  # a course from before the engine
    asked: list[str] = []
    has_input = prefect_gateway.has_input

    def counting(flow_run_id: str, key: str) -> bool:
        asked.append(key)
        return has_input(flow_run_id, key)

    monkeypatch.setattr(prefect_gateway, "has_input", counting)
    assert recovery.repair_automatically(actor="runner test") == []
    assert recovery.repair_automatically(actor="runner test") == []
    assert asked == ["suspended-behovsafklaring-schema"]  # once for this wait
    assert recovery.diagnose().findings == []  # a person's doctor asks again
    assert len(asked) == 2

    # The next wait is a new one: its schema is asked for, and found lost.
    [task] = open_tasks(course.id or 0)
    courses.complete_task(task.id or 0, answer_for(task.kind), actor="test")
    run_until_wait(run_id)
    assert state_of(run_id) == ("Suspended", "samarbejdsaftale")
    [second] = open_tasks(course.id or 0)
    make_legacy_wait(run_id, second.key, get_form(second.kind))
    with get_client(sync_client=True) as client:
        client.delete_flow_run_input(UUID(run_id), "suspended-samarbejdsaftale-schema")
    [(finding, outcome)] = recovery.repair_automatically(actor="runner test")
    assert finding.kind == "lost_schema" and outcome == "formularens skema er gemt igen"
