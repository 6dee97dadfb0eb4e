"""The warm runner (deployments/runner.py) against the session's Prefect server.

The runner's polling/claiming/executing is called in-process (`poll_once` + `drain`), limited with
`run_filter` to this test's runs so that runs other tests leave behind are never touched.
"""

from __future__ import annotations

import queue
import secrets
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from prefect import Flow, flow
from prefect.events import Event

from core.db import session_scope
from deployments import course_deployment
from deployments.runner import WarmRunner, register
from models.programmes import latest_version
from models.tables import Course, CourseStatus, HumanTask
from services import courses, municipalities
from tests.support.drive import answer_for, open_tasks, read_run, state_of

pytestmark = pytest.mark.usefixtures("prefect_server")


PROGRAMME = "minoritetsetniske"
MakeRunner = Callable[[], WarmRunner]


@pytest.fixture
def flows() -> dict[UUID, Flow[..., Any]]:
    return register([course_deployment()])


@pytest.fixture
def mine() -> set[UUID]:
    """The flow runs this test created: the only ones its runners may take."""
    return set()


@pytest.fixture
def make_runner(flows: dict[UUID, Flow[..., Any]], mine: set[UUID]) -> Iterator[MakeRunner]:
    runners: list[WarmRunner] = []

    def make() -> WarmRunner:
        runner = WarmRunner(flows, poll_seconds=0.1, max_workers=2, run_filter=lambda run: run.id in mine)
        runners.append(runner)
        return runner

    yield make
    for runner in runners:
        assert runner.shutdown(grace_seconds=120)


def _open_tasks(course_id: int) -> list[HumanTask]:
    return open_tasks(course_id)


def _state_type(run_id: UUID) -> str:
    state = read_run(str(run_id)).state
    assert state is not None
    return state.type.value


def _skip_used_course_ids() -> None:
    """Make this test's course ids unique in the session.

    Every test has a fresh app database, so course ids restart at 1; the course run's Prefect
    idempotency key is `forloeb-course-<id>`, so a second course 1 on the same Prefect server would
    be handed the first test's flow run. A cancelled placeholder row at a random id moves the next
    id out of the way.
    """
    placeholder_id = 1_000 + secrets.randbelow(10**9)
    with session_scope() as session:
        session.add(
            Course(
                id=placeholder_id,
                municipality_code=municipalities.list_municipalities()[0].code,
                programme=PROGRAMME,
                programme_version=latest_version(PROGRAMME).version,
                consultant="pladsholder",
                start_date=date(2026, 1, 5),
                status=CourseStatus.CANCELLED,
            )
        )


def _start(municipality: str, mine: set[UUID]) -> tuple[int, UUID]:
    _skip_used_course_ids()
    course = courses.start_course(municipality, PROGRAMME, "Konsulent K", date(2026, 1, 5))
    assert course.id is not None and course.flow_run_id
    mine.add(UUID(course.flow_run_id))
    return course.id, UUID(course.flow_run_id)


def test_runner_starts_a_course_and_picks_up_the_resumed_run(
    make_runner: MakeRunner, mine: set[UUID]
) -> None:
    runner = make_runner()
    course_id, run_id = _start("Odense", mine)

    assert runner.poll_once() == [run_id]
    assert runner.drain(timeout=120)
    name, pause_key = state_of(str(run_id))
    assert name == "Suspended"
    [first] = _open_tasks(course_id)
    assert first.id is not None and first.key == pause_key
    assert runner.in_flight() == set()  # a waiting course holds no thread

    courses.complete_task(first.id, answer_for(first.kind), actor="test")
    assert _state_type(run_id) == "SCHEDULED"

    assert runner.poll_once() == [run_id]
    assert runner.drain(timeout=120)
    name, pause_key = state_of(str(run_id))
    assert name == "Suspended"
    [second] = _open_tasks(course_id)
    assert second.key == pause_key and second.key != first.key
    assert runner.poll_once() == []  # nothing is due while the course waits


def test_two_runners_never_execute_the_same_run(make_runner: MakeRunner, mine: set[UUID]) -> None:
    first = make_runner()
    second = make_runner()
    course_id, run_id = _start("Vejle", mine)

    claims: dict[str, list[UUID]] = {}
    barrier = threading.Barrier(2)

    def poll(label: str, runner: WarmRunner) -> None:
        barrier.wait()
        claims[label] = runner.poll_once()

    threads = [threading.Thread(target=poll, args=(label, r)) for label, r in (("a", first), ("b", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(claims["a"] + claims["b"]) == [run_id]
    assert first.drain(timeout=120) and second.drain(timeout=120)
    assert state_of(str(run_id))[0] == "Suspended"
    assert len(_open_tasks(course_id)) == 1


def test_only_one_claim_of_a_scheduled_run_wins(make_runner: MakeRunner, mine: set[UUID]) -> None:
    """Both runners see the same Scheduled run and propose Pending at the same moment."""
    runners = [make_runner(), make_runner()]
    _, run_id = _start("Viborg", mine)
    results: list[bool] = []
    barrier = threading.Barrier(2)

    def claim(runner: WarmRunner) -> None:
        barrier.wait()
        results.append(runner.claim(run_id))

    threads = [threading.Thread(target=claim, args=(runner,)) for runner in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, True]
    assert _state_type(run_id) == "PENDING"


def test_a_failing_run_ends_failed_and_the_runner_goes_on(
    flows: dict[UUID, Flow[..., Any]], mine: set[UUID]
) -> None:
    @flow(name="raadgivningsforloeb", persist_result=False)
    def broken(course_id: int) -> str:
        raise RuntimeError(f"course {course_id} breaks")

    runner = WarmRunner(
        dict.fromkeys(flows, broken), poll_seconds=0.1, max_workers=1, run_filter=lambda run: run.id in mine
    )
    try:
        _, run_id = _start("Skive", mine)
        assert runner.poll_once() == [run_id]
        assert runner.drain(timeout=120)
        assert _state_type(run_id) == "FAILED"
        assert runner.poll_once() == []  # still polling; the failed run is not taken again
    finally:
        assert runner.shutdown(grace_seconds=120)


def test_a_resumed_run_is_taken_while_its_last_execution_is_still_finishing(
    make_runner: MakeRunner, mine: set[UUID]
) -> None:
    """After a suspend Prefect's engine needs up to a second to join its heartbeat thread. A run
    resumed in that second (state "Resuming", so that execution has suspended) is taken at once;
    any other run this runner still executes is not taken twice."""
    runner = make_runner()
    course_id, run_id = _start("Silkeborg", mine)
    still_running: Future[None] = Future()
    runner._in_flight[run_id] = still_running  # a Scheduled run this runner executes already
    assert runner.poll_once() == []
    del runner._in_flight[run_id]
    assert runner.poll_once() == [run_id]
    assert runner.drain(timeout=120)
    [task] = _open_tasks(course_id)
    assert task.id is not None

    finishing: Future[None] = Future()  # the execution that suspended, still finishing
    runner._in_flight[run_id] = finishing
    courses.complete_task(task.id, answer_for(task.kind), actor="test")
    assert runner.poll_once() == [run_id]
    assert runner.drain(timeout=120)
    assert state_of(str(run_id))[0] == "Suspended"
    [following] = _open_tasks(course_id)
    assert following.key != task.key
    finishing.set_result(None)
    assert runner.in_flight() == set()


def _event(deployment_id: UUID, state_type: str, run_id: UUID | None = None) -> Event:
    return Event(
        event=f"prefect.flow-run.{state_type.title()}",
        resource={"prefect.resource.id": f"prefect.flow-run.{run_id or 1}", "prefect.state-type": state_type},
        related=[
            {
                "prefect.resource.id": f"prefect.deployment.{deployment_id}",
                "prefect.resource.role": "deployment",
            }
        ],
    )


def test_only_runs_of_its_deployments_becoming_scheduled_wake_the_runner(
    make_runner: MakeRunner, flows: dict[UUID, Flow[..., Any]]
) -> None:
    runner = make_runner()
    [deployment_id] = flows
    assert runner.wakes_on(_event(deployment_id, "SCHEDULED"))
    assert not runner.wakes_on(_event(deployment_id, "PAUSED"))
    assert not runner.wakes_on(_event(UUID(int=1), "SCHEDULED"))


def test_the_runner_wakes_on_the_servers_event_when_a_run_becomes_due(
    make_runner: MakeRunner, mine: set[UUID]
) -> None:
    """Pickup does not wait for the next poll: the events stream wakes the runner."""
    runner = make_runner()
    woken: queue.Queue[str | None] = queue.Queue()
    runner.wake = woken.put  # type: ignore[method-assign,assignment]
    runner.start_listener()
    _, run_id = _start("Herning", mine)
    seen: set[str | None] = set()
    while f"prefect.flow-run.{run_id}" not in seen:
        seen.add(woken.get(timeout=120))
    assert runner.listening


def test_a_worker_is_free_as_soon_as_its_run_suspends(
    flows: dict[UUID, Flow[..., Any]], mine: set[UUID]
) -> None:
    """The server's Suspended event frees the worker while Prefect's engine is still finishing."""
    runner = WarmRunner(flows, poll_seconds=0.1, max_workers=1, run_filter=lambda run: run.id in mine)
    try:
        _, first = _start("Struer", mine)
        assert runner.poll_once() == [first]
        assert runner.drain(timeout=120)
        still_finishing: Future[None] = Future()
        runner._in_flight[first] = still_finishing
        runner._started[first] = datetime.now(UTC) - timedelta(seconds=1)
        _, second = _start("Lemvig", mine)
        assert runner.poll_once() == []  # the one worker is taken
        [deployment_id] = flows
        suspended = _event(deployment_id, "PAUSED", run_id=first)
        runner.on_event(suspended)
        assert runner.executing() == set() and runner.in_flight() == {first}
        assert runner.poll_once() == [second]
        still_finishing.set_result(None)
        assert runner.drain(timeout=120)
        assert state_of(str(second))[0] == "Suspended"
    finally:
        assert runner.shutdown(grace_seconds=120)
