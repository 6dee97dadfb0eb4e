"""The one module outside flows/, tasks/ and deployments/ that talks to Prefect.

Every Prefect failure is turned into a `ForloebError` a person can act on.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import httpx

from core.errors import Conflict, OrchestratorUnavailable
from core.prefect_env import configure_prefect_env
from core.settings import get_settings

configure_prefect_env()

from prefect.client.orchestration import get_client  # noqa: E402
from prefect.client.schemas.objects import StateType  # noqa: E402
from prefect.exceptions import ObjectNotFound  # noqa: E402
from prefect.settings import PREFECT_API_URL  # noqa: E402

HOW_TO_START = "Start den med 'make run' (eller 'uv run prefect server start')."
FINAL_TYPES = frozenset(
    t.value for t in (StateType.COMPLETED, StateType.FAILED, StateType.CRASHED, StateType.CANCELLED)
)


@dataclass(frozen=True)
class RunState:
    type: str
    name: str
    pause_key: str | None
    since: datetime | None = None
    """When the run entered this state (the state's timestamp)."""
    schema_key: str | None = None
    """For a run waiting on input: the key under which Prefect keeps the form's schema."""

    @property
    def waiting(self) -> bool:
        return self.type == StateType.PAUSED.value

    @property
    def executing(self) -> bool:
        return self.type in (StateType.RUNNING.value, StateType.PENDING.value)

    @property
    def final(self) -> bool:
        return self.type in FINAL_TYPES


def api_url() -> str:
    return str(PREFECT_API_URL.value() or "")


def ensure_reachable() -> None:
    """Fail fast, with a clear message, when the Prefect server is not running."""
    url = api_url()
    if not url:
        return  # ephemeral/test server configured in-process
    try:
        response = httpx.get(url.rstrip("/") + "/health", timeout=3)
        response.raise_for_status()
    except httpx.HTTPError as exc:
        raise OrchestratorUnavailable(
            f"Prefect-serveren svarer ikke på {url}. {HOW_TO_START}", details=str(exc)
        ) from None


def _unavailable(exc: Exception) -> OrchestratorUnavailable:
    return OrchestratorUnavailable(
        f"Prefect-serveren svarer ikke på {api_url()}. {HOW_TO_START}", details=str(exc)
    )


def create_course_run(course_id: int, course_uid: str, run_name: str, tags: list[str]) -> str:
    """Create the course's flow run from its deployment; returns the flow run id."""
    return _create_run(
        get_settings().deployment,
        {"course_id": course_id},
        run_name,
        tags,
        idempotency_key=f"forloeb-course-{course_uid}",
    )


def create_application_run(application_id: int, application_uid: str, run_name: str, tags: list[str]) -> str:
    """Create an application's flow run from its deployment (issue 13); returns the flow run id."""
    from core.names import APPLICATION

    return _create_run(
        APPLICATION,
        {"application_id": application_id},
        run_name,
        tags,
        idempotency_key=f"forloeb-application-{application_uid}",
    )


def _create_run(
    deployment_name: str, parameters: dict[str, Any], run_name: str, tags: list[str], *, idempotency_key: str
) -> str:
    ensure_reachable()
    try:
        with get_client(sync_client=True) as client:
            try:
                deployment = client.read_deployment_by_name(deployment_name)
            except ObjectNotFound:
                raise OrchestratorUnavailable(
                    f"Deploymentet '{deployment_name}' findes ikke på Prefect-serveren. "
                    "Start runneren med 'make run'."
                ) from None
            flow_run = client.create_flow_run_from_deployment(
                deployment.id,
                parameters=parameters,
                name=run_name,
                tags=tags,
                idempotency_key=idempotency_key,
            )
            return str(flow_run.id)
    except httpx.HTTPError as exc:
        raise _unavailable(exc) from None


def run_state(flow_run_id: str) -> RunState:
    ensure_reachable()
    try:
        with get_client(sync_client=True) as client:
            flow_run = client.read_flow_run(UUID(flow_run_id))
    except httpx.HTTPError as exc:
        raise _unavailable(exc) from None
    return _state_of(flow_run)


def _state_of(flow_run: Any) -> RunState:
    state = flow_run.state
    if state is None:
        return RunState("PENDING", "Pending", None)
    keyset = state.state_details.run_input_keyset
    return RunState(
        state.type.value,
        state.name or state.type.value,
        state.state_details.pause_key,
        since=state.timestamp,
        schema_key=keyset.get("schema") if keyset else None,
    )


def run_states(flow_run_ids: list[str]) -> dict[str, RunState]:
    """The states of many runs in one request (the doctor reads every active course at once)."""
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    if not flow_run_ids:
        return {}
    ensure_reachable()
    found: dict[str, RunState] = {}
    try:
        with get_client(sync_client=True) as client:
            for start in range(0, len(flow_run_ids), 200):
                ids = [UUID(i) for i in flow_run_ids[start : start + 200]]
                for flow_run in client.read_flow_runs(
                    flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=ids)), limit=len(ids)
                ):
                    found[str(flow_run.id)] = _state_of(flow_run)
    except httpx.HTTPError as exc:
        raise _unavailable(exc) from None
    return found


def has_input(flow_run_id: str, key: str) -> bool:
    """Whether the run has a stored input under `key` (e.g. a waiting form's schema)."""
    try:
        with get_client(sync_client=True) as client:
            client.read_flow_run_input(UUID(flow_run_id), key)
    except ObjectNotFound:
        return False
    except httpx.HTTPStatusError as exc:
        if exc.response.status_code == 404:
            return False
        raise _unavailable(exc) from None
    except httpx.HTTPError as exc:
        raise _unavailable(exc) from None
    return True


def write_waiting_schema(flow_run_id: str, form: type[Any]) -> None:
    """Store the form's schema for the run's current wait, exactly as `suspend_flow_run` does.

    Prefect writes the Suspended state and the schema in two requests; when the second one fails
    (seen under load on SQLite: "database is locked"), the run waits but refuses every answer
    with "Run input schema not found". Writing it afterwards makes the wait answerable again."""
    from prefect.input.run_input import keyset_from_paused_state, run_input_subclass_from_type

    try:
        with get_client(sync_client=True) as client:
            flow_run = client.read_flow_run(UUID(flow_run_id))
            state = flow_run.state
            if state is None or not state.is_paused():
                raise Conflict("Forløbets flow-kørsel venter ikke på en opgave lige nu. Intet er ændret.")
            keyset: Any = state.state_details.run_input_keyset or keyset_from_paused_state(state)
        run_input_subclass_from_type(form).save(keyset, flow_run_id=UUID(flow_run_id))
    except httpx.HTTPError as exc:
        raise _unavailable(exc) from None


def hand_back(flow_run_id: str, reason: str) -> None:
    """Put a run that nobody executes any more back in the queue, to be run again from the top.

    A run left Running/Pending by a runner that died is first marked Crashed (forced: nobody
    else will), then proposed AwaitingRetry. Leaving a final state resets the run's pause keys
    (Prefect's own rule, as "Retry" in the UI), so the replay can wait on the same task again;
    the flow reads what was done from the app database and continues where it was."""
    from prefect.states import AwaitingRetry, Crashed

    try:
        with get_client(sync_client=True) as client:
            flow_run = client.read_flow_run(UUID(flow_run_id))
            state = flow_run.state
            if state is not None and not state.is_final():
                client.set_flow_run_state(UUID(flow_run_id), Crashed(message=reason), force=True)
            result: Any = client.set_flow_run_state(UUID(flow_run_id), AwaitingRetry(message=reason))
    except httpx.HTTPError as exc:
        raise _unavailable(exc) from None
    if result.status.value != "ACCEPT":
        why = getattr(result.details, "reason", "") or "ukendt årsag"
        raise Conflict(f"Prefect ville ikke sætte kørslen i kø igen: {why}")


def resume_course_run(
    flow_run_id: str, key: str, run_input: dict[str, Any], form: type[Any] | None = None
) -> None:
    """Resume a run waiting the old way (before programmes as data): suspended on the task's own
    key with the form's schema, so Prefect wants the answer as the run's input."""
    state = run_state(flow_run_id)
    if state.type != StateType.PAUSED.value or state.pause_key != key:
        raise Conflict(_not_waiting_message(state))
    result = _resume(flow_run_id, run_input)
    reason = getattr(result.details, "reason", "") or ""
    if result.status.value != "ACCEPT" and "schema not found" in reason and form is not None:
        # The wait lost its schema (see write_waiting_schema): repair it and answer once more.
        write_waiting_schema(flow_run_id, form)
        result = _resume(flow_run_id, run_input)
        reason = getattr(result.details, "reason", "") or ""
    if result.status.value != "ACCEPT":
        raise Conflict(
            f"Prefect afviste at genoptage forløbet ({reason or 'ukendt årsag'}). "
            "Kør 'forloeb doctor' for at se, hvad der er galt med forløbet."
        )


def is_legacy_wait(state: RunState) -> bool:
    """A wait from before the course engine: on a task's key, with the form as required input."""
    return state.waiting and state.schema_key is not None and not (state.pause_key or "").startswith("vent-")


def wake_course_run(
    flow_run_id: str,
    *,
    legacy: tuple[str, dict[str, Any], type[Any]] | None = None,
    settle_seconds: float = 3.0,
) -> str:
    """Let a course's run go on after something was stored for it (an answer, a new version).

    Suspended: resumed (a run waiting the old way gets `legacy` = (task key, answer, form) as its
    input). Executing or about to: it reads the database itself; if it is just about to suspend,
    we wait up to `settle_seconds` for that and resume it then. Ended: left to the repair loop.
    Returns what happened: 'resumed', 'running' or the run's state name."""
    from prefect.settings import PREFECT_CLIENT_MAX_RETRIES, temporary_settings

    # Best effort, fast: what is waited for is stored already, and the lead runner's repair loop
    # resumes a run that was not reached. With Prefect's default 5 retries on 503 (backing off
    # 2+4+8+16+32 s), a busy SQLite Prefect server ("database is locked") held a person's completion
    # for up to ~80 s, and a late retry could wake a later wait (bench/fault_drill.py).
    with temporary_settings({PREFECT_CLIENT_MAX_RETRIES: WAKE_RETRIES}):
        return _wake(flow_run_id, legacy, settle_seconds)


WAKE_RETRIES = 1


def _wake(
    flow_run_id: str, legacy: tuple[str, dict[str, Any], type[Any]] | None, settle_seconds: float
) -> str:
    import time

    deadline = time.monotonic() + settle_seconds
    while True:
        state = run_state(flow_run_id)
        if state.waiting:
            if is_legacy_wait(state):
                if legacy is None or legacy[0] != state.pause_key:
                    return state.name
                resume_course_run(flow_run_id, legacy[0], legacy[1], legacy[2])
                return "resumed"
            result = _resume(flow_run_id, None)
            if result.status.value == "ACCEPT":
                return "resumed"
            # Someone else resumed it a moment ago: it runs and reads the database.
            return "running"
        if state.final:
            return state.name
        if time.monotonic() >= deadline:
            return "running"
        time.sleep(0.2)


def _resume(flow_run_id: str, run_input: dict[str, Any] | None) -> Any:
    try:
        with get_client(sync_client=True) as client:
            return client.resume_flow_run(UUID(flow_run_id), run_input=run_input)
    except httpx.HTTPError as exc:
        raise _unavailable(exc) from None


def _not_waiting_message(state: RunState) -> str:
    if state.executing or state.type == StateType.SCHEDULED.value:
        return (
            "Forløbet er ved at gå videre (Prefect-kørslen er i gang) og venter ikke på denne opgave "
            "lige nu. Prøv igen om et øjeblik. Sker det stadig efter to minutter, så kør 'forloeb "
            "doctor'. Intet er ændret."
        )
    if state.waiting:
        return f"Forløbet venter ikke på denne opgave lige nu, men på '{state.pause_key}'. Intet er ændret."
    return (
        f"Forløbets Prefect-kørsel er stoppet ({state.name}) og venter ikke på opgaver. Genoptag "
        "forløbet med 'forloeb course resume' eller på siden Driftsstatus. Intet er ændret."
    )


# --- reminder runs (issue 4) ----------------------------------------------------------------


def schedule_run(
    deployment_name: str, parameters: dict[str, Any], scheduled_time: datetime, idempotency_key: str
) -> str:
    """A one-off flow run of `deployment_name` at `scheduled_time`; nobody waits for it. The same
    idempotency key gives back the same run, so scheduling twice creates one run."""
    from prefect.deployments import run_deployment

    try:
        flow_run = run_deployment(
            deployment_name,
            parameters=parameters,
            scheduled_time=scheduled_time,
            timeout=0,
            as_subflow=False,
            idempotency_key=idempotency_key,
            # Trap: run_deployment dispatches on "is an event loop running?" and hands back an
            # un-awaited coroutine when called from an async web handler. Always run it here.
            _sync=True,  # type: ignore[call-arg]
        )
    except ObjectNotFound:
        raise OrchestratorUnavailable(
            f"Deploymentet '{deployment_name}' findes ikke på Prefect-serveren. "
            "Start runneren med 'make run'."
        ) from None
    except httpx.HTTPError as exc:
        raise _unavailable(exc) from None
    return str(flow_run.id)  # type: ignore[union-attr]


def cancel_scheduled_runs(flow_run_ids: list[str]) -> None:
    """Set runs that have not started yet to Cancelled (runs already done are left alone)."""
    from prefect.states import Cancelled

    try:
        with get_client(sync_client=True) as client:
            for flow_run_id in flow_run_ids:
                flow_run = client.read_flow_run(UUID(flow_run_id))
                if flow_run.state is not None and flow_run.state.type == StateType.SCHEDULED:
                    client.set_flow_run_state(
                        UUID(flow_run_id), Cancelled(message="Mødet er flyttet eller aflyst"), force=True
                    )
    except httpx.HTTPError as exc:
        raise _unavailable(exc) from None


def scheduled_time_of(flow_run_id: str) -> tuple[str, datetime | None]:
    """(state name, scheduled start) of a flow run: for `forloeb meeting show` and tests."""
    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(UUID(flow_run_id))
    state = flow_run.state
    when = flow_run.next_scheduled_start_time or flow_run.expected_start_time
    return ((state.name or "") if state else "", when)
