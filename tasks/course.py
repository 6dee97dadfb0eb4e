"""Prefect tasks: every side effect of a course, one task per engine action (`services.engine`).

The course tasks need no cache: the engine skips what the app database says is done. `ONCE_PER_RUN`
(INPUTS + RUN_ID + the task's name, persisted results) is kept for the reminder flows' tasks: a
retried reminder run returns finished sends instead of running them again. The default policy would
also hash the task's source, so a code release would re-run finished work.
"""

from __future__ import annotations

from typing import Any

from prefect import task
from prefect.cache_policies import INPUTS, NO_CACHE, RUN_ID, CachePolicy
from prefect.context import TaskRunContext

from core.faults import is_infrastructure
from services import flow_steps


class TaskName(CachePolicy):
    """The task's name. INPUTS + RUN_ID alone gives two different tasks called with the same
    arguments in one run (begin_stage / finish_stage of a stage) the same cache key, and the
    second would silently return the first one's result instead of running."""

    def compute_key(
        self,
        task_ctx: TaskRunContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        return task_ctx.task.name if task_ctx else None


ONCE_PER_RUN = INPUTS + RUN_ID + TaskName()
"""A finished task's result is reused for the same inputs, in the same flow run, by the same task:
a replay after a resume returns it instead of doing the side effect again."""


def on_outage(_task: Any, _task_run: Any, state: Any) -> bool:
    """Retry a task only when it failed on an outage (database locked, Prefect API or mail server
    not answering); a defect fails at once, so its reason is not buried under retries."""
    try:
        state.result()
    except Exception as exc:
        return is_infrastructure(exc)
    return False


OUTAGE_RETRIES: dict[str, Any] = {
    "retries": 4,
    "retry_delay_seconds": [1, 4, 15, 30],
    "retry_jitter_factor": 0.2,
    "retry_condition_fn": on_outage,
}
"""About 50 s of outage absorbed inside a step; longer ones end the run, and the lead runner puts
it back (services.recovery) without the course ever being marked failed."""
_task = task(persist_result=False, cache_policy=NO_CACHE, **OUTAGE_RETRIES)
"""The course engine (`services.engine`) decides from the app database what is still to do, and every
action below is idempotent with a done-mark: a replay never calls a task for work that is done (no
Prefect task run, no cache lookup), and a task interrupted before its mark runs again harmlessly."""


@_task
def activate_course(course_id: int, flow_run_id: str | None) -> None:
    flow_steps.activate_course(course_id, flow_run_id)


@_task
def begin_stage(course_id: int, stage_key: str) -> None:
    flow_steps.begin_stage(course_id, stage_key)


@_task
def show_stage_in_prefect(flow_run_id: str, run_name: str, stage_key: str, position: int) -> None:
    """Rename and tag the flow run so the Prefect UI shows the main track's stage too (one request)."""
    from uuid import UUID

    from prefect.client.orchestration import get_client

    with get_client(sync_client=True) as client:
        flow_run = client.read_flow_run(UUID(flow_run_id))
        tags = [t for t in flow_run.tags if not t.startswith("fase:")]
        client.update_flow_run(
            UUID(flow_run_id), name=run_name, tags=[*tags, f"fase:{position:02d}-{stage_key}"]
        )


@_task
def finish_stage(course_id: int, stage_key: str) -> None:
    flow_steps.finish_stage(course_id, stage_key)


@_task
def open_task(course_id: int, stage_key: str, key: str, round_no: int, meeting_key: str | None) -> int:
    return flow_steps.open_task(course_id, stage_key, key, round_no, meeting_key)


@_task
def apply_answer(course_id: int, key: str, meeting_key: str | None) -> None:
    flow_steps.apply_answer(course_id, key, meeting_key)


@_task
def schedule_meeting(course_id: int, key: str, meeting_key: str) -> int:
    kind, on, at = flow_steps.scheduled_day(course_id, key)
    return flow_steps.schedule_meeting(course_id, meeting_key, kind, on, at)


@_task
def complete_course(course_id: int) -> None:
    flow_steps.complete_course(course_id)
