"""What the process benchmarks share: real Prefect servers, runners and dashboards as subprocesses,
throw-away databases (SQLite files or PostgreSQL databases), an SMTP sink, and the app side.

Used by `bench/resume_latency.py`, `bench/burst.py` and `bench/fault_drill.py`. Every process started
here is in its own process group and is stopped by `stop_all()` (the scripts call it on exit and on
Ctrl-C); `kill()` SIGKILLs a group, as the fault drill does on purpose.
"""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PG_ADMIN = "postgres@127.0.0.1:5432"
"""PostgreSQL for the benchmarks: trust auth, user postgres (throw-away databases are made here)."""

# --- processes ------------------------------------------------------------------------------

_started: list[subprocess.Popen[bytes]] = []


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """Start a process in its own process group, output appended to `log`."""
    with log.open("ab") as handle:
        process = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True
        )
    _started.append(process)
    return process


def stop(process: subprocess.Popen[bytes], grace: float = 20.0) -> None:
    """SIGTERM the process group we started (the runner and its flow-run children), then SIGKILL."""
    if process.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
    kill(process)


def kill(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL the whole process group at once: no handler runs, nothing is cleaned up."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    if process in _started:
        _started.remove(process)


def stop_all() -> None:
    for process in reversed(list(_started)):
        stop(process, grace=10)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], bool], timeout: float, what: str, step: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(step)
    raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f} s")


def healthy(url: str) -> bool:
    import httpx

    try:
        return httpx.get(url + "/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


def log_has(log: Path, marker: str) -> bool:
    try:
        return marker in log.read_text(errors="replace")
    except FileNotFoundError:
        return False


def cpu_seconds(pgid: int | None = None, comm: str | None = None) -> float:
    """CPU seconds (user + system) used so far by the processes in process group `pgid`, or by
    every process whose command name is `comm` (e.g. "postgres": all of the server's backends)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        if (pgid is not None and int(fields[2]) == pgid) or (comm is not None and name == comm):
            total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"{one:.1f} (5 min {five:.1f})"


def per_database(script: Path, argv: list[str], dbs: list[str]) -> list[dict[str, Any]]:
    """Run `script` once per database in a fresh process (`--db X --json-out FILE` added; Prefect
    reads its settings, such as the API URL, once per process); their JSON results, in order."""
    import json
    import shutil
    import tempfile

    results: list[dict[str, Any]] = []
    out = Path(tempfile.mkdtemp(prefix="forloeb-bench-out-"))
    try:
        for db in dbs:
            print(f"[{db}] load average {load()}", flush=True)
            target = out / f"{db}.json"
            command = [sys.executable, str(script.resolve()), *argv, "--db", db, "--json-out", str(target)]
            code = subprocess.call(command, cwd=ROOT)
            if code != 0 or not target.exists():
                print(f"[{db}] stopped (exit {code})", flush=True)
                continue
            results.append(json.loads(target.read_text(encoding="utf-8")))
    except KeyboardInterrupt:
        print("Interrupted", flush=True)
    finally:
        shutil.rmtree(out, ignore_errors=True)
    return results


# --- databases ------------------------------------------------------------------------------


@dataclass
class Databases:
    """The Prefect server's and the app's databases for one run: SQLite files in `tmp`, or two
    fresh PostgreSQL databases (dropped by `drop()`)."""

    kind: str  # "sqlite" or "postgresql"
    tmp: Path
    names: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.kind == "postgresql":
            tag = uuid.uuid4().hex[:8]
            self.names = [f"forloeb_bench_{tag}_prefect", f"forloeb_bench_{tag}_app"]
            with self._admin() as connection:
                for name in self.names:
                    connection.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(f"postgresql://{PG_ADMIN}/postgres", autocommit=True)

    @property
    def prefect_url(self) -> str | None:
        """PREFECT_API_DATABASE_CONNECTION_URL, or None for the server's SQLite in PREFECT_HOME."""
        return f"postgresql+asyncpg://{PG_ADMIN}/{self.names[0]}" if self.kind == "postgresql" else None

    @property
    def app_url(self) -> str:
        if self.kind == "postgresql":
            return f"postgresql+psycopg://{PG_ADMIN}/{self.names[1]}"
        return f"sqlite:///{self.tmp / 'app.db'}"

    def drop(self) -> None:
        if not self.names:
            return
        with suppress(Exception), self._admin() as connection:
            for name in self.names:
                connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')  # type: ignore[arg-type]
        self.names = []


# --- the Prefect server ---------------------------------------------------------------------


class PrefectServer:
    """A real `prefect server start` on a fixed free port; can be killed and started again."""

    def __init__(self, tmp: Path, databases: Databases | None = None) -> None:
        self.tmp = tmp
        self.databases = databases or Databases("sqlite", tmp)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        from core.prefect_env import SERVER_TUNING

        self.env = {
            **SERVER_TUNING,  # the same Prefect server settings as `make run` (an explicit one wins)
            **os.environ,
            "PREFECT_HOME": str(tmp / "prefect"),
            "PREFECT_API_URL": f"http://127.0.0.1:{self.port}/api",
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_SERVER_UI_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            "FORLOEB_PREFECT_UI_URL": f"http://127.0.0.1:{self.port}",
            "FORLOEB_DATA_DIR": str(tmp / "data"),
            "FORLOEB_DATABASE_URL": self.databases.app_url,
        }
        for name in (
            "PREFECT_RUNNER_POLL_FREQUENCY",
            "FORLOEB_RUNNER_POLL_SECONDS",
            "PREFECT_API_DATABASE_CONNECTION_URL",
            "FORLOEB_POSTGRES_URL",
        ):
            self.env.pop(name, None)
        if self.databases.prefect_url:
            self.env["PREFECT_API_DATABASE_CONNECTION_URL"] = self.databases.prefect_url

    @property
    def api_url(self) -> str:
        return self.env["PREFECT_API_URL"]

    def start(self, timeout: float = 180) -> float:
        """Start the server and wait until it answers; returns the seconds it took."""
        started = time.monotonic()
        prefect = str(Path(sys.executable).with_name("prefect"))
        args = [prefect, "server", "start", "--host", "127.0.0.1", "--port", str(self.port)]
        self.process = server = spawn(args, self.env, self.tmp / "server.log")
        wait_for(lambda: healthy(self.api_url) or server.poll() is not None, timeout, "the Prefect server")
        if server.poll() is not None:
            raise RuntimeError(f"Prefect server exited; see {self.tmp / 'server.log'}")
        return time.monotonic() - started

    def kill(self) -> None:
        if self.process is not None:
            kill(self.process)
            self.process = None

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)
            self.process = None


@contextmanager
def prefect_server(tmp: Path, databases: Databases | None = None) -> Iterator[dict[str, str]]:
    """A Prefect server for the duration of the block; yields the environment pointing at it."""
    server = PrefectServer(tmp, databases)
    took = server.start()
    db = server.databases.kind
    print(f"Prefect server ({db}) up on port {server.port} after {took:.1f} s", flush=True)
    try:
        yield server.env
    finally:
        server.stop()


def use_env(env: dict[str, str]) -> None:
    """This process is the consultant: point it at the benchmark's server and app DB (before the
    first Prefect import)."""
    for name in ("PREFECT_HOME", "PREFECT_API_URL", "FORLOEB_DATA_DIR", "FORLOEB_DATABASE_URL"):
        os.environ[name] = env[name]
    os.environ["FORLOEB_PREFECT_UI_URL"] = env["FORLOEB_PREFECT_UI_URL"]
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    from core.settings import get_settings

    get_settings.cache_clear()


def prepare_app_db(extra_municipalities: int = 0) -> None:
    """Schema at head and the 98 municipalities; `extra_municipalities` made-up ones on top
    ("Benchkommune N", codes from 9001), for benchmarks with more courses than municipalities."""
    from models import schema
    from services import municipalities

    schema.upgrade_to_head()
    municipalities.seed_municipalities(ROOT / "data" / "kommuner.csv")
    if extra_municipalities:
        from core.db import session_scope
        from models.tables import Municipality

        with session_scope() as session:
            for number in range(1, extra_municipalities + 1):
                if session.get(Municipality, 9000 + number) is None:
                    session.add(
                        Municipality(code=9000 + number, name=f"Benchkommune {number}", region="Bench")
                    )


# --- runners and dashboards -----------------------------------------------------------------


class Service:
    """A runner (ours or stock `serve`) or a dashboard as a subprocess that can be killed and
    started again the way an operator would (same command, same environment)."""

    def __init__(
        self,
        name: str,
        args: list[str],
        env: dict[str, str],
        log: Path,
        ready: Callable[[Service], bool],
    ) -> None:
        self.name, self.args, self.env, self.log, self._ready = name, args, env, log, ready
        self.process: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    def start(self, timeout: float = 180) -> float:
        started = time.monotonic()
        self._log_offset = self.log.stat().st_size if self.log.exists() else 0
        self.process = process = spawn(self.args, self.env, self.log)
        wait_for(lambda: self._ready(self) or process.poll() is not None, timeout, self.name)
        if process.poll() is not None:
            raise RuntimeError(f"{self.name} exited; see {self.log}")
        return time.monotonic() - started

    def log_since_start(self) -> str:
        try:
            with self.log.open("rb") as handle:
                handle.seek(self._log_offset)
                return handle.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def kill(self) -> None:
        if self.process is not None:
            kill(self.process)
            self.process = None

    def stop(self, grace: float = 20.0) -> None:
        if self.process is not None:
            stop(self.process, grace)
            self.process = None


def runner(
    env: dict[str, str], log: Path, module: str = "deployments.runner", extra: dict[str, str] | None = None
) -> Service:
    marker = "being served" if module == "deployments.serve" else "Runner ready"
    return Service(
        module,
        [sys.executable, "-m", module],
        {**env, **(extra or {})},
        log,
        lambda s: marker in s.log_since_start(),
    )


def dashboard(env: dict[str, str], log: Path, port: int) -> Service:
    url = f"http://127.0.0.1:{port}"

    def ready(_service: Service) -> bool:
        import httpx

        try:
            return httpx.get(url + "/login", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    args = [sys.executable, "-m", "uvicorn", "dashboard.app:app", "--host", "127.0.0.1", "--port", str(port)]
    return Service("dashboard", args, {**env, "FORLOEB_DASHBOARD_PORT": str(port)}, log, ready)


# --- the app side (in this process) ---------------------------------------------------------


def new_tasks(course_ids: list[int], after_ids: set[int]) -> dict[int, tuple[int, datetime]]:
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


def all_task_ids() -> set[int]:
    from sqlmodel import select

    from core.db import session_scope
    from models.tables import HumanTask

    with session_scope() as session:
        return {task_id for task_id in session.exec(select(HumanTask.id)) if task_id is not None}


def open_task(course_id: int) -> Any | None:
    """The course's one open task (None when it has none or several)."""
    from services import read_model

    rows, _total = read_model.task_inbox(course_id=course_id, limit=None)
    return rows[0].task if len(rows) == 1 else None


def complete(task_id: int, answer: dict[str, Any], tries: int = 100) -> tuple[datetime, float]:
    """Complete a task; returns when the (successful) call started and how long it took.

    The task row is written just before the run suspends, so the run may still be Running for a
    moment: the service then refuses (Conflict, nothing changed) and we try again shortly.
    """
    from sqlalchemy.exc import OperationalError

    from core.errors import AlreadyCompleted, Conflict, OrchestratorUnavailable
    from services import courses

    for _ in range(tries):
        t0 = datetime.now(UTC)
        try:
            courses.complete_task(task_id, answer, actor="bench")
            return t0, (datetime.now(UTC) - t0).total_seconds()
        except AlreadyCompleted:
            raise
        except Conflict:
            time.sleep(0.1)
        except OrchestratorUnavailable:  # the server did not answer in time: nothing was stored
            print(f"task {task_id}: Prefect did not answer; trying again", flush=True)
            time.sleep(0.5)
        except OperationalError as exc:  # SQLite app database locked too long (README): nothing stored
            print(f"task {task_id}: {str(exc).splitlines()[0]}; trying again", flush=True)
            time.sleep(0.5)
    raise TimeoutError(f"task {task_id}: its run never became Suspended")


BREAKDOWN = ("complete_task call", "resumed → Pending", "Pending → Running", "Running → task row")


def breakdown(samples: list[Any]) -> dict[str, list[float]]:
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


def pct(values: list[float], q: float) -> float | None:
    """p50 = median; p95 interpolated between the samples (with few samples, near the slowest)."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def fmt_s(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def markdown_table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        for row in [header, *rows]:
            print(" | ".join(row))
        return
    table = Table(title=title)
    for name in header:
        table.add_column(name)
    for row in rows:
        table.add_row(*row)
    Console(width=200).print(table)


# --- mail -----------------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    recipients: list[str]
    subject: str
    text: str


class SmtpSink:
    """A real aiosmtpd SMTP server in this process that keeps every message it accepts."""

    def __init__(self) -> None:
        self.port = free_port()
        self.received: list[ReceivedMail] = []
        self._controller: Any = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        from email import message_from_bytes, policy

        message = message_from_bytes(envelope.original_content, policy=policy.default)
        body = message.get_body(preferencelist=("plain", "html"))
        text = body.get_content() if body is not None else ""  # type: ignore[attr-defined]
        self.received.append(ReceivedMail(list(envelope.rcpt_tos), str(message["Subject"]), text))
        return "250 OK"

    @property
    def url(self) -> str:
        return f"mailto://127.0.0.1:{self.port}?from=forloeb@localhost"

    def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None
