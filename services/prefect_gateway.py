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


@dataclass(frozen=True)
class RunState:
    type: str
    name: str
    pause_key: str | None


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
    ensure_reachable()
    deployment_name = get_settings().deployment
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
                parameters={"course_id": course_id},
                name=run_name,
                tags=tags,
                idempotency_key=f"forloeb-course-{course_uid}",
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
    state = flow_run.state
    if state is None:
        return RunState("PENDING", "Pending", None)
    return RunState(state.type.value, state.name or state.type.value, state.state_details.pause_key)


def resume_course_run(flow_run_id: str, key: str, run_input: dict[str, Any]) -> None:
    """Resume the course run waiting on `key` with the (already validated) answer."""
    state = run_state(flow_run_id)
    if state.type != StateType.PAUSED.value or state.pause_key != key:
        waiting_on = f"venter på '{state.pause_key}'" if state.pause_key else f"er {state.name}"
        raise Conflict(
            f"Forløbets flow-kørsel venter ikke på denne opgave lige nu (den {waiting_on}). Intet er ændret."
        )
    try:
        with get_client(sync_client=True) as client:
            result = client.resume_flow_run(UUID(flow_run_id), run_input=run_input)
    except httpx.HTTPError as exc:
        raise _unavailable(exc) from None
    if result.status.value != "ACCEPT":
        reason = getattr(result.details, "reason", "") or "ukendt årsag"
        raise Conflict(f"Prefect afviste at genoptage forløbet: {reason}")


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
