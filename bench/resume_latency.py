"""Benchmark: how long until a course reaches its next human task, stock `serve` vs the warm runner.

    uv run --frozen python bench/resume_latency.py [--courses 5] [--completions 3]

Starts its own Prefect server (SQLite, PREFECT_HOME in a temp dir, a free 127.0.0.1 port) and a
temp app database seeded with the municipalities, then for each configuration starts the runner
process, starts N courses (different municipalities) and completes a few tasks per course:

- create -> first task: `courses.start_course` called -> first HumanTask row's `created_at`;
- resume -> next task:  `courses.complete_task` called -> the next HumanTask row's `created_at`.

One course is in flight at a time (action, wait for its task row, a random pause so the next action
lands at another point of the runner's poll cycle): latency, not throughput under a burst.
Prints p50/p95 per configuration and writes the same table to bench/RESULTS-resume_latency.md.
Bounded by `--max-minutes`; every process it started is stopped on exit or Ctrl-C.
This is a benchmark, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

ANSWER_BASE = date(2026, 3, 2)
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS-resume_latency.md"
PROGRAMME = "minoritetsetniske"
MUNICIPALITIES = [
    "Aarhus", "Odense", "Aalborg", "Esbjerg", "Randers", "Kolding", "Horsens", "Vejle", "Roskilde",
    "Herning", "Silkeborg", "Næstved", "Fredericia", "Viborg", "Køge", "Holstebro", "Slagelse",
]  # fmt: skip


PER_ACTION = 90.0  # seconds to wait for one task row before counting it as missing
BREAKDOWN = ("complete_task call", "resumed → Pending", "Pending → Running", "Running → task row")


@dataclass(frozen=True)
class Config:
    key: str
    title: str
    module: str
    env: dict[str, str]
    ready_marker: str


CONFIGS = {
    "stock": Config("stock", "stock serve (poll 10 s)", "deployments.serve", {}, "being served"),
    "stock-poll1": Config(
        "stock-poll1",
        "stock serve, PREFECT_RUNNER_POLL_FREQUENCY=1",
        "deployments.serve",
        {"PREFECT_RUNNER_POLL_FREQUENCY": "1"},
        "being served",
    ),
    "ours": Config("ours", "warm runner (deployments.runner)", "deployments.runner", {}, "Runner ready"),
}


@dataclass
class Sample:
    kind: str  # "create" or "resume"
    course_id: int
    flow_run_id: str
    started: datetime
    call_seconds: float = 0.0
    task_created: datetime | None = None

    @property
    def seconds(self) -> float | None:
        if self.task_created is None:
            return None
        return (self.task_created - self.started).total_seconds()


@dataclass
class Result:
    config: Config
    samples: list[Sample] = field(default_factory=list)
    breakdown: dict[str, list[float]] = field(default_factory=dict)
    note: str = ""

    def seconds(self, kind: str) -> list[float]:
        return [s.seconds for s in self.samples if s.kind == kind and s.seconds is not None]

    def missing(self, kind: str) -> int:
        return sum(1 for s in self.samples if s.kind == kind and s.seconds is None)


# --- processes ------------------------------------------------------------------------------

_started: list[subprocess.Popen[bytes]] = []


def _spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    process = subprocess.Popen(
        args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
    )
    _started.append(process)
    return process


def _stop(process: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM the process group we started (the runner and its flow-run children), then SIGKILL."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # leftovers in the group, if any
    process.wait(timeout=10)
    if process in _started:
        _started.remove(process)


def _stop_all() -> None:
    for process in reversed(list(_started)):
        _stop(process, grace=10)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(predicate: Any, timeout: float, what: str, step: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(step)
    raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")


def _healthy(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def prefect_server(tmp: Path) -> Iterator[dict[str, str]]:
    """A real `prefect server start` on SQLite in `tmp`; yields the environment pointing at it."""
    port = _free_port()
    env = {
        **os.environ,
        "PREFECT_HOME": str(tmp / "prefect"),
        "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
        "PYTHONUNBUFFERED": "1",
        "FORLOEB_PREFECT_UI_URL": f"http://127.0.0.1:{port}",
        "FORLOEB_DATA_DIR": str(tmp / "data"),
        "FORLOEB_DATABASE_URL": f"sqlite:///{tmp / 'app.db'}",
    }
    for name in ("PREFECT_RUNNER_POLL_FREQUENCY", "FORLOEB_RUNNER_POLL_SECONDS"):
        env.pop(name, None)
    server = _spawn(
        [
            str(Path(sys.executable).with_name("prefect")),
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env,
        tmp / "server.log",
    )
    started = time.monotonic()
    _wait_for(
        lambda: _healthy(env["PREFECT_API_URL"]) or server.poll() is not None, 180, "the Prefect server"
    )
    if server.poll() is not None:
        raise RuntimeError(f"Prefect server exited; see {tmp / 'server.log'}")
    print(f"Prefect server up on port {port} after {time.monotonic() - started:.1f} s", flush=True)
    try:
        yield env
    finally:
        _stop(server)


# --- the app side (in this process) ---------------------------------------------------------


def _new_tasks(course_ids: list[int], after_ids: set[int]) -> dict[int, tuple[int, datetime]]:
    """Per course: the newest task row not in `after_ids` (id, created_at)."""
    from sqlmodel import col, select

    from core.clock import as_utc
    from core.db import session_scope
    from models.tables import HumanTask

    found: dict[int, tuple[int, datetime]] = {}
    with session_scope() as session:
        rows = session.exec(
            select(HumanTask).where(col(HumanTask.course_id).in_(course_ids)).order_by(col(HumanTask.id))
        )
        for task in rows:
            assert task.id is not None
            if task.id not in after_ids:
                found[task.course_id] = (task.id, as_utc(task.created_at))
    return found


def _all_task_ids() -> set[int]:
    from sqlmodel import select

    from core.db import session_scope
    from models.tables import HumanTask

    with session_scope() as session:
        return {task_id for task_id in session.exec(select(HumanTask.id)) if task_id is not None}


def _wait_for_tasks(samples: list[Sample], known: set[int], timeout: float) -> None:
    """Fill in `task_created` for each sample as its course's next task row appears."""
    deadline = time.monotonic() + timeout
    pending = {s.course_id: s for s in samples}
    while pending and time.monotonic() < deadline:
        for course_id, (_, created) in _new_tasks(list(pending), known).items():
            sample = pending.pop(course_id, None)
            if sample is not None:
                sample.task_created = created
        if pending:
            time.sleep(0.1)


def _runner_ready(log: Path, marker: str) -> bool:
    try:
        return marker in log.read_text(errors="replace")
    except FileNotFoundError:
        return False


def run_config(
    config: Config,
    env: dict[str, str],
    tmp: Path,
    municipalities: list[str],
    completions: int,
    pause: float,
    deadline: float,
) -> Result:
    from models.examples import sample_answer
    from services import courses, read_model

    def open_tasks(course_id: int) -> list[Any]:
        rows, _total = read_model.task_inbox(course_id=course_id, limit=None)
        return [row.task for row in rows]

    result = Result(config)
    log = tmp / f"runner-{config.key}.log"
    runner = _spawn([sys.executable, "-m", config.module], {**env, **config.env}, log)
    try:
        started = time.monotonic()
        _wait_for(
            lambda: _runner_ready(log, config.ready_marker) or runner.poll() is not None, 180, config.title
        )
        if runner.poll() is not None:
            raise RuntimeError(f"{config.title} exited; see {log}")
        print(f"[{config.key}] runner ready after {time.monotonic() - started:.1f} s", flush=True)
        rng = random.Random(len(municipalities))

        def measure(sample_of: Callable[[], Sample]) -> bool:
            """One action, then wait for its task row: one course in flight at a time."""
            if time.monotonic() + PER_ACTION > deadline:
                result.note = "stopped early: time budget"
                return False
            known = _all_task_ids()
            sample = sample_of()
            _wait_for_tasks([sample], known, PER_ACTION)
            result.samples.append(sample)
            time.sleep(rng.uniform(0, pause))  # land at a different point of the poll cycle
            return True

        courses: dict[int, str] = {}

        def create(name: str) -> Sample:
            t0 = datetime.now(UTC)
            course = courses.start_course(name, PROGRAMME, "Bench Konsulent")
            assert course.id is not None and course.flow_run_id
            courses[course.id] = course.flow_run_id
            return Sample("create", course.id, course.flow_run_id, t0)

        def resume(course_id: int) -> Sample:
            [task] = open_tasks(course_id)
            assert task.id is not None
            t0, call = _complete(task.id, sample_answer(task.kind, ANSWER_BASE))
            return Sample("resume", course_id, courses[course_id], t0, call)

        for name in municipalities:
            if not measure(partial(create, name)):
                break
        _report(config, "create", result.samples)
        for round_no in range(1, completions + 1):
            done = len(result.samples)
            for course_id in list(courses):
                if len(open_tasks(course_id)) != 1:
                    continue  # its last step did not arrive in time: leave this course out
                if not measure(partial(resume, course_id)):
                    break
            _report(config, f"resume {round_no}", result.samples[done:])
            if result.note:
                break
        result.breakdown = _breakdown(result.samples)
    finally:
        _stop(runner)
    return result


def _complete(task_id: int, answer: dict[str, Any]) -> tuple[datetime, float]:
    """Complete a task; returns when the (successful) call started and how long it took.

    The task row is written just before the run suspends, so the run may still be Running for a
    moment: the service then refuses (Conflict, nothing changed) and we try again shortly.
    """
    from core.errors import Conflict
    from services import courses

    for _ in range(100):
        t0 = datetime.now(UTC)
        try:
            courses.complete_task(task_id, answer, actor="bench")
            return t0, (datetime.now(UTC) - t0).total_seconds()
        except Conflict:
            time.sleep(0.1)
    raise TimeoutError(f"task {task_id}: its run never became Suspended")


def _report(config: Config, label: str, samples: list[Sample]) -> None:
    values = ", ".join("—" if s.seconds is None else f"{s.seconds:.2f}" for s in samples)
    print(f"[{config.key}] {label}: {values} s", flush=True)


def _breakdown(samples: list[Sample]) -> dict[str, list[float]]:
    """Where the time of a resume went, from the run's Prefect state history.

    the `complete_task` call itself (app DB + resume API), resumed (Scheduled) -> Pending (the runner
    noticed and claimed it), Pending -> Running (process and engine start), Running -> task row
    (the flow body replaying up to the next task).
    """
    from uuid import UUID

    from prefect.client.orchestration import get_client

    parts: dict[str, list[float]] = {name: [] for name in BREAKDOWN}
    with get_client(sync_client=True) as client:
        for sample in samples:
            if sample.kind != "resume" or sample.task_created is None:
                continue
            states = sorted(
                client.read_flow_run_states(UUID(sample.flow_run_id)), key=lambda state: state.timestamp
            )
            after = [s for s in states if s.timestamp >= sample.started]
            resumed = next((s.timestamp for s in after if s.type.value == "SCHEDULED"), None)
            pending = next((s.timestamp for s in after if s.type.value == "PENDING"), None)
            running = next((s.timestamp for s in after if s.type.value == "RUNNING"), None)
            if resumed is None or pending is None or running is None:
                continue
            parts["complete_task call"].append(sample.call_seconds)
            parts["resumed → Pending"].append((pending - resumed).total_seconds())
            parts["Pending → Running"].append((running - pending).total_seconds())
            parts["Running → task row"].append((sample.task_created - running).total_seconds())
    return parts


# --- reporting ------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> str:
    """p50 = median; p95 interpolated between the samples (with few samples, near the slowest)."""
    if not values:
        return "—"
    if len(values) == 1:
        return f"{values[0]:.2f} s"
    cut = statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]
    return f"{cut:.2f} s"


def _table(results: list[Result]) -> tuple[list[str], list[list[str]]]:
    header = ["", *[r.config.title for r in results]]
    rows: list[list[str]] = []
    for kind, label in (("create", "create → first task"), ("resume", "resume → next task")):
        rows.append([f"{label} p50", *[_pct(r.seconds(kind), 0.50) for r in results]])
        rows.append([f"{label} p95", *[_pct(r.seconds(kind), 0.95) for r in results]])
        rows.append(
            [
                f"{label} samples (missing)",
                *[f"{len(r.seconds(kind))} ({r.missing(kind)})" for r in results],
            ]
        )
    parts = sorted({part for r in results for part in r.breakdown})
    for part in BREAKDOWN:
        if part in parts:
            rows.append(
                [
                    f"resume: {part} p50",
                    *[
                        f"{statistics.median(v):.2f} s" if (v := r.breakdown.get(part)) else "—"
                        for r in results
                    ],
                ]
            )
    return header, rows


def _markdown(header: list[str], rows: list[list[str]], meta: list[str], notes: list[str]) -> str:
    lines = ["# Resume latency: stock `serve` vs the warm runner", "", *meta, ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    if notes:
        lines += ["", *notes]
    lines += [
        "",
        "Measured by `bench/resume_latency.py`: wall clock from the `courses.start_course` / "
        "`courses.complete_task` call to the `created_at` of the course's next HumanTask row. "
        "Breakdown rows come from the flow run's Prefect state history (median).",
        "",
        "Slow outliers of the warm runner (~2 s extra) are the resume call itself: when it lands while "
        "another write is in progress (most likely the previous course's run finishing its suspend), "
        "the Prefect server on SQLite "
        'answers "database is locked" and the client retries after a back-off (see the server log). '
        "The stock runners are too slow for two runs to overlap like that in this benchmark.",
        "",
    ]
    return "\n".join(lines)


def _print_table(header: list[str], rows: list[list[str]]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        for row in [header, *rows]:
            print(" | ".join(row))
        return
    table = Table(title="Resume latency (p50 / p95)")
    for name in header:
        table.add_column(name)
    for row in rows:
        table.add_row(*row)
    Console().print(table)


# --- main -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--courses", type=int, default=5)
    parser.add_argument("--completions", type=int, default=2, help="task completions per course")
    parser.add_argument("--pause", type=float, default=1.0, help="random pause (0..s) between actions")
    parser.add_argument(
        "--configs",
        default="ours,stock-poll1,stock",
        help=f"comma-separated, run in order: {', '.join(CONFIGS)}",
    )
    parser.add_argument("--max-minutes", type=float, default=8.0, help="hard time budget for the whole run")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (logs, databases)")
    args = parser.parse_args(argv)
    configs = [CONFIGS[key] for key in args.configs.split(",")]
    if args.courses * len(configs) > len(MUNICIPALITIES):
        parser.error(f"at most {len(MUNICIPALITIES) // len(configs)} courses per configuration")

    def on_sigterm(_signum: int, _frame: object) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, on_sigterm)
    started = time.monotonic()
    deadline = started + args.max_minutes * 60
    tmp = Path(tempfile.mkdtemp(prefix="forloeb-bench-"))
    results: list[Result] = []
    load_before = os.getloadavg()
    try:
        with prefect_server(tmp) as env:
            # This process is the consultant: point it at the temp server and app DB before importing.
            for name in ("PREFECT_HOME", "PREFECT_API_URL", "FORLOEB_DATA_DIR", "FORLOEB_DATABASE_URL"):
                os.environ[name] = env[name]
            os.environ["FORLOEB_PREFECT_UI_URL"] = env["FORLOEB_PREFECT_UI_URL"]
            os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
            sys.path.insert(0, str(ROOT))
            from models import schema
            from services import municipalities

            schema.create_tables()
            municipalities.seed_municipalities(ROOT / "data" / "kommuner.csv")
            for number, config in enumerate(configs):
                if time.monotonic() + 30 + PER_ACTION > deadline:
                    print(f"[{config.key}] skipped: time budget", flush=True)
                    continue
                names = MUNICIPALITIES[number * args.courses : (number + 1) * args.courses]
                try:
                    results.append(
                        run_config(config, env, tmp, names, args.completions, args.pause, deadline)
                    )
                except (RuntimeError, TimeoutError) as exc:
                    print(f"[{config.key}] failed: {exc}", flush=True)
    except KeyboardInterrupt:
        print("Interrupted: stopping the processes this benchmark started", flush=True)
    finally:
        _stop_all()
        if args.keep_tmp:
            print(f"Kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if not results:
        return 1
    header, rows = _table(results)
    _print_table(header, rows)
    meta = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'}: "
        f"{os.cpu_count()} cores, load average {load_before[0]:.1f} at start and {os.getloadavg()[0]:.1f} "
        f"at the end (other work shares the machine), Python "
        f"{platform.python_version()}, Prefect server on SQLite.",
        f"{args.courses} courses per configuration, {args.completions} completions per course, "
        f"one action in flight at a time, random 0-{args.pause} s pause between actions; "
        f"total {time.monotonic() - started:.0f} s.",
    ]
    notes = [f"- {r.config.title}: {r.note}" for r in results if r.note]
    RESULTS.write_text(_markdown(header, rows, meta, notes), encoding="utf-8")
    print(f"Wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
