"""Drive a course flow run without a worker: run it in-process until it suspends."""

from __future__ import annotations

from contextlib import suppress
from datetime import date
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import Pause
from prefect.flow_engine import run_flow

from flows.course import course_flow
from models.examples import sample_answer
from models.tables import HumanTask
from services import read_model


def read_run(flow_run_id: str) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(flow_run_id))


def run_until_wait(flow_run_id: str) -> FlowRun:
    """Run the course flow once (as a runner would after a resume); return the run afterwards."""
    flow_run = read_run(flow_run_id)
    with suppress(Pause):  # the run suspended: it waits on a person
        run_flow(course_flow, flow_run=flow_run, return_type="state")
    return read_run(flow_run_id)


def state_of(flow_run_id: str) -> tuple[str, str | None]:
    """(state name, what the run waits on): for a suspended course run, the key of the open task it
    waits on (several, comma-separated, when tracks wait in parallel); else the pause key."""
    run = read_run(flow_run_id)
    assert run.state is not None
    key = run.state.state_details.pause_key
    if run.state.name == "Suspended" and key and key.startswith("vent-"):
        course_id = int(run.parameters["course_id"])
        key = ",".join(sorted(t.key for t in open_tasks(course_id))) or key
    return run.state.name, key


ANSWER_BASE = date(2026, 3, 2)
"""Answers are dated from this Monday; the closing meeting is on it, so the revisit is 2 Sept."""


def answer_for(kind: str, **overrides: Any) -> dict[str, Any]:
    """A valid made-up answer for each form (no personal data about children)."""
    return {**sample_answer(kind, ANSWER_BASE), **overrides}


def open_tasks(course_id: int) -> list[HumanTask]:
    """The course's open tasks, earliest deadline first (the read model's task inbox)."""
    rows, _total = read_model.task_inbox(course_id=course_id, limit=None)
    return [row.task for row in rows]


def make_legacy_wait(flow_run_id: str, key: str, form: type[Any]) -> None:
    """Put a run in a wait made the way courses waited before the course engine (and courses
    started before the upgrade still do): suspended on the task's own key, with the form's schema
    as required input - exactly what `suspend_flow_run(wait_for_input=form, key=key)` stored."""
    from prefect.input.run_input import keyset_from_paused_state, run_input_subclass_from_type
    from prefect.states import Suspended

    state = Suspended(timeout_seconds=None, pause_key=key)
    keyset = keyset_from_paused_state(state)
    state.state_details.run_input_keyset = keyset
    with get_client(sync_client=True) as client:
        client.set_flow_run_state(UUID(flow_run_id), state, force=True)
    run_input_subclass_from_type(form).save(keyset, flow_run_id=UUID(flow_run_id))
