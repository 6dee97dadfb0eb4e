"""`make run`: the whole thing on embedded defaults.

Start order: Prefect server (SQLite, under the data directory; with FORLOEB_POSTGRES_URL both
databases on that PostgreSQL server, created when missing) → wait until healthy → runner
(registers the deployments) → dashboard → demo data. A second run reuses the data directory.

Stopping: Ctrl-C, or SIGTERM to the launcher or to its whole process group (`kill -- -PGID`, what
systemd or a container runtime sends) stops the dashboard, then the runner, then the server, and
exits 0 without a traceback. Each gets SIGTERM; the runner gets its own shutdown grace
(FORLOEB_RUNNER_SHUTDOWN_GRACE_SECONDS, so runs reach their next wait) plus a margin before SIGKILL.
Further signals while stopping are ignored. A part that stops by itself ends the launcher with exit 1.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import threading
import time
from contextlib import suppress
from types import FrameType
from typing import Any
from urllib.parse import urlparse

import httpx

from core.settings import PROJECT_ROOT, get_settings

STOP_SECONDS = 20.0
"""How long the server and the dashboard get between SIGTERM and SIGKILL."""
RUNNER_STOP_MARGIN_SECONDS = 15.0
"""On top of the runner's own grace: handing unfinished runs back and removing its heartbeat."""


def _log(message: str) -> None:
    print(f"[forloeb] {message}", flush=True)


class Stop(BaseException):
    """Raised once by the SIGINT/SIGTERM handler in the main thread: stop everything."""


class Stack:
    def __init__(self) -> None:
        self.settings = get_settings()
        self.data_dir = self.settings.data_dir
        self.logs = self.data_dir / "logs"
        self.processes: list[tuple[str, subprocess.Popen[bytes]]] = []
        self.mailbox: Any = None
        self.stopping = False
        self._spawning = False
        self._deferred: str | None = None
        ui = urlparse(self.settings.prefect_ui_url)
        self.prefect_host = ui.hostname or "127.0.0.1"
        self.prefect_port = ui.port or 4200
        self.api_url = self.settings.prefect_ui_url.rstrip("/") + "/api"

    def env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.setdefault("PREFECT_HOME", str(self.data_dir / "prefect"))
        env["PREFECT_API_URL"] = self.api_url
        env.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        env.setdefault("PREFECT_UI_API_URL", self.api_url)
        env.setdefault("PYTHONUNBUFFERED", "1")
        env["FORLOEB_DATA_DIR"] = str(self.data_dir)
        return env

    def spawn(
        self, name: str, args: list[str], extra_env: dict[str, str] | None = None
    ) -> subprocess.Popen[bytes]:
        self._spawning = True
        try:
            with (self.logs / f"{name}.log").open("ab") as log:
                process = subprocess.Popen(
                    args,
                    cwd=PROJECT_ROOT,
                    env={**self.env(), **(extra_env or {})},
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # its own process group: stopped by us, in order
                )
            self.processes.append((name, process))
        finally:
            self._spawning = False
        if self._deferred:
            raise Stop(self._deferred)
        return process

    def wait_for(self, name: str, url: str, timeout: float, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise SystemExit(
                    f"{name} stoppede (exit {process.returncode}); se {self.logs / (name + '.log')}"
                )
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise SystemExit(f"{name} blev ikke klar inden {timeout:.0f} s; se {self.logs / (name + '.log')}")

    def port_in_use(self, host: str, port: int) -> bool:
        import socket

        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex((host, port)) == 0

    def start(self) -> None:
        self.logs.mkdir(parents=True, exist_ok=True)
        os.environ.update({k: v for k, v in self.env().items() if k.startswith(("PREFECT_", "FORLOEB_"))})

        from sqlalchemy.exc import OperationalError

        from core.errors import ForloebError
        from core.postgres import ensure_databases, prefect_database_url
        from models.schema import upgrade_to_head
        from notifications.send import smtp_problem
        from services import municipalities

        if problem := smtp_problem():  # before anything starts: the runner would refuse too
            raise SystemExit(problem)
        prefect_db = prefect_database_url()
        try:
            for name in ensure_databases():
                _log(f"PostgreSQL-databasen '{name}' er oprettet")
            schema = upgrade_to_head()
        except ForloebError as error:
            raise SystemExit(error.message) from None
        except OperationalError as error:  # the database server does not answer
            raise SystemExit(
                f"App-databasen svarer ikke ({_shown(self.settings.resolved_database_url)}): {error.orig}"
            ) from None
        if schema.changed:
            _log(f"App-databasen er opdateret til skemaversion {schema.after}")
        count = municipalities.seed_municipalities(PROJECT_ROOT / "data" / "kommuner.csv")
        _log(f"App-database: {_shown(self.settings.resolved_database_url)} ({count} kommuner)")
        if prefect_db:
            _log(f"Prefect-database: {_shown(prefect_db)}")
        self.start_mailbox()

        for host, port, what in (
            (self.prefect_host, self.prefect_port, "Prefect-serveren"),
            (self.settings.dashboard_host, self.settings.dashboard_port, "dashboardet"),
        ):
            if self.port_in_use(host, port):
                raise SystemExit(
                    f"Port {port} på {host} er optaget, så {what} kan ikke starte. "
                    "Stop det, der bruger den (kører make run allerede?), eller vælg en anden port "
                    "med FORLOEB_PREFECT_UI_URL / FORLOEB_DASHBOARD_PORT."
                )

        from core.postgres import prefect_server_env
        from core.prefect_env import server_tuning_env

        _log("Starter Prefect-serveren (første start tager op til et halvt minut) ...")
        server = self.spawn(
            "prefect-server",
            [
                sys.executable,
                "-m",
                "prefect",
                "server",
                "start",
                "--host",
                self.prefect_host,
                "--port",
                str(self.prefect_port),
            ],
            # server_tuning_env: fewer, batched event writes (a burst of 200 resumes, bench/burst.py)
            extra_env={**server_tuning_env(), **prefect_server_env()},
        )
        self.wait_for("prefect-server", self.api_url + "/health", 180, server)
        _log(f"Prefect-serveren kører: {self.settings.prefect_ui_url}")

        runner_module = "deployments.runner" if _has_module("deployments.runner") else "deployments.serve"
        runner = self.spawn("runner", [sys.executable, "-m", runner_module])
        flow_name, _, deployment = self.settings.deployment.partition("/")
        self.wait_for("runner", f"{self.api_url}/deployments/name/{flow_name}/{deployment}", 120, runner)
        _log(f"Runneren ({runner_module}) serverer deploymentet {self.settings.deployment}")

        dashboard_url = None
        if _has_module("dashboard.app"):
            dashboard = self.spawn(
                "dashboard",
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "dashboard.app:app",
                    "--host",
                    self.settings.dashboard_host,
                    "--port",
                    str(self.settings.dashboard_port),
                ],
            )
            dashboard_url = f"http://{self.settings.dashboard_host}:{self.settings.dashboard_port}"
            self.wait_for("dashboard", dashboard_url + "/", 60, dashboard)
            _log(f"Dashboardet kører: {dashboard_url}")
            self.print_login()

        if self.settings.demo:
            threading.Thread(target=self.create_demo, daemon=True).start()
        self.print_help(dashboard_url)

    def start_mailbox(self) -> None:
        """The dev SMTP sink, when FORLOEB_SMTP_URL points at 127.0.0.1:<dev_mailbox_port>."""
        smtp = urlparse(self.settings.smtp_url)
        port = self.settings.dev_mailbox_port
        if smtp.hostname not in ("127.0.0.1", "localhost") or (smtp.port or 25) != port:
            return
        if self.port_in_use("127.0.0.1", port):
            _log(f"Port {port} er optaget; bruger den SMTP-server, der allerede lytter der.")
            return
        try:
            from devtools.mailbox import DevMailbox
        except ImportError:
            _log("aiosmtpd mangler (uv sync), så der er ingen udviklingspostkasse; mails fejler synligt.")
            return
        self.mailbox = DevMailbox("127.0.0.1", port, log=lambda line: _log(f"Postkasse: {line}"))
        self.mailbox.start()
        _log(f"Udviklingspostkassen lytter på 127.0.0.1:{port}; mails gemmes i {self.mailbox.folder}")

    def print_login(self) -> None:
        try:
            from services.accounts import ensure_demo_admin

            username, password = ensure_demo_admin()
            _log(f"Log ind på dashboardet som '{username}' med adgangskoden '{password}'")
            if self.settings.demo:
                from devtools.demo import demo_consultants
                from services.accounts import ensure_demo_consultants

                names = ensure_demo_consultants(demo_consultants(), password)
                shown = ", ".join(f"'{n}'" for n in names)
                _log(f"Demokonsulenter (samme adgangskode, ser deres egne opgaver): {shown}")
        except ImportError:
            pass

    def create_demo(self) -> None:
        from devtools import demo

        try:
            created = demo.create_demo_courses()
        except Exception as exc:  # the stack keeps running without demo data
            _log(f"Demodata kunne ikke oprettes: {exc}")
            return
        for line in created:
            _log(f"Demo: {line}")
        if created:
            _log("Demoforløbene er klar. Se dem med: uv run forloeb status")

    def print_help(self, dashboard_url: str | None) -> None:
        lines = [
            "",
            "forloeb kører. Her kan du kigge:",
            f"  Prefect UI:   {self.settings.prefect_ui_url}",
        ]
        if dashboard_url:
            lines.append(f"  Dashboard:    {dashboard_url}")
        lines += [
            f"  Logfiler:     {self.logs}",
            f"  Mails:        {self.data_dir / 'mailbox'} (uv run forloeb dev-mailbox)",
            "  CLI (i en anden terminal):",
            "    uv run forloeb status",
            "    uv run forloeb tasks",
            "    uv run forloeb task show ID",
            "    uv run forloeb complete ID --file svar.json",
            "    uv run forloeb notifications [--failed]   /   uv run forloeb dev-mailbox",
            "Stop med Ctrl-C.",
            "",
        ]
        print("\n".join(lines), flush=True)

    def on_signal(self, signum: int, _frame: FrameType | None) -> None:
        """The first SIGINT/SIGTERM stops everything; later ones (a second Ctrl-C, the same SIGTERM
        sent to the group and forwarded by `uv run`) must not cut the shutdown short."""
        if self.stopping:
            return
        self.stopping = True
        if self._spawning:  # between starting a process and recording it: raise right after
            self._deferred = signal.Signals(signum).name
            return
        raise Stop(signal.Signals(signum).name)

    def stop_timeout(self, name: str) -> float:
        if name != "runner":
            return STOP_SECONDS
        from deployments.runner import RunnerSettings

        return max(STOP_SECONDS, RunnerSettings().shutdown_grace_seconds + RUNNER_STOP_MARGIN_SECONDS)

    def stop(self) -> None:
        self.stopping = True  # from here on, a signal is ignored (see on_signal)
        # Reverse start order: dashboard, runner, then the server.
        for name, process in reversed(self.processes):
            if process.poll() is None:
                _log(f"Stopper {name} ...")
                with suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=self.stop_timeout(name))
                except subprocess.TimeoutExpired:
                    _log(f"{name} stoppede ikke i tide; afbryder den (SIGKILL)")
                    with suppress(ProcessLookupError):
                        os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            # What the part left behind in its process group (a server's worker, say).
            with suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
        self.processes.clear()
        if self.mailbox is not None:
            self.mailbox.stop()
            self.mailbox = None

    def watch(self) -> int:
        """Until a part stops by itself (exit 1); a signal ends it with `Stop`."""
        while True:
            for name, process in self.processes:
                if process.poll() is not None:
                    _log(f"{name} stoppede uventet (exit {process.returncode}); se {self.logs}/{name}.log")
                    return 1
            time.sleep(1)


def _has_module(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except ModuleNotFoundError:
        return False


def _shown(url: str) -> str:
    """A database URL without its password, for the log."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def main() -> int:
    stack = Stack()
    signal.signal(signal.SIGINT, stack.on_signal)
    signal.signal(signal.SIGTERM, stack.on_signal)
    code = 0
    try:
        stack.start()
        code = stack.watch()
    except Stop as stop:
        print(flush=True)
        _log(f"Stopper ({stop}) ...")
    finally:
        try:
            stack.stop()
        except Stop:  # the signal came just before stop() set `stopping`: stop once more
            stack.stop()
        # Python's shutdown puts SIG_DFL back for signals with a Python handler, so a repeat of the
        # group's SIGTERM (uv run and make forward it again) would kill us after "Stoppet." with
        # exit -15; an ignored signal stays ignored through the shutdown.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        _log("Stoppet.")
    return code


if __name__ == "__main__":
    sys.exit(main())
