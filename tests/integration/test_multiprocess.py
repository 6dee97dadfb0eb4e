"""The production shape of docs/DEPLOYMENT.md, started locally from the unit files in deploy/.

The systemd units (deploy/systemd/*.service) and their EnvironmentFile (deploy/forloeb.env.example)
are read the way systemd reads them (Environment=, EnvironmentFile=, ExecStartPre=, ExecStart=,
%i, ${VAR}); only the install paths (/opt/forloeb, /var/lib/forloeb, /srv/forloeb,
/etc/forloeb/forloeb.env) and the addresses, ports, database names, mail server and runner timings
are replaced by local ones. The result: the Prefect server on PostgreSQL, two runners and two
dashboards, the app database on PostgreSQL, each a process of its own.

Then, through the dashboards' JSON API (HTTP Basic), alternating between them:
- three courses are driven; the two runners share the work (each executes some runs), no run is
  executed twice (one Running state per execution), no task, stage or audit event is made twice;
- a runner is killed (SIGKILL) in the middle of a run: the run is held inside `apply_answer`
  (the test holds a lock on the contact table, so inserting the agreement's contact person
  waits) and the runner executing it, found by its heartbeat row, is killed. The other runner
  finds the run orphaned and takes it over by itself; the answer is applied exactly once (one
  contact, one "new task" mail) and the course goes on;
- both dashboards serve the same overview, and a login on one is valid on the other (the shared
  FORLOEB_SECRET_KEY).
"""

from __future__ import annotations

import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url

from core.settings import Settings
from models.examples import sample_answer
from tests.support.mail import SmtpServer, free_port

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SERVER = os.environ.get("FORLOEB_TEST_POSTGRES") or "postgresql://postgres@127.0.0.1:5432"
USER, PASSWORD = "drift", "korrekt-hest-batteri-stald"
ANSWERS_FROM = date(2026, 3, 2)
CONTACT = "faglig.leder@kommune.example"  # the agreement's contact person in the sample answer

pytestmark = pytest.mark.timeout(300)


# --- reading the unit files as systemd does -----------------------------------------------------


@dataclass
class Unit:
    name: str
    type: str
    environment: dict[str, str]
    exec_start_pre: list[list[str]]
    exec_start: list[list[str]]
    """One command, or (Type=oneshot) several run one after the other."""
    working_directory: Path
    raw: dict[str, list[str]] = field(default_factory=dict)


def read_env_file(text_: str) -> dict[str, str]:
    """An EnvironmentFile: KEY=VALUE lines, # and ; comments, optional quotes."""
    env: dict[str, str] = {}
    for line in text_.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        key, sep, value = line.partition("=")
        assert sep, f"not KEY=VALUE: {line!r}"
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        env[key.strip()] = value
    return env


def _expand(word: str, env: dict[str, str]) -> str:
    """systemd's ${VAR} in a command line (unset: empty)."""
    return re.sub(r"\$\{(\w+)\}", lambda m: env.get(m.group(1), ""), word)


def _command(value: str, env: dict[str, str]) -> list[str]:
    value = value.lstrip("-@:+!")  # systemd's prefixes (ignore failure, argv0, privileges)
    return [_expand(word, env) for word in shlex.split(value)]


def read_unit(path: Path, instance: str, local: Callable[[str], str], base_env: dict[str, str]) -> Unit:
    """The [Service] section of a unit, for one instance (%i), with the install paths made local."""
    text_ = local(path.read_text(encoding="utf-8")).replace("%i", instance)
    text_ = re.sub(r"\\\n\s*", " ", text_)  # continuation lines
    section, raw = "", {}
    for line in text_.splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line
            continue
        if section == "[Service]":
            key, _, value = line.partition("=")
            raw.setdefault(key.strip(), []).append(value.strip())
    env = dict(base_env)
    for assignment in raw.get("Environment", []):
        for item in shlex.split(assignment):
            key, _, value = item.partition("=")
            env[key] = value
    for name in raw.get("EnvironmentFile", []):  # these override Environment= (systemd.exec(5))
        optional, file = name.startswith("-"), Path(name.lstrip("-"))
        if file.exists() or not optional:
            env.update(read_env_file(file.read_text(encoding="utf-8")))
    kind = raw.get("Type", ["simple"])[-1]
    assert kind == "oneshot" or len(raw["ExecStart"]) == 1, path
    return Unit(
        name=path.name.replace("@.", f"@{instance}."),
        type=kind,
        environment=env,
        exec_start_pre=[_command(value, env) for value in raw.get("ExecStartPre", [])],
        exec_start=[_command(value, env) for value in raw["ExecStart"]],
        working_directory=Path(raw["WorkingDirectory"][0]),
        raw=raw,
    )


# --- the running shape -----------------------------------------------------------------------


@dataclass
class Shape:
    tmp: Path
    api: str
    dashboards: list[str]
    app_url: str
    smtp: SmtpServer
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def log(self, name: str) -> str:
        return (self.tmp / "logs" / f"{name}.log").read_text(errors="replace")

    def start(self, unit: Unit) -> subprocess.Popen[bytes] | None:
        """As `systemctl start`: ExecStartPre= in order, then ExecStart= (a oneshot's all in order,
        to the end; a simple service's one command, left running)."""
        (self.tmp / "logs").mkdir(exist_ok=True)
        with (self.tmp / "logs" / f"{unit.name}.log").open("ab") as log:
            steps = unit.exec_start_pre + (unit.exec_start if unit.type == "oneshot" else [])
            for command in steps:
                done = subprocess.run(
                    command, cwd=unit.working_directory, env=unit.environment, stdout=log, stderr=log
                )
                assert done.returncode == 0, f"{unit.name}: {command} failed:\n{self.log(unit.name)}"
            if unit.type == "oneshot":
                return None
            [command] = unit.exec_start
            process = subprocess.Popen(
                command,
                cwd=unit.working_directory,
                env=unit.environment,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.processes[unit.name] = process
        return process

    def stop_all(self) -> None:
        """As `systemctl stop`: SIGTERM, then SIGKILL after the unit's timeout (shortened here)."""
        for name, process in reversed(list(self.processes.items())):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    print(f"{name} did not stop within 30 s: killed")
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)  # what is left of it
            process.wait()


def wait_until(what: str, check: Callable[[], Any], timeout: float, every: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
        except (httpx.HTTPError, OSError):
            result = None
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out after {timeout:.0f} s waiting for {what}"
        time.sleep(every)


@pytest.fixture
def admin_engine() -> Iterator[Engine]:
    url = make_url(SERVER).set(drivername="postgresql+psycopg", database="postgres")
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception:
        pytest.skip(f"no PostgreSQL server at {SERVER}")
    yield engine
    engine.dispose()


@pytest.fixture
def shape(tmp_path: Path, admin_engine: Engine, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shape]:
    """prefect-server.service, forloeb-runner@1/@2, forloeb-dashboard@P1/@P2, started from deploy/."""
    prefix = f"forloeb_mp{uuid.uuid4().hex[:8]}"
    prefect_port, dash_ports = free_port(), [free_port(), free_port()]
    smtp = SmtpServer(free_port())
    smtp.start()
    bindir = Path(sys.executable).parent

    def local(text_: str) -> str:
        for installed, here in (
            ("/opt/forloeb/.venv/bin/", f"{bindir}/"),
            ("/opt/forloeb", str(ROOT)),
            ("/var/lib/forloeb", str(tmp_path / "var")),
            ("/srv/forloeb", str(tmp_path / "srv")),
            ("/etc/forloeb/forloeb.env", str(tmp_path / "forloeb.env")),
        ):
            text_ = text_.replace(installed, here)
        return text_

    example = (DEPLOY / "forloeb.env.example").read_text(encoding="utf-8")
    local_values = {
        "FORLOEB_POSTGRES_URL": SERVER,
        "FORLOEB_POSTGRES_APP_DATABASE": f"{prefix}_app",
        "FORLOEB_POSTGRES_PREFECT_DATABASE": f"{prefix}_prefect",
        "PREFECT_SERVER_API_HOST": "127.0.0.1",
        "PREFECT_SERVER_API_PORT": str(prefect_port),
        "PREFECT_API_URL": f"http://127.0.0.1:{prefect_port}/api",
        "FORLOEB_PREFECT_UI_URL": f"http://127.0.0.1:{prefect_port}",
        "PREFECT_UI_API_URL": f"http://127.0.0.1:{prefect_port}/api",
        "FORLOEB_SECRET_KEY": secrets.token_urlsafe(48),
        "FORLOEB_PUBLIC_URL": f"http://127.0.0.1:{dash_ports[0]}",
        "FORLOEB_COOKIE_SECURE": "0",  # plain http here, no proxy
        "FORLOEB_SMTP_URL": f"mailto://127.0.0.1:{smtp.port}?from=forloeb@localhost",
        # One run at a time per runner, so that both runners must take part.
        "FORLOEB_RUNNER_MAX_WORKERS": "1",
        "FORLOEB_RUNNER_SHUTDOWN_GRACE_SECONDS": "5",
        # Short heartbeats: a killed runner counts as gone after 5 s instead of 45 (5 beats, as
        # 45 s is 4.5 of the default 10 s: a busy machine may delay one beat, hardly five).
        "FORLOEB_RUNNER_HEARTBEAT_SECONDS": "1",
        "FORLOEB_RUNNER_REPAIR_SECONDS": "1",
        "FORLOEB_RUNNER_ALIVE_SECONDS": "5",
        "FORLOEB_RUN_STATE_GRACE_SECONDS": "3",
    }
    documented = read_env_file(example)
    assert set(local_values) <= set(documented), set(local_values) - set(documented)
    lines = [
        f"{line.partition('=')[0]}={local_values[line.partition('=')[0]]}"
        if line.partition("=")[0] in local_values
        else line
        for line in local(example).splitlines()
    ]
    (tmp_path / "forloeb.env").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "home").mkdir()
    base_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "LANG": "C.UTF-8",
    }
    units = DEPLOY / "systemd"
    setup = read_unit(units / "forloeb-setup.service", "", local, base_env)
    server = read_unit(units / "prefect-server.service", "", local, base_env)
    runners = [read_unit(units / "forloeb-runner@.service", str(n), local, base_env) for n in (1, 2)]
    dashboards = [
        read_unit(units / "forloeb-dashboard@.service", str(p), local, base_env) for p in dash_ports
    ]

    app_url = Settings(
        postgres_url=SERVER, postgres_app_database=f"{prefix}_app", database_url=None
    ).resolved_database_url
    running = Shape(
        tmp=tmp_path,
        api=f"http://127.0.0.1:{prefect_port}/api",
        dashboards=[f"http://127.0.0.1:{p}" for p in dash_ports],
        app_url=app_url,
        smtp=smtp,
    )
    # The test reads and writes the same app database (a login for the API, the checks).
    monkeypatch.setenv("FORLOEB_DATABASE_URL", app_url)
    monkeypatch.setenv("FORLOEB_RUNNER_ALIVE_SECONDS", local_values["FORLOEB_RUNNER_ALIVE_SECONDS"])
    from core.settings import get_settings

    get_settings.cache_clear()
    try:
        started = time.monotonic()
        running.start(setup)  # what the runners and dashboards require: databases, schema, municipalities
        running.start(server)
        wait_until(
            "the Prefect server", lambda: httpx.get(f"{running.api}/health", timeout=2).is_success, 120
        )
        for unit in [*runners, *dashboards]:
            running.start(unit)
        for url in running.dashboards:
            wait_until(
                f"dashboard {url}", lambda url=url: httpx.get(f"{url}/login", timeout=2).is_success, 60
            )
        wait_until("two live runners", lambda: len(live_runners(running)) == 2, 90)
        print(f"shape up in {time.monotonic() - started:.1f} s")
        yield running
    finally:
        running.stop_all()
        smtp.stop()
        from core import db

        db.get_engine().dispose()
        get_settings.cache_clear()
        with admin_engine.connect() as connection:
            for suffix in ("app", "prefect"):
                connection.execute(text(f'DROP DATABASE IF EXISTS "{prefix}_{suffix}" WITH (FORCE)'))


def live_runners(shape: Shape) -> list[dict[str, Any]]:
    """The runners whose heartbeat is fresh (services.recovery's own view, with the shape's timings)."""
    from services.recovery import live_runners as live

    return [{"id": r.id, "pid": r.pid, "running": r.running} for r in live()]


# --- driving courses through the dashboards' API ---------------------------------------------------


class Api:
    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.clients = [
            httpx.Client(base_url=url, auth=(USER, PASSWORD), timeout=60) for url in shape.dashboards
        ]
        self.turn = 0

    def next(self) -> httpx.Client:
        """The dashboards in turn, as a round-robin proxy would send requests."""
        self.turn += 1
        return self.clients[self.turn % len(self.clients)]

    def start(self, municipality: str) -> dict[str, Any]:
        response = self.next().post(
            "/api/courses",
            json={
                "municipality": municipality,
                "programme": "minoritetsetniske",
                "consultant": "Konsulent K",
                "start_date": ANSWERS_FROM.isoformat(),
            },
        )
        assert response.status_code == 201, response.text
        course: dict[str, Any] = response.json()["course"]
        return course

    def waiting_on(self, course: dict[str, Any], key: str, timeout: float = 45) -> dict[str, Any]:
        """The course's open task `key`, once the course's run is suspended waiting on it (an answer
        given before would be kept and acted on too; waiting makes the test's steps deterministic)."""

        def find() -> dict[str, Any] | None:
            items = self.next().get("/api/tasks", params={"course_id": course["id"]}).json()["items"]
            task = next((t for t in items if t["key"] == key and t["status"] == "open"), None)
            run = httpx.get(f"{self.shape.api}/flow_runs/{course['flow_run_id']}", timeout=10).json()
            suspended = run["state"]["type"] == "PAUSED"
            return task if suspended else None

        found: dict[str, Any] = wait_until(f"course {course['id']} waiting on {key}", find, timeout)
        return found

    def complete(self, task: dict[str, Any]) -> None:
        response = self.next().post(
            f"/api/tasks/{task['id']}/complete",
            json={"form": task["kind"], "answer": sample_answer(task["kind"], ANSWERS_FROM)},
        )
        assert response.status_code == 200, response.text


def run_state(shape: Shape, flow_run_id: str) -> str:
    state: str = httpx.get(f"{shape.api}/flow_runs/{flow_run_id}", timeout=10).json()["state"]["type"]
    return state


def running_states(shape: Shape, flow_run_id: str) -> int:
    states = httpx.get(
        f"{shape.api}/flow_run_states/", params={"flow_run_id": flow_run_id}, timeout=10
    ).json()
    return sum(1 for state in states if state["type"] == "RUNNING")


def test_two_runners_two_dashboards_share_the_work_and_a_killed_runner_is_taken_over(shape: Shape) -> None:
    from models.tables import UserRole
    from services.accounts import create_user

    create_user(USER, "Drift", UserRole.ADMIN, PASSWORD, actor="test")
    api = Api(shape)

    # Three courses at once, through both dashboards; the first two tasks of each.
    courses = {name: api.start(name) for name in ("Aarhus", "Odense", "Aalborg")}
    ids = {name: course["id"] for name, course in courses.items()}
    runs = {name: course["flow_run_id"] for name, course in courses.items()}
    for name in courses:
        api.complete(api.waiting_on(courses[name], "behovsafklaring"))
    agreements = {name: api.waiting_on(courses[name], "samarbejdsaftale") for name in courses}
    for name in ("Odense", "Aalborg"):
        api.complete(agreements[name])
    for name in ("Odense", "Aalborg"):
        api.waiting_on(courses[name], "arbejdsgruppe")

    # Both runners took part (each runner logs the runs it executed).
    runner_logs = {n: shape.log(f"forloeb-runner@{n}.service") for n in (1, 2)}
    for n, log in runner_logs.items():
        assert any(run in log for run in runs.values()), f"runner {n} executed no run:\n{log[-2000:]}"

    # Kill the runner that is executing Aarhus's run, in the middle of applying the agreement.
    from core import db

    lock = db.get_engine().connect()
    try:
        lock.execute(text("LOCK TABLE contact IN EXCLUSIVE MODE"))  # held until the rollback below
        api.complete(agreements["Aarhus"])
        wait_until("Aarhus's run Running", lambda: run_state(shape, runs["Aarhus"]) == "RUNNING", 30)
        holder = wait_until(
            "the runner holding Aarhus's run",
            lambda: next((r for r in live_runners(shape) if runs["Aarhus"] in (r["running"] or [])), None),
            15,
        )
        wait_until("apply_answer waiting on the contact table", lambda: lock_waiters(shape) > 0, 15)
        victim = next(name for name, p in shape.processes.items() if p.pid == holder["pid"])
        assert victim.startswith("forloeb-runner@")
        killed_at = time.monotonic()
        os.kill(holder["pid"], signal.SIGKILL)
        shape.processes[victim].wait(timeout=10)
    finally:
        lock.rollback()
        lock.close()
    assert run_state(shape, runs["Aarhus"]) == "RUNNING"  # orphaned: nobody runs it now

    # The other runner takes it over by itself and the course goes on.
    working_group = api.waiting_on(courses["Aarhus"], "arbejdsgruppe", timeout=60)
    took_over = time.monotonic() - killed_at
    print(f"taken over {took_over:.1f} s after the kill")
    survivor = next(n for n in shape.processes if n.startswith("forloeb-runner@") and n != victim)
    assert shape.processes[survivor].poll() is None
    api.complete(working_group)
    api.waiting_on(courses["Aarhus"], "dataindsamling")

    with db.get_engine().connect() as connection:
        # The agreement applied exactly once: one contact person.
        contacts = connection.execute(
            text("SELECT email FROM contact WHERE course_id = :c"), {"c": ids["Aarhus"]}
        ).scalars()
        assert list(contacts) == [CONTACT]
        # No task, stage or audit event twice.
        tasks = connection.execute(text("SELECT course_id, key FROM humantask")).all()
        assert len(tasks) == len(set(tasks))
        events = connection.execute(
            text(
                "SELECT course_id, action, detail FROM auditevent WHERE action IN "
                "('forløb oprettet', 'forløb startet', 'fase startet', 'fase afsluttet', "
                "'opgave oprettet', 'opgave udført')"
            )
        ).all()
        twice = [event for event, count in Counter(events).items() if count > 1]
        assert not twice, twice
        repairs = connection.execute(
            text("SELECT course_id, actor, detail FROM auditevent WHERE action = 'reparation'")
        ).all()
    found = [(c, detail.split(":")[0]) for c, _, detail in repairs]
    assert [r for r in found if r[1] == "orphaned_run"] == [(ids["Aarhus"], "orphaned_run")]
    # Besides the take-over, only answers stored while the busy server refused the wake (the wake is
    # best effort, see services.prefect_gateway) may have been delivered by the repair loop.
    assert {kind for _, kind in found} <= {"orphaned_run", "answer_not_delivered"}, found
    assert all(actor.startswith("runner ") for _, actor, _ in repairs)

    # One execution per start and per answer; Aarhus once more, the takeover. Never twice at once.
    completions = {"Aarhus": 3, "Odense": 2, "Aalborg": 2}
    for name, run in runs.items():
        assert running_states(shape, run) == 1 + completions[name] + (name == "Aarhus"), name

    # Every mail once: the municipality's "new task" mail for stage 3 (all three courses) and
    # stage 4 (Aarhus), nothing else twice.
    def course_of(mail: Any) -> str:
        body = " ".join(mail.parts("text/plain"))
        [name] = [name for name in courses if f"for {name}" in body]
        return name

    received = shape.smtp.mailbox.received
    sent = Counter((tuple(m.envelope_to), m.subject, course_of(m)) for m in received)
    assert all(count == 1 for count in sent.values()), sent
    new_task = sorted(
        (course_of(m), m.subject.split('"')[1])
        for m in received
        if m.subject.startswith("Ny opgave til jer") and CONTACT in m.envelope_to
    )
    assert new_task == sorted(
        [(name, "Registrér arbejdsgruppens medlemmer") for name in courses]
        + [("Aarhus", "Afslut dataindsamlingen (tjekliste)")]
    ), new_task

    # Both dashboards serve the same data, and a login on one is valid on the other.
    overviews = [client.get("/api/courses").json() for client in api.clients]
    assert overviews[0] == overviews[1] and overviews[0]["total"] == 3
    first, second = (httpx.Client(base_url=url, timeout=30) for url in shape.dashboards)
    token = re.search(r'name="csrf_token" value="([^"]+)"', first.get("/login").text)
    assert token is not None
    login = first.post("/login", data={"username": USER, "password": PASSWORD, "csrf_token": token.group(1)})
    assert login.status_code == 303, login.text
    second.cookies = first.cookies
    page = second.get("/oversigt")
    assert page.status_code == 200 and all(name in page.text for name in courses)


def lock_waiters(shape: Shape) -> int:
    """Backends of the app database waiting for a lock (apply_answer, on the test's lock)."""
    from core import db

    name = make_url(shape.app_url).database
    with db.get_engine().connect() as connection:
        count: int = connection.execute(
            text("SELECT count(*) FROM pg_stat_activity WHERE datname = :d AND wait_event_type = 'Lock'"),
            {"d": name},
        ).scalar_one()
    return count
