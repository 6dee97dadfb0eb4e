"""A warm runner: picks up due course runs within a fraction of a second and runs them in-process.

    python -m deployments.runner

It replaces `prefect serve` for `make run`. Like Prefect's own Runner it registers every
deployment from `deployments.all_deployments()`, asks the API for the deployments' flow runs
that are due (`/deployments/get_scheduled_flow_runs`: Scheduled, start time <= now; a run that
was just resumed from Suspended is back in a Scheduled-type state and is found the same way),
and claims each one by proposing Pending, so that two runners never execute the same run.

Unlike Prefect's Runner it does not start a Python process per run: the claimed run is executed
in a worker thread of this (already warm) process with `prefect.flow_engine.run_flow`. When the
flow suspends (`suspend_flow_run`), the engine proposes Suspended and raises `Pause`; the thread
is then free again, so a waiting course holds no process and no thread. Completed, Failed and
Suspended states are set by the same flow engine the stock runner's child process uses.

Pickup: besides polling, the runner listens to the Prefect server's events stream (the events
websocket, `prefect.flow-run.*` state events of its deployments): a run that becomes Scheduled
(created, resumed, handed back) wakes the poll loop at once, instead of at the next poll. The
event is sent before the server commits the state, so a wake-up that finds nothing due polls again
a few times within the next 0.3 s. The same events free a worker as soon as its run suspends
or ends: Prefect's engine still needs up to a second to finish (it joins its heartbeat thread),
and that second no longer holds up the next run. Polling stays the fallback: when the stream is
down, pickup takes at most one poll interval, as before.

The same stream replaces Prefect's per-run suspension watch (`observe_flow_run_suspension`: for each
flow run the engine starts a thread with its own event loop, a new API client, an events websocket
with a backfill query and a read of the run, and joins it for up to 2 s at the end). A run executing
here that the server reports Suspended (suspended from outside, e.g. by `suspend_flow_run(id)`) is
still stopped at its next task, as Prefect would: `on_event` confirms the state and marks the run's
suspension request. Measured in the burst benchmark (py-spy): the watch took ~24 % of a runner's CPU
and ~14 % of the server's (websocket backfill queries, extra reads). With `FORLOEB_RUNNER_WAKE=poll`
(or FORLOEB_RUNNER_PREFECT_SUSPENSION_WATCH=1) Prefect's own watch stays.

Settings (environment): FORLOEB_RUNNER_POLL_SECONDS (default 0.3), FORLOEB_RUNNER_WAKE (`events`,
the default, or `poll`), FORLOEB_RUNNER_PREFECT_SUSPENSION_WATCH (default off, see above),
FORLOEB_RUNNER_MAX_WORKERS (default 4: runs executing at once; a
suspended course takes none), FORLOEB_RUNNER_SHUTDOWN_GRACE_SECONDS (default 60: on
Ctrl-C/SIGTERM, how long running runs may take to reach their next wait).

Prefect is imported inside functions only: importing this module is cheap, and `main()` points
Prefect at our server (`configure_prefect_env`) before the first Prefect import.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import ExitStack, contextmanager, suppress
from datetime import UTC, datetime
from functools import partial
from types import FrameType
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID, uuid4

from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.client.orchestration import SyncPrefectClient
    from prefect.client.schemas.objects import FlowRun
    from prefect.client.schemas.responses import FlowRunResponse
    from prefect.context import SyncClientContext
    from prefect.deployments.runner import RunnerDeployment
    from prefect.events import Event

logger = logging.getLogger("forloeb.runner")

READY_EVERY_SECONDS = 10.0
"""How often polling goes through Prefect's `get_scheduled_flow_runs` (marks deployments Ready)."""
SUSPENSION_CONFIRM_DELAY = 0.5
"""A Suspended event of a run executing here is confirmed after this pause: a run that suspends
itself has marked its own suspension request by then, and no API read is needed."""
REPOLL_AFTER_WAKE = (0.03, 0.06, 0.12)
"""After a wake-up that found nothing due: poll again after these pauses (seconds). The server
sends a state event before it commits the state, so the first poll may not see the run yet."""


class RunnerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FORLOEB_RUNNER_", extra="ignore")

    poll_seconds: float = 0.3
    """How often the API is asked for due runs (one small POST per poll)."""

    wake: Literal["events", "poll"] = "events"
    """`events`: also wake up on the server's flow-run state events (a resumed run is picked up at
    once); `poll`: polling only."""

    max_workers: int = 4
    """Flow runs executing at the same time. Suspended runs take no worker."""

    shutdown_grace_seconds: float = 60.0
    """On Ctrl-C/SIGTERM: how long running runs get to reach their next wait or their end."""

    prefect_suspension_watch: bool = False
    """True: keep Prefect's own per-run suspension watch (a thread, a client and an events websocket
    per executing run) instead of this runner's events stream; always so with `wake=poll`."""

    repair: bool = True
    """Keep a heartbeat in the app database and, when leading, repair orphaned runs by itself."""

    heartbeat_seconds: float = 10.0
    """How often the runner records in the app database that it is alive and which runs it has."""

    repair_seconds: float = 15.0
    """How often the lead runner (the oldest live one) repairs orphaned runs and lost waits."""


def _due_filter(deployment_ids: list[UUID], now: datetime) -> dict[str, Any]:
    """The filter of `/deployments/get_scheduled_flow_runs`, for the read-only `/flow_runs/filter`."""
    from prefect.client.schemas.filters import (
        DeploymentFilter,
        DeploymentFilterId,
        FlowRunFilter,
        FlowRunFilterNextScheduledStartTime,
        FlowRunFilterState,
        FlowRunFilterStateType,
    )
    from prefect.client.schemas.objects import StateType
    from prefect.client.schemas.sorting import FlowRunSort

    return {
        "deployment_filter": DeploymentFilter(id=DeploymentFilterId(any_=deployment_ids)),
        "flow_run_filter": FlowRunFilter(
            next_scheduled_start_time=FlowRunFilterNextScheduledStartTime(before_=now),
            state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.SCHEDULED])),
        ),
        "sort": FlowRunSort.NEXT_SCHEDULED_START_TIME_ASC,
    }


_DONE_HERE = frozenset({"PAUSED", "COMPLETED", "FAILED", "CRASHED", "CANCELLED"})
"""State types after which an execution only finishes (it suspended, or the run ended)."""


def _suspended_since(flow_run: FlowRun | FlowRunResponse) -> bool:
    """The run was resumed (Suspended -> Scheduled "Resuming"): an execution of it that this runner
    still has has already suspended and is only finishing. Prefect's engine joins its flow-run
    heartbeat thread on the way out, which takes up to a second after the suspend; a person (or a
    benchmark) answering within that second would otherwise wait for it."""
    return flow_run.state is not None and flow_run.state.name == "Resuming"


@contextmanager
def _no_engine_watch(*_args: Any, **_kwargs: Any) -> Iterator[None]:
    """Stands in for `prefect.flow_engine.observe_flow_run_suspension` (`WarmRunner.watch_suspensions`)."""
    yield


def flow_for(deployment: RunnerDeployment) -> Flow[..., Any]:
    """The flow object behind a deployment, imported as a module (not re-executed as a script)."""
    from prefect import Flow
    from prefect.flows import load_flow_from_entrypoint

    entrypoint = deployment.entrypoint or ""
    path, _, attribute = entrypoint.partition(":")
    if path.endswith(".py") and not os.path.isabs(path):
        module_name = path.removesuffix(".py").replace("/", ".").replace("\\", ".")
        try:
            found = getattr(importlib.import_module(module_name), attribute, None)
        except ImportError:
            found = None
        if isinstance(found, Flow):
            return found
    return load_flow_from_entrypoint(entrypoint, use_placeholder_flow=False)


def register(deployments: Iterable[RunnerDeployment]) -> dict[UUID, Flow[..., Any]]:
    """Apply each deployment to the API (as `serve` does); map deployment id -> flow object."""
    flows: dict[UUID, Flow[..., Any]] = {}
    for deployment in deployments:
        deployment_id = deployment.apply()
        assert isinstance(deployment_id, UUID)
        flows[deployment_id] = flow_for(deployment)
    return flows


class WarmRunner:
    """Polls for due runs of the given deployments and executes them on a thread pool.

    `poll_once()` does one query-claim-submit cycle (tests call it directly); `serve_forever()`
    repeats it until `request_stop()`; `shutdown()` waits for runs that are executing.
    """

    def __init__(
        self,
        flows: Mapping[UUID, Flow[..., Any]],
        *,
        poll_seconds: float = 0.3,
        max_workers: int = 4,
        run_filter: Callable[[FlowRun | FlowRunResponse], bool] | None = None,
    ) -> None:
        """`run_filter`, when given, limits the runner to the runs it accepts (tests use it)."""
        if not flows:
            raise ValueError("The runner needs at least one deployment.")
        self.flows = dict(flows)
        self.poll_seconds = poll_seconds
        self.max_workers = max_workers
        self.run_filter = run_filter
        # The Prefect settings (API URL) of whoever built the runner, for every thread it uses:
        # a new thread starts with an empty context and would fall back to the global settings.
        self._context = contextvars.copy_context()
        # Spare threads: an execution that suspended keeps its thread for up to ~1 s more (Prefect's
        # engine joins its heartbeat thread) while its worker already takes the next run.
        self._pool = ThreadPoolExecutor(max_workers=3 * max_workers, thread_name_prefix="forloeb-run")
        self._lock = threading.Lock()
        self._in_flight: dict[UUID, Future[None]] = {}
        self._started: dict[UUID, datetime] = {}
        self._finishing: set[UUID] = set()
        """Runs whose execution has suspended or ended (the server's event said so) and is only
        finishing: Prefect's engine joins its heartbeat thread for up to a second. Their worker
        counts as free."""
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._wakes_left = 0
        self._events_live = False
        self._listener: threading.Thread | None = None
        self._local = threading.local()
        self._exit_stack = ExitStack()
        self._client: SyncPrefectClient | None = None
        self._last_ready: datetime | None = None
        self.runner_id = f"{socket.gethostname()}-{os.getpid()}-{uuid4().hex[:6]}"
        self._keeper: threading.Thread | None = None
        self._watching_suspensions = False

    # --- polling and claiming -------------------------------------------------------------

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def in_flight(self) -> set[UUID]:
        with self._lock:
            return set(self._in_flight)

    def executing(self) -> set[UUID]:
        """The runs whose flow body is executing here: `in_flight()` less those only finishing."""
        with self._lock:
            return set(self._in_flight) - self._finishing

    def _api(self) -> SyncPrefectClient:
        """One API client per runner, made with the builder's settings, whichever thread asks first."""
        with self._lock:
            if self._client is None:
                from prefect.client.orchestration import get_client

                client = self._context.copy().run(get_client, sync_client=True)
                self._client = self._exit_stack.enter_context(client)
            return self._client

    def due_runs(self) -> list[FlowRun | FlowRunResponse]:
        """The deployments' Scheduled runs whose start time has come, earliest first.

        Every `READY_EVERY_SECONDS` this is Prefect Runner's own query
        (`/deployments/get_scheduled_flow_runs`, which also marks the deployments Ready); in
        between, the same filter through the read-only `/flow_runs/filter`. The former queues a
        database write on the server per call; several writes a second made the SQLite server
        answer other writes (such as a resume) with "database is locked" and a retry.
        """
        now = datetime.now(UTC)
        if self._last_ready is None or (now - self._last_ready).total_seconds() >= READY_EVERY_SECONDS:
            self._last_ready = now
            runs: list[FlowRun | FlowRunResponse] = list(
                self._api().get_scheduled_flow_runs_for_deployments(
                    deployment_ids=list(self.flows), scheduled_before=now
                )
            )
        else:
            runs = list(self._api().read_flow_runs(**_due_filter(list(self.flows), now)))
        latest = datetime.max.replace(tzinfo=UTC)
        return sorted(runs, key=lambda run: run.next_scheduled_start_time or latest)

    def claim(self, flow_run_id: UUID) -> bool:
        """Propose Pending, as Prefect's Runner does; only one proposer of Scheduled -> Pending wins."""
        from prefect.exceptions import Abort
        from prefect.states import Pending
        from prefect.utilities.engine import propose_state_sync

        try:
            state = propose_state_sync(self._api(), Pending(), flow_run_id=flow_run_id)
        except Abort as exc:
            logger.debug("Flow run %s was taken by someone else: %s", flow_run_id, exc)
            return False
        except Exception:
            logger.exception("Could not claim flow run %s", flow_run_id)
            return False
        if not state.is_pending():
            logger.debug("Flow run %s is %s, not Pending: not ours", flow_run_id, state.type.value)
            return False
        return True

    def poll_once(self) -> list[UUID]:
        """Query due runs, claim as many as there are free workers, start them. Returns the claimed ids."""
        return self._context.copy().run(self._poll_once)

    def _poll_once(self) -> list[UUID]:
        if self.stopping:
            return []
        free = self.max_workers - len(self.executing())
        if free <= 0:
            return []  # leave the rest Scheduled: another runner (or our next poll) takes them
        claimed: list[UUID] = []
        for flow_run in self.due_runs():
            if len(claimed) >= free or self.stopping:
                break
            if flow_run.deployment_id not in self.flows:
                continue
            if flow_run.id in self.in_flight() and not _suspended_since(flow_run):
                continue
            if self.run_filter is not None and not self.run_filter(flow_run):
                continue
            if not self.claim(flow_run.id):
                continue
            try:
                self._submit(flow_run)
            except Exception:  # e.g. the pool was shut down meanwhile: hand the run back
                logger.exception("Could not start flow run %s", flow_run.id)
                self._reschedule([flow_run.id])
                continue
            claimed.append(flow_run.id)
        return claimed

    def _submit(self, flow_run: FlowRun | FlowRunResponse) -> None:
        assert flow_run.deployment_id is not None
        flow = self.flows[flow_run.deployment_id]
        with self._lock:
            future = self._pool.submit(self._context.copy().run, self._execute, flow, flow_run.id)
            self._in_flight[flow_run.id] = future
            self._started[flow_run.id] = datetime.now(UTC)
            self._finishing.discard(flow_run.id)
        future.add_done_callback(partial(self._forget, flow_run.id))

    def _forget(self, flow_run_id: UUID, future: Future[None]) -> None:
        with self._lock:
            if self._in_flight.get(flow_run_id) is future:
                del self._in_flight[flow_run_id]
                self._started.pop(flow_run_id, None)
                self._finishing.discard(flow_run_id)
        self._wake.set()  # a worker is free: runs left waiting for one are taken at once

    # --- waking up on the server's events ---------------------------------------------------

    def wake(self, resource_id: str | None = None) -> None:
        """Poll now (and a few times shortly after, see `REPOLL_AFTER_WAKE`). `resource_id`: the
        run whose event woke us (`prefect.flow-run.<id>`), for the log and for tests."""
        logger.debug("Woken by %s", resource_id or "a free worker")
        self._wakes_left = len(REPOLL_AFTER_WAKE)
        self._wake.set()

    def wakes_on(self, event: Event) -> bool:
        """A state event of one of our deployments' runs that became Scheduled (due now or later)."""
        if event.resource.get("prefect.state-type") != "SCHEDULED":
            return False
        deployments = {f"prefect.deployment.{deployment_id}" for deployment_id in self.flows}
        return any(related.id in deployments for related in event.related)

    def on_event(self, event: Event) -> None:
        """A flow-run state event of our deployments: wake up for a run that became Scheduled; free
        the worker of a run executing here that suspended or ended (it is only finishing now)."""
        if self.wakes_on(event):
            self.wake(event.resource.id)
            return
        if event.resource.get("prefect.state-type") not in _DONE_HERE:
            return
        try:
            flow_run_id = UUID(event.resource.id.removeprefix("prefect.flow-run."))
        except ValueError:
            return
        with self._lock:
            started = self._started.get(flow_run_id)
            if started is None or event.occurred < started:
                return  # not ours, or about an earlier execution of the run
            self._finishing.add(flow_run_id)
        self._wake.set()
        if self._watching_suspensions and event.resource.get("prefect.state-name") == "Suspended":
            timer = threading.Timer(
                SUSPENSION_CONFIRM_DELAY, self._context.copy().run, (self._confirm_suspension, flow_run_id)
            )
            timer.daemon = True
            timer.start()

    # --- suspensions: this runner's events stream instead of Prefect's per-run watch ------------

    def watch_suspensions(self) -> None:
        """Replace the flow engine's per-run suspension watch (a thread, a client and an events
        websocket per run) by this runner's events stream (see the module docstring). Process-wide:
        call it once, in the runner process, together with `start_listener()`."""
        import prefect.flow_engine

        if not hasattr(prefect.flow_engine, "observe_flow_run_suspension"):
            logger.warning("This Prefect has no per-run suspension watch to replace; keeping its own")
            return
        prefect.flow_engine.observe_flow_run_suspension = _no_engine_watch  # type: ignore[assignment]
        self._watching_suspensions = True

    def _confirm_suspension(self, flow_run_id: UUID) -> None:
        """A run executing here was reported Suspended: unless it suspended itself (its request is
        marked already), read the run and, when the server has it Suspended, mark the request, so
        the engine stops it at its next task (what Prefect's watch does)."""
        from prefect._flow_run_suspension import (
            _active_flow_run_suspension_requests,
            is_suspended_flow_run_state,
            mark_flow_run_suspension_requested,
        )

        request = _active_flow_run_suspension_requests.get(flow_run_id)
        if request is None or request.is_requested():
            return  # it ended, or it suspended itself
        from prefect.client.orchestration import get_client

        try:  # rare (a suspension from outside): a client for this one read
            with get_client(sync_client=True) as client:
                state = client.read_flow_run(flow_run_id).state
        except Exception:
            logger.exception("Could not read flow run %s after its Suspended event", flow_run_id)
            return
        if is_suspended_flow_run_state(state):
            assert state is not None
            logger.info("Flow run %s was suspended from outside; it stops at its next task", flow_run_id)
            mark_flow_run_suspension_requested(flow_run_id, state)

    @property
    def listening(self) -> bool:
        """The events stream is connected (pickup does not wait for the next poll)."""
        return self._events_live

    def start_listener(self) -> None:
        """A daemon thread that follows the server's flow-run events and wakes the poll loop."""
        self._listener = threading.Thread(
            target=self._context.copy().run, args=(self._listen,), name="forloeb-events", daemon=True
        )
        self._listener.start()

    def _listen(self) -> None:
        asyncio.run(self._follow_events())

    async def _follow_events(self) -> None:
        from prefect.events.clients import PrefectEventSubscriber
        from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter

        deployments = [f"prefect.deployment.{deployment_id}" for deployment_id in self.flows]
        failures = 0
        while not self.stopping:
            events = EventFilter(
                event=EventNameFilter(prefix=["prefect.flow-run."]),
                related=EventRelatedFilter(id=deployments),
            )
            try:
                async with PrefectEventSubscriber(filter=events, reconnection_attempts=2) as stream:
                    self._events_live = True
                    if failures:
                        logger.info("Following the server's events again")
                    failures = 0
                    async for event in stream:
                        if self.stopping:
                            return
                        self.on_event(event)
            except Exception as exc:  # the server is down or restarting: polling goes on meanwhile
                failures += 1
                if failures == 1:
                    logger.warning("The events stream stopped (%r); polling until it is back", exc)
            finally:
                self._events_live = False
            await asyncio.sleep(min(10.0, 0.5 * 2**failures))

    def _sleep(self, seconds: float) -> None:
        """Wait until the next poll: `seconds`, or less when woken (an event, a free worker)."""
        if self._wakes_left > 0:
            self._wakes_left -= 1
            seconds = min(seconds, REPOLL_AFTER_WAKE[-1 - self._wakes_left])
        if self._wake.wait(seconds):
            self._wake.clear()

    # --- executing ------------------------------------------------------------------------

    def _execute(self, flow: Flow[..., Any], flow_run_id: UUID) -> None:
        """Run the flow until it ends or suspends. Never raises: one bad run must not stop the runner."""
        from prefect.exceptions import Abort, Pause
        from prefect.flow_engine import load_flow_run, run_flow

        try:
            with self._thread_client():
                # Read the run afresh (as the stock runner's child process does): it is Pending now.
                flow_run = load_flow_run(flow_run_id)
                state = run_flow(flow, flow_run=flow_run, return_type="state")
            logger.info("Flow run %s ended %s", flow_run_id, getattr(state, "name", state))
        except Pause:
            logger.info("Flow run %s is waiting (suspended); its thread is free", flow_run_id)
        except Abort as exc:
            logger.info("Flow run %s was aborted by the server: %s", flow_run_id, exc)
        except BaseException as exc:
            logger.exception("Flow run %s stopped with an unexpected error", flow_run_id)
            self._crash(flow, flow_run_id, f"The runner's execution of this run failed: {exc!r}")

    def _thread_client(self) -> SyncClientContext:
        """This worker thread's Prefect client context, kept open between executions.

        The flow engine, its tasks and `load_flow_run` take the client of the current
        `SyncClientContext`; without one each execution builds two new clients, and each new client
        loads the CA bundle into a fresh SSL context (~10-30 ms of CPU, even for http://) and opens
        new connections. One client per thread (a client is not shared between threads)."""
        context: SyncClientContext | None = getattr(self._local, "client_context", None)
        if context is None:
            from prefect.context import SyncClientContext

            context = SyncClientContext()
            context.client.__enter__()  # held open for the thread's life; `with context` re-enters it
            self._local.client_context = context
        return context

    def _crash(self, flow: Flow[..., Any], flow_run_id: UUID, message: str) -> None:
        """Like Prefect's Runner after a child process died: Crashed (if still unfinished) + hooks."""
        from prefect.client.orchestration import get_client
        from prefect.exceptions import Abort
        from prefect.states import Crashed
        from prefect.utilities.engine import propose_state_sync

        try:
            with get_client(sync_client=True) as client:
                flow_run = client.read_flow_run(flow_run_id)
                if flow_run.state is not None and (flow_run.state.is_final() or flow_run.state.is_paused()):
                    return  # the engine already recorded how it ended
                state = propose_state_sync(client, Crashed(message=message), flow_run_id=flow_run_id)
        except Abort:
            return
        except Exception:
            logger.exception("Could not mark flow run %s as crashed", flow_run_id)
            return
        if not state.is_crashed():
            return
        for hook in flow.on_crashed_hooks:
            try:
                hook(flow, flow_run, state)
            except Exception:
                logger.exception("on_crashed hook %r of flow run %s failed", hook, flow_run_id)

    # --- heartbeat and repair -------------------------------------------------------------

    def start_keeper(self, heartbeat_seconds: float = 10.0, repair_seconds: float = 15.0) -> None:
        """A daemon thread: a heartbeat every `heartbeat_seconds`; the lead runner also repairs."""
        self._beat_every, self._repair_every = heartbeat_seconds, repair_seconds
        self._keeper = threading.Thread(
            target=self._context.copy().run, args=(self._keep,), name="forloeb-keeper", daemon=True
        )
        self._keeper.start()

    def heartbeat(self) -> bool:
        """Record this runner as alive with the runs it executes; True when it leads."""
        from services import recovery

        running = [str(run_id) for run_id in self.in_flight()]
        return recovery.runner_heartbeat(self.runner_id, socket.gethostname(), os.getpid(), running)

    def repair_once(self) -> int:
        """Repair what needs no person (orphaned runs, lost schemas, undelivered answers)."""
        from services import recovery

        repaired = recovery.repair_automatically(actor=f"runner {self.runner_id}")
        for finding, outcome in repaired:
            logger.warning("Repaired course %s (%s): %s", finding.course_id, finding.kind, outcome)
        return len(repaired)

    def _keep(self) -> None:
        last_repair = 0.0
        while not self.stopping:
            try:
                leading = self.heartbeat()
                if leading and time.monotonic() - last_repair >= self._repair_every:
                    last_repair = time.monotonic()
                    # One Prefect client for the keeper thread: the gateway's `get_client()` takes it
                    # from the context instead of building one (a new SSL context) per question; in
                    # a burst, ~20 % of a runner's CPU went to the repair loop's new clients (py-spy).
                    with self._thread_client():
                        self.repair_once()
            except Exception as exc:  # the app DB or Prefect may be down: try again later
                logger.warning("Heartbeat/repair failed (%r); trying again", exc)
            self._stop.wait(self._beat_every)

    def _stop_keeper(self) -> None:
        from services import recovery

        if self._keeper is None:
            return
        self._keeper.join(timeout=5)
        try:
            recovery.runner_stopped(self.runner_id)
        except Exception:
            logger.warning("Could not remove this runner's heartbeat (it expires by itself)")

    # --- running and stopping -------------------------------------------------------------

    def serve_forever(self) -> None:
        """Poll until `request_stop()`. API errors are logged and retried with a short backoff."""
        failures = 0
        while not self.stopping:
            try:
                if self.poll_once():
                    self._wakes_left = 0  # the run that woke us is taken: no quick re-polls
                if failures:
                    logger.info("The Prefect API answers again")
                failures = 0
            except Exception as exc:
                failures += 1
                if failures == 1:
                    logger.warning("Polling the Prefect API failed (%r); retrying", exc)
            backoff = min(5.0, self.poll_seconds * 2**failures) if failures else self.poll_seconds
            self._sleep(backoff)

    def drain(self, timeout: float | None = None) -> bool:
        """Wait until the runs executing now have ended or suspended. True when none of them is left."""
        with self._lock:
            items = list(self._in_flight.items())
        wait([future for _, future in items], timeout=timeout)
        for flow_run_id, future in items:
            if future.done():
                self._forget(flow_run_id, future)
        return all(future.done() for _, future in items)

    def request_stop(self) -> None:
        """Stop claiming new runs (safe from a signal handler or another thread)."""
        self._stop.set()
        self._wake.set()

    def shutdown(self, grace_seconds: float = 60.0) -> bool:
        """Stop polling and let executing runs reach their next wait or end.

        Returns True when nothing was left running. Runs still executing after the grace period
        (or a second Ctrl-C) are put back to Scheduled (AwaitingRetry, as Prefect's Runner does on
        SIGTERM) so the next runner picks them up; the caller should then exit the process at once.
        """
        self.request_stop()
        with self._lock:
            futures = list(self._in_flight.values())
        if futures:
            logger.info("Waiting up to %.0f s for %d running flow run(s)", grace_seconds, len(futures))
        try:
            wait(futures, timeout=grace_seconds)
        except KeyboardInterrupt:
            logger.warning("Second interrupt: not waiting any longer")
        left = self.in_flight()
        if left:
            self._context.copy().run(self._reschedule, left)
            self._context.copy().run(self._stop_keeper)
            return False
        self._pool.shutdown(wait=True)
        self._context.copy().run(self._stop_keeper)
        self._exit_stack.close()
        return True

    def _reschedule(self, flow_run_ids: Iterable[UUID]) -> None:
        from prefect.client.orchestration import get_client
        from prefect.states import AwaitingRetry
        from prefect.utilities.engine import propose_state_sync

        with get_client(sync_client=True) as client:
            for flow_run_id in flow_run_ids:
                try:
                    propose_state_sync(client, AwaitingRetry(), flow_run_id=flow_run_id)
                    logger.warning("Flow run %s put back to Scheduled for the next runner", flow_run_id)
                except Exception:
                    logger.exception("Could not reschedule flow run %s", flow_run_id)


def main() -> None:
    from core.prefect_env import configure_prefect_env

    configure_prefect_env()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per poll otherwise
    from core import redact

    redact.install()  # no secret, link token, e-mail or CPR number in the runner's and runs' logs
    from notifications.send import smtp_problem

    if problem := smtp_problem():  # the runner sends the mails: never in plain text to a remote host
        raise SystemExit(problem)
    settings = RunnerSettings()
    from deployments import all_deployments

    flows = register(all_deployments())
    runner = WarmRunner(flows, poll_seconds=settings.poll_seconds, max_workers=settings.max_workers)
    if settings.repair:
        runner.start_keeper(settings.heartbeat_seconds, settings.repair_seconds)
    if settings.wake == "events":
        runner.start_listener()
        if not settings.prefect_suspension_watch:
            runner.watch_suspensions()

    def on_sigterm(_signum: int, _frame: FrameType | None) -> None:
        runner.request_stop()

    signal.signal(signal.SIGTERM, on_sigterm)
    names = ", ".join(sorted(flow.name for flow in flows.values()))
    logger.info(
        "Runner ready: %d deployment(s) (%s), polling every %.2f s%s, %d worker(s). Ctrl-C stops it.",
        len(flows),
        names,
        runner.poll_seconds,
        " and woken by the server's events" if settings.wake == "events" else "",
        runner.max_workers,
    )
    with suppress(KeyboardInterrupt):
        runner.serve_forever()
    logger.info("Stopping the runner")
    if not runner.shutdown(settings.shutdown_grace_seconds):
        os._exit(1)  # worker threads cannot be interrupted; their runs were handed back
    logger.info("Runner stopped")


if __name__ == "__main__":
    main()
