"""`make run` stops cleanly: the launcher (devtools/launcher.py) on its embedded defaults, in its own
process group with a fresh data directory, stopped the way systemd or a container runtime stops
it: SIGTERM to the whole process group. It must stop every part, print no traceback and exit 0.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import suppress
from pathlib import Path

import httpx
import pytest

from tests.support.mail import free_port

ROOT = Path(__file__).resolve().parents[2]


def _children() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def descendants(pid: int) -> set[int]:
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Running (a zombie waiting to be reaped by whoever adopted it does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def port_open(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def launcher_env(tmp_path: Path) -> tuple[dict[str, str], list[int]]:
    """The embedded defaults of `make run` (SQLite for both databases), in a data dir of its own,
    on free ports. Returns the environment and the ports (Prefect, dashboard, mail sink)."""
    ports = [free_port(), free_port(), free_port()]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "FORLOEB_"))}
    env |= {
        "FORLOEB_DATA_DIR": str(tmp_path / "data"),
        "FORLOEB_DEMO": "0",
        "FORLOEB_PREFECT_UI_URL": f"http://127.0.0.1:{ports[0]}",
        "FORLOEB_DASHBOARD_PORT": str(ports[1]),
        "FORLOEB_DEV_MAILBOX_PORT": str(ports[2]),
        "FORLOEB_SMTP_URL": f"mailto://127.0.0.1:{ports[2]}?from=forloeb@localhost",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    }
    return env, ports


def start_launcher(env: dict[str, str], output: Path) -> subprocess.Popen[bytes]:
    with output.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "devtools.launcher"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as under systemd or `make run`
        )


def wait_for_line(launcher: subprocess.Popen[bytes], output: Path, line: str, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while line not in output.read_text(errors="replace"):
        assert launcher.poll() is None, output.read_text(errors="replace")
        assert time.monotonic() < deadline, output.read_text(errors="replace")
        time.sleep(0.2)


def terminate_group(launcher: subprocess.Popen[bytes]) -> int:
    """`kill -- -PGID`, then the same signal again a few times, as `uv run` and `make` forward it."""
    os.killpg(launcher.pid, signal.SIGTERM)
    for pause in (0.0, 0.001, 0.01, 0.1, 0.5):
        time.sleep(pause)
        with suppress(ProcessLookupError):
            os.kill(launcher.pid, signal.SIGTERM)
    return launcher.wait(timeout=150)


def assert_clean_stop(code: int, output: Path, parts: set[int], ports: list[int]) -> None:
    text = output.read_text(errors="replace")
    assert code == 0, text
    assert "Traceback" not in text and "KeyboardInterrupt" not in text, text
    assert "Stoppet." in text
    assert "stoppede ikke i tide" not in text, text  # nothing had to be killed
    left = sorted(pid for pid in parts if alive(pid))
    assert not left, f"left running after the launcher exited: {left}"
    assert not any(port_open(port) for port in ports)


needs_proc = pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads the process tree from /proc")


@needs_proc
def test_sigterm_to_the_process_group_stops_everything_cleanly_with_exit_0(tmp_path: Path) -> None:
    env, ports = launcher_env(tmp_path)
    output = tmp_path / "launcher.out"
    launcher = start_launcher(env, output)
    try:
        wait_for_line(launcher, output, "Stop med Ctrl-C.")
        assert httpx.get(f"http://127.0.0.1:{ports[1]}/", timeout=10).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{ports[0]}/api/health", timeout=10).status_code == 200
        parts = descendants(launcher.pid)
        assert len(parts) >= 3, parts  # the Prefect server, the runner and the dashboard at least
        code = terminate_group(launcher)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
    assert_clean_stop(code, output, parts, ports)
    runner_log = (tmp_path / "data" / "logs" / "runner.log").read_text(errors="replace")
    assert "Runner stopped" in runner_log and "Traceback" not in runner_log, runner_log[-3000:]


@needs_proc
def test_sigterm_while_starting_stops_what_was_started(tmp_path: Path) -> None:
    env, ports = launcher_env(tmp_path)
    output = tmp_path / "launcher.out"
    launcher = start_launcher(env, output)
    try:
        wait_for_line(launcher, output, "Prefect-serveren kører")  # the runner is starting now
        parts = descendants(launcher.pid)
        code = terminate_group(launcher)
    finally:
        if launcher.poll() is None:
            os.killpg(launcher.pid, signal.SIGKILL)
            launcher.wait()
    assert_clean_stop(code, output, parts, ports)


def test_the_runner_gets_its_whole_shutdown_grace_before_sigkill(monkeypatch: pytest.MonkeyPatch) -> None:
    from deployments.runner import RunnerSettings
    from devtools.launcher import STOP_SECONDS, Stack

    assert RunnerSettings().shutdown_grace_seconds == 60
    assert Stack().stop_timeout("runner") > 60
    monkeypatch.setenv("FORLOEB_RUNNER_SHUTDOWN_GRACE_SECONDS", "300")
    assert Stack().stop_timeout("runner") > 300
    assert Stack().stop_timeout("dashboard") == STOP_SECONDS
