"""Fault drill: courses driven through their stages while the runner, the Prefect server and the
dashboard are SIGKILLed in the middle of bursts of completions, then restarted as an operator would.

    uv run --frozen python bench/fault_drill.py [--courses 20] [--db sqlite|postgresql|both]
        [--recovery-minutes 3] [--bursts 8] [--keep-tmp]

Per database it starts its own Prefect server (SQLite in a temp dir, or a fresh PostgreSQL
database on 127.0.0.1:5432, as is the app database), a real SMTP sink (aiosmtpd, in this process),
the warm runner (`python -m deployments.runner`, product defaults for heartbeat and repair) and the
dashboard (uvicorn). It starts N courses, then drives them in bursts: every course with an open
task gets it completed at the same moment, half through the dashboard's JSON API (HTTP Basic, a
user made with `services.accounts.create_user`) and half in-process through
`services.courses.complete_task` (what the CLI does). A completion that fails (server down,
connection reset) is tried again, as a person would, until it is accepted. The course engine
accepts an answer while the run moves on (it is stored, the run reads it), so a refusal with 409
/ Conflict ("not waiting, try again") is counted separately: it should not happen any more.

Kills, each in the middle of its own burst, each process group SIGKILLed (nothing is cleaned up):
- the runner, while runs are executing (after half the burst's completions were accepted), at a
  moment when no outbox row is being sent (a kill inside an SMTP send would leave a "måske
  sendt" row, which is the outbox's at-most-once rule working, not a fault: the drill avoids that
  moment and reports it if it happened anyway);
- the Prefect server, the same way;
- the dashboard, while a completion POST is in flight.
Each is started again `--restart-after` seconds later with the same command. Then the drill waits
(the recovery window, default 3 min, shorter when every course is healthy earlier: the lead
runner repairs orphaned runs by itself; nobody runs `forloeb doctor`), and finally completes every
open task once more to prove each course still answers.

Printed and written to bench/RESULTS-fault_drill.md: answers lost, answers stored but not applied,
courses stuck after the recovery window, mails sent twice (SMTP sink vs `sent` rows), "måske
sendt" rows, duplicate task/stage/meeting rows, and seconds from each kill to the first working
resume. This is a drill, not a test: nothing asserts; every process it started is stopped on exit.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: `python bench/fault_drill.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness
from bench.harness import ROOT

RESULTS = ROOT / "bench" / "RESULTS-fault_drill.md"
PROGRAMME = "minoritetsetniske"
USER, PASSWORD = "drill", "drill-adgangskode-1"
KILLS = ("runner", "server", "dashboard")
BURST_TIMEOUT = 240.0
"""Seconds a burst may take (completions accepted and every course at its next task)."""
VERIFY_TIMEOUT = 150.0
SETTLE_SECONDS = 30.0
"""After the verification, how long a course may look unhealthy before it counts as stuck (one
`run_state_grace_seconds`): a run caught between two states goes on by itself within it."""


@dataclass
class Completion:
    course_id: int
    task_id: int
    kind: str
    via: str  # "api" or "service"
    answer: dict[str, Any]
    accepted_at: datetime | None = None
    attempts: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    response_lost: bool = False
    """The accepting request got no answer (killed); the task was found completed afterwards."""
    seconds: float = 0.0
    """From the first attempt until accepted (or given up): what the person waited."""


@dataclass
class Kill:
    what: str
    at: datetime
    restarted_at: datetime | None = None
    sending_at_kill: int = 0
    first_working: float | None = None
    """Seconds from the kill to the next task of the first completion accepted after it (through
    the killed part's path) that went on: the first resume that worked."""
    all_moving: float | None = None
    """Seconds from the kill until every course of that burst had its next task."""


@dataclass
class DrillResult:
    db: str
    completions: list[Completion] = field(default_factory=list)
    kills: list[Kill] = field(default_factory=list)
    metrics: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    load: str = ""


# --- the stack --------------------------------------------------------------------------------


class Stack:
    def __init__(self, db: str, tmp: Path, restart_after: float) -> None:
        self.tmp = tmp
        self.restart_after = restart_after
        self.databases = harness.Databases(db, tmp)
        self.server = harness.PrefectServer(tmp, self.databases)
        self.smtp = harness.SmtpSink()
        self.dashboard_port = harness.free_port()
        env = self.server.env
        env.update(
            {
                "FORLOEB_SMTP_URL": self.smtp.url,
                "FORLOEB_SEND_BACKOFF_SECONDS": "0.5",
                "FORLOEB_CONSULTANT_EMAIL": "konsulent@styrelsen.example",
                "FORLOEB_DEMO": "false",
                "FORLOEB_SECRET_KEY": "drill-" + os.urandom(8).hex(),
            }
        )
        self.env = env
        self.runner = harness.runner(env, tmp / "runner.log")
        self.dashboard = harness.dashboard(env, tmp / "dashboard.log", self.dashboard_port)
        self.url = f"http://127.0.0.1:{self.dashboard_port}"

    def start(self) -> None:
        self.smtp.start()
        took = self.server.start()
        print(f"[{self.databases.kind}] Prefect server up after {took:.1f} s", flush=True)
        harness.use_env(self.env)
        for name in ("FORLOEB_SMTP_URL", "FORLOEB_SEND_BACKOFF_SECONDS", "FORLOEB_CONSULTANT_EMAIL"):
            os.environ[name] = self.env[name]
        from core.settings import get_settings

        get_settings.cache_clear()
        harness.prepare_app_db()
        from models.tables import UserRole
        from services import accounts

        accounts.create_user(USER, "Drill Konsulent", UserRole.ADMIN, PASSWORD, actor="drill")
        print(f"[{self.databases.kind}] runner ready after {self.runner.start():.1f} s", flush=True)
        print(f"[{self.databases.kind}] dashboard ready after {self.dashboard.start():.1f} s", flush=True)

    def stop(self) -> None:
        self.dashboard.stop()
        self.runner.stop(grace=30)
        self.server.stop()
        self.smtp.stop()
        from core import db

        db.get_engine().dispose()
        self.databases.drop()


# --- the app side -------------------------------------------------------------------------------


def _sending_rows() -> int:
    from sqlmodel import col, func, select

    from core.db import session_scope
    from models.tables import Notification, NotificationStatus

    with session_scope() as session:
        return int(
            session.exec(
                select(func.count())
                .select_from(Notification)
                .where(col(Notification.status) == NotificationStatus.SENDING)
            ).one()
        )


def _task_row(task_id: int) -> Any:
    from core.db import session_scope
    from models.tables import HumanTask

    with session_scope() as session:
        return session.get(HumanTask, task_id)


def _open_tasks(course_ids: list[int]) -> dict[int, list[Any]]:
    from sqlmodel import col, select

    from core.db import session_scope
    from models.tables import HumanTask, TaskStatus

    found: dict[int, list[Any]] = {c: [] for c in course_ids}
    with session_scope() as session:
        for task in session.exec(
            select(HumanTask).where(
                col(HumanTask.course_id).in_(course_ids), HumanTask.status == TaskStatus.OPEN
            )
        ):
            found[task.course_id].append(task)
    return found


def _active(course_ids: list[int]) -> list[int]:
    from sqlmodel import col, select

    from core.db import session_scope
    from models.tables import ACTIVE_STATUSES, Course

    with session_scope() as session:
        return [
            c
            for c in session.exec(
                select(Course.id).where(
                    col(Course.id).in_(course_ids), col(Course.status).in_(ACTIVE_STATUSES)
                )
            )
            if c is not None
        ]


def _flow_runs(course_ids: list[int]) -> dict[int, str | None]:
    from sqlmodel import col, select

    from core.db import session_scope
    from models.tables import Course

    with session_scope() as session:
        rows = session.exec(select(Course.id, Course.flow_run_id).where(col(Course.id).in_(course_ids)))
        return {course_id: run_id for course_id, run_id in rows if course_id is not None}


def _answer_base(index: int) -> date:
    """A future Monday-ish date per course, so meetings (and their reminder runs) are in the future
    and each course's invitations have their own dates."""
    from core.workdays import add_working_days, next_working_day

    return add_working_days(next_working_day(date.today() + timedelta(days=21)), index)


class Driver:
    """Completes tasks as people do: retry until accepted; through the API or the service."""

    def __init__(self, stack: Stack, result: DrillResult) -> None:
        import httpx

        self.stack = stack
        self.result = result
        self.http = httpx.Client(base_url=stack.url, auth=(USER, PASSWORD), timeout=60)
        self.in_flight_api = 0
        self.accepted_in_burst = 0
        self._lock = threading.Lock()
        self.bases: dict[int, date] = {}

    def answer(self, course_id: int, kind: str) -> dict[str, Any]:
        from models.examples import sample_answer

        return sample_answer(kind, self.bases[course_id])

    def complete(self, course_id: int, task: Any, via: str, deadline: float) -> Completion:
        """Try until the task is completed (by this call or by an earlier one whose answer was lost)."""
        done = Completion(course_id, task.id, task.kind, via, self.answer(course_id, task.kind))
        self.result.completions.append(done)
        began = time.monotonic()
        while time.monotonic() < deadline:
            done.attempts += 1
            outcome = self._once(done)
            if outcome == "ok":
                done.accepted_at = datetime.now(UTC)
                break
            row = _task_row(done.task_id)
            if row is not None and row.status == "completed":
                done.accepted_at = datetime.now(UTC)
                done.response_lost = True  # the killed request got through after all
                break
            done.refusals[outcome] += 1
            time.sleep(0.5)
        done.seconds = time.monotonic() - began
        with self._lock:
            if done.accepted_at is not None:
                self.accepted_in_burst += 1
        return done

    def _first_error(self, kind: str, text: str) -> None:
        """Keep the first message of each unexpected error for the results."""
        errors = self.result.details.setdefault("first errors", {})
        errors.setdefault(kind, " ".join(text.split())[:400])

    def _once(self, done: Completion) -> str:
        import httpx

        from core.errors import ForloebError, OrchestratorUnavailable
        from services import courses

        if done.via == "api":
            with self._lock:
                self.in_flight_api += 1
            try:
                response = self.http.post(
                    f"/api/tasks/{done.task_id}/complete", json={"form": done.kind, "answer": done.answer}
                )
            except httpx.HTTPError as exc:
                return f"api: {type(exc).__name__}"
            finally:
                with self._lock:
                    self.in_flight_api -= 1
            if response.status_code == 200:
                return "ok"
            if response.status_code >= 500 or response.status_code == 409:
                self._first_error(f"api: {response.status_code}", response.text)
            return f"api: {response.status_code}"
        try:
            courses.complete_task(done.task_id, done.answer, actor="drill")
        except OrchestratorUnavailable:
            return "service: Prefect unavailable"
        except ForloebError as exc:
            if type(exc).__name__ == "Conflict":
                self._first_error("service: Conflict", exc.message)
            return f"service: {type(exc).__name__}"
        except Exception as exc:  # the app database or anything else: a person would try again
            self._first_error(f"service: {type(exc).__name__}", str(exc))
            return f"service: {type(exc).__name__}"
        return "ok"


# --- one burst ----------------------------------------------------------------------------------


def burst(
    driver: Driver,
    course_ids: list[int],
    number: int,
    kill: str | None,
    stack: Stack,
) -> Kill | None:
    """Complete every course's open task at once; `kill` one part in the middle. Waits until every
    course has its next task (or the burst times out)."""
    deadline = time.monotonic() + BURST_TIMEOUT
    opened = _open_tasks(course_ids)
    work = [(c, tasks[0]) for c, tasks in opened.items() if len(tasks) == 1]
    before = {t.id for _, t in work}
    driver.accepted_in_burst = 0
    killed: Kill | None = None
    first = len(driver.result.completions)
    with ThreadPoolExecutor(max_workers=max(1, len(work))) as pool:
        futures = [
            pool.submit(driver.complete, course_id, task, "api" if i % 2 == 0 else "service", deadline)
            for i, (course_id, task) in enumerate(work)
        ]
        if kill is not None:
            killed = _kill_in_burst(driver, stack, kill, len(work))
        for future in futures:
            future.result()
    made = driver.result.completions[first:]
    accepted = [c for c in made if c.accepted_at is not None]
    moved = _wait_for_next(course_ids, before, deadline)
    lost_answers = sum(1 for c in made if c.response_lost)
    waited = ", ".join(f"{k} ×{n}" for k, n in sum((c.refusals for c in made), Counter()).most_common())
    print(
        f"  burst {number}{f' (kill {kill})' if kill else ''}: {len(accepted)}/{len(work)} accepted"
        f"{f', {lost_answers} after a lost response' if lost_answers else ''}; "
        f"{moved}/{len(work)} at their next task" + (f"; retried: {waited}" if waited else ""),
        flush=True,
    )
    if killed is not None:
        killed.all_moving = (datetime.now(UTC) - killed.at).total_seconds() if moved == len(work) else None
    return killed


def _wait_for_next(course_ids: list[int], before: set[int], deadline: float) -> int:
    """Wait until no course is waiting on one of `before` and each active one has an open task."""
    moved = 0
    while True:
        active = set(_active(course_ids))
        opened = _open_tasks(course_ids)
        moved = sum(
            1
            for c in course_ids
            if c not in active or (opened[c] and all(t.id not in before for t in opened[c]))
        )
        if moved == len(course_ids) or time.monotonic() > deadline:
            return min(moved, len(before))
        time.sleep(0.5)


def _kill_in_burst(driver: Driver, stack: Stack, what: str, size: int) -> Kill:
    """Wait for the kill point, SIGKILL, wait `restart_after`, start it again."""
    limit = time.monotonic() + 60
    if what == "dashboard":
        # during a completion POST: one is in flight and a few have been accepted already
        harness.wait_for(
            lambda: (driver.in_flight_api > 0 and driver.accepted_in_burst >= 2) or time.monotonic() > limit,
            70,
            "a POST in flight",
            step=0.01,
        )
    else:
        # while runs are executing: half the burst's answers are in; never inside an SMTP send
        harness.wait_for(
            lambda: driver.accepted_in_burst >= size // 2 or time.monotonic() > limit, 70, "half", 0.01
        )
        harness.wait_for(lambda: _sending_rows() == 0, 30, "no mail being sent", step=0.005)
    parts: dict[str, harness.Service | harness.PrefectServer] = {
        "runner": stack.runner,
        "server": stack.server,
        "dashboard": stack.dashboard,
    }
    part = parts[what]
    in_flight = driver.in_flight_api
    part.kill()
    killed = Kill(what, datetime.now(UTC))
    killed.sending_at_kill = _sending_rows() if what == "runner" else 0
    print(
        f"  SIGKILL {what} (API POSTs in flight: {in_flight}, "
        f"answers accepted in this burst: {driver.accepted_in_burst}); "
        f"restart in {stack.restart_after:.0f} s",
        flush=True,
    )
    time.sleep(stack.restart_after)
    took = part.start()
    killed.restarted_at = datetime.now(UTC)
    print(f"  {what} started again ({took:.1f} s to ready)", flush=True)
    return killed


# --- health and the final count -------------------------------------------------------------


def _unhealthy(course_ids: list[int]) -> dict[int, str]:
    """Courses that cannot be answered right now: why, per course."""
    from services import prefect_gateway, recovery

    why: dict[int, str] = {}
    active = _active(course_ids)
    opened = _open_tasks(active)
    runs = _flow_runs(active)
    states = prefect_gateway.run_states([r for r in runs.values() if r])
    for course_id in active:
        tasks = opened[course_id]
        state = states.get(runs.get(course_id) or "")
        if len(tasks) != 1:
            why[course_id] = f"{len(tasks)} open tasks, run {state.name if state else '?'}"
        elif state is None or not _suspended(state):
            why[course_id] = (
                f"open task {tasks[0].key}, run {state.name if state else '?'} on {state and state.pause_key}"
            )
    for finding in recovery.diagnose().findings:
        if finding.course_id in course_ids:
            why.setdefault(finding.course_id, f"doctor: {finding.kind}")
    return why


def _settled_unhealthy(course_ids: list[int]) -> tuple[dict[int, str], dict[int, str]]:
    """(stuck, passing): courses still unhealthy after up to SETTLE_SECONDS of looking, and those
    that were unhealthy at the first look only. A run caught between two states (e.g. Resuming a
    moment after a late resume request) goes on by itself; a stuck course stays."""
    first = _unhealthy(course_ids)
    why = first
    deadline = time.monotonic() + SETTLE_SECONDS
    while why and time.monotonic() < deadline:
        time.sleep(2)
        why = _unhealthy(course_ids)
    return why, {c: reason for c, reason in first.items() if c not in why}


def _suspended(state: Any) -> bool:
    """The run waits for a person with no process held. The course engine suspends on a fresh key
    (`vent-...`) with no input schema, so the pause key says nothing about which task it waits on:
    the open task in the app database is the wait (runs still waiting the old way, on the task's
    own key, are Suspended too)."""
    return bool(state.waiting) and state.name == "Suspended"


def _recovery_window(course_ids: list[int], minutes: float) -> tuple[float | None, dict[int, str]]:
    """Wait until every course is healthy (or the window ends); the seconds it took."""
    started = time.monotonic()
    deadline = started + minutes * 60
    why: dict[int, str] = {}
    while time.monotonic() < deadline:
        try:
            why = _unhealthy(course_ids)
        except Exception as exc:  # e.g. the server is still warming up
            why = {0: f"check failed: {exc!r}"}
        if not why:
            return time.monotonic() - started, {}
        time.sleep(2)
    return None, why


def _duplicates() -> int:
    from sqlalchemy import text

    from core.db import session_scope

    total = 0
    with session_scope() as session:
        for table, key in (("humantask", "key"), ("stagerun", "stage_key"), ("meeting", "key")):
            rows = session.execute(
                text(
                    f"SELECT course_id, {key}, count(*) FROM {table} "
                    f"GROUP BY course_id, {key} HAVING count(*) > 1"
                )
            ).all()
            total += sum(int(r[2]) - 1 for r in rows)
    return total


def _mail_counts(sink: harness.SmtpSink) -> dict[str, int]:
    from sqlmodel import select

    from core.db import session_scope
    from models.tables import Notification, NotificationStatus
    from notifications.outbox import is_uncertain

    with session_scope() as session:
        rows = list(session.exec(select(Notification)))
    sent = Counter((r.recipient, r.subject) for r in rows if r.status == NotificationStatus.SENT)
    received: Counter[tuple[str, str]] = Counter()
    for mail in list(sink.received):
        for recipient in mail.recipients:
            received[(recipient, mail.subject)] += 1
    twice = sum(max(0, n - sent[k]) for k, n in received.items())
    return {
        "rows": len(rows),
        "sent rows": sum(sent.values()),
        "received": sum(received.values()),
        "twice": twice,
        "sending": sum(1 for r in rows if r.status == NotificationStatus.SENDING),
        "uncertain": sum(1 for r in rows if is_uncertain(r)),
        "failed": sum(1 for r in rows if r.status == NotificationStatus.FAILED),
        "missing": sum(max(0, n - received[k]) for k, n in sent.items()),
    }


def _answers(result: DrillResult) -> tuple[int, int]:
    """(answers lost, answers stored but not applied)."""
    from sqlmodel import select

    from core.db import session_scope
    from models.forms import get_form
    from models.tables import HumanTask, TaskStatus

    with session_scope() as session:
        tasks = {t.id: t for t in session.exec(select(HumanTask))}
    lost = 0
    for done in result.completions:
        if done.accepted_at is None:
            continue
        row = tasks.get(done.task_id)
        stored = get_form(done.kind).model_validate(done.answer).model_dump(mode="json")
        if row is None or row.status != TaskStatus.COMPLETED or row.answer != stored:
            lost += 1
            result.notes.append(f"answer lost: course {done.course_id} task {done.task_id} ({done.kind})")
    not_applied = sum(
        1
        for t in tasks.values()
        if t.status == TaskStatus.COMPLETED and t.answer is not None and not t.applied
    )
    return lost, not_applied


def _first_working(result: DrillResult) -> None:
    """Per kill: the first completion accepted after it (through the killed part's path) whose
    course got its next task; seconds from the kill to that task row."""
    from sqlmodel import select

    from core.clock import as_utc
    from core.db import session_scope
    from models.tables import HumanTask

    with session_scope() as session:
        created = {t.id: (t.course_id, as_utc(t.created_at)) for t in session.exec(select(HumanTask))}
    by_course: dict[int, list[tuple[int, datetime]]] = {}
    for task_id, (course_id, at) in created.items():
        assert task_id is not None
        by_course.setdefault(course_id, []).append((task_id, at))
    for kill in result.kills:
        best: float | None = None
        for done in result.completions:
            if done.accepted_at is None or done.accepted_at < kill.at:
                continue
            if kill.what == "dashboard" and done.via != "api":
                continue
            later = [at for task_id, at in by_course.get(done.course_id, []) if task_id > done.task_id]
            if later:
                seconds = (min(later) - kill.at).total_seconds()
                best = seconds if best is None else min(best, seconds)
        kill.first_working = best


def _repairs() -> Counter[str]:
    from sqlmodel import select

    from core.db import session_scope
    from models.tables import AuditEvent
    from services.recovery import REPAIR_ACTION

    with session_scope() as session:
        details = session.exec(select(AuditEvent.detail).where(AuditEvent.action == REPAIR_ACTION)).all()
    return Counter((d or "").split(":", 1)[0] for d in details)


# --- one drill ----------------------------------------------------------------------------------


def drill(db: str, args: argparse.Namespace) -> DrillResult:
    started = time.monotonic()
    result = DrillResult(db, load=harness.load())
    tmp = Path(tempfile.mkdtemp(prefix=f"forloeb-drill-{db}-"))
    stack = Stack(db, tmp, args.restart_after)
    try:
        stack.start()
        from services import courses, municipalities

        names = [m.name for m in municipalities.list_municipalities()][: args.courses]
        driver = Driver(stack, result)
        course_ids: list[int] = []
        for index, name in enumerate(names):
            course = courses.start_course(name, PROGRAMME, "Drill Konsulent", actor="drill")
            assert course.id is not None
            course_ids.append(course.id)
            driver.bases[course.id] = _answer_base(index)
        _wait_for_next(course_ids, set(), time.monotonic() + BURST_TIMEOUT)
        print(f"[{db}] {len(course_ids)} courses at their first task", flush=True)
        plan = _kill_plan(args.bursts, args.kills)
        for number in range(1, args.bursts + 1):
            killed = burst(driver, course_ids, number, plan.get(number), stack)
            if killed is not None:
                result.kills.append(killed)
        print(f"[{db}] recovery window (up to {args.recovery_minutes:g} min) ...", flush=True)
        healthy_after, why = _recovery_window(course_ids, args.recovery_minutes)
        result.details["healthy after"] = healthy_after
        if why:
            print(f"[{db}] not healthy after the window: {why}", flush=True)
        # Prove every course still answers: one more completion each.
        before_verify = len(result.completions)
        verify_deadline = time.monotonic() + VERIFY_TIMEOUT
        opened = _open_tasks(course_ids)
        verify = [(c, tasks[0]) for c, tasks in opened.items() if len(tasks) == 1]
        with ThreadPoolExecutor(max_workers=max(1, len(verify))) as pool:
            list(pool.map(lambda w: driver.complete(w[0], w[1], "service", verify_deadline), verify))
        moved = _wait_for_next(course_ids, {t.id for _, t in verify}, verify_deadline)
        refused = sum(1 for c in result.completions[before_verify:] if c.accepted_at is None)
        print(f"[{db}] verification: {moved}/{len(verify)} courses went on ({refused} refused)", flush=True)
        stuck, passing = _settled_unhealthy(course_ids)
        if passing:
            result.details["unhealthy only for a moment after the verification"] = passing
        stuck.update({c: "was not healthy after the window" for c in why if c})
        lost, not_applied = _answers(result)
        mail = _mail_counts(stack.smtp)
        _first_working(result)
        result.metrics = {
            "answers lost": lost,
            "answers stored but not applied": not_applied,
            "courses stuck after the recovery window": len(stuck),
            "mails sent twice": mail["twice"],
            "måske sendt": mail["sending"] + mail["uncertain"],
            "duplicate rows": _duplicates(),
        }
        result.details.update(
            {
                "courses": len(course_ids),
                "completions accepted": sum(1 for c in result.completions if c.accepted_at),
                "accepted after a lost response": sum(1 for c in result.completions if c.response_lost),
                "completions never accepted": sum(1 for c in result.completions if c.accepted_at is None),
                "slowest completion (s)": round(max((c.seconds for c in result.completions), default=0), 1),
                "refused as not waiting": sum(
                    c.refusals["api: 409"] + c.refusals["service: Conflict"] for c in result.completions
                ),
                "refusals": dict(sum((c.refusals for c in result.completions), Counter())),
                "mail": mail,
                "repairs": dict(_repairs()),
                "stuck": stuck,
                "courses completed": len(course_ids) - len(_active(course_ids)),
                "sending at runner kill": sum(k.sending_at_kill for k in result.kills),
            }
        )
    finally:
        result.seconds = time.monotonic() - started
        stack.stop()
        if args.keep_tmp:
            print(f"Kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return result


def _kill_plan(bursts: int, kills: list[str]) -> dict[int, str]:
    """Burst number -> what to kill: the first two bursts warm up, then every other burst."""
    return {3 + 2 * i: what for i, what in enumerate(kills) if 3 + 2 * i <= bursts}


# --- the table ----------------------------------------------------------------------------------


def _table(results: list[DrillResult]) -> tuple[list[str], list[list[str]]]:
    header = ["", *[r.db if r.db != "postgresql" else "PostgreSQL" for r in results], "target"]
    header = [h if h != "sqlite" else "SQLite" for h in header]
    rows: list[list[str]] = []
    for name in results[0].metrics:
        rows.append([name, *[str(r.metrics.get(name, "—")) for r in results], "0"])
    for what in KILLS:
        cells = []
        for r in results:
            kill = next((k for k in r.kills if k.what == what), None)
            cells.append(
                "—"
                if kill is None
                else f"{harness.fmt_s(kill.first_working)} (all moving {harness.fmt_s(kill.all_moving)})"
            )
        if any(c != "—" for c in cells):
            rows.append([f"kill {what} → first working resume", *cells, ""])
    rows.append(
        ["completions accepted", *[str(r.details.get("completions accepted", "—")) for r in results], ""]
    )
    rows.append(
        [
            "mails received / sent rows",
            *[f"{r.details['mail']['received']} / {r.details['mail']['sent rows']}" for r in results],
            "",
        ]
    )
    rows.append(["load average at start", *[r.load for r in results], ""])
    return header, rows


def _markdown(
    header: list[str], rows: list[list[str]], results: list[DrillResult], args: argparse.Namespace
) -> str:
    lines = [
        "# Fault drill: SIGKILL of runner, Prefect server and dashboard in the middle of bursts",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'}: "
        f"{os.cpu_count()} cores, load average {harness.load()} at the end (other work shares the machine), "
        f"Python {platform.python_version()}. {args.courses} courses per database, {args.bursts} bursts, "
        f"kills: {', '.join(args.kills)}, restart {args.restart_after:g} s after each kill, recovery window "
        f"up to {args.recovery_minutes:g} min, product defaults for heartbeat and repair.",
        "",
        *harness.markdown_table(header, rows),
        "",
    ]
    for r in results:
        lines.append(f"- **{r.db}** ({r.seconds / 60:.1f} min): " + _details_line(r))
    lines += ["", _EXPLAIN, ""]
    return "\n".join(lines)


def _details_line(r: DrillResult) -> str:
    d = r.details
    healthy = d.get("healthy after")
    parts = [
        f"{d.get('completions accepted')} completions accepted "
        f"({d.get('accepted after a lost response')} only known after a lost response), "
        f"{d.get('completions never accepted')} never accepted, "
        f"{d.get('refused as not waiting', 0)} refusals with 409 / Conflict (should be 0: an answer is "
        "accepted while the run moves on)",
        "all courses healthy "
        + (f"{healthy:.0f} s into the recovery window" if healthy is not None else "— not within the window"),
        f"slowest completion call {d.get('slowest completion (s)')} s",
        f"repairs by the lead runner: {d.get('repairs') or 'none'}",
        f"retries a person would have made: {d.get('refusals') or 'none'}",
        f"outbox: {d.get('mail')}",
        f"courses finished: {d.get('courses completed')}",
    ]
    if d.get("stuck"):
        parts.append(f"stuck: {d['stuck']}")
    if d.get("unhealthy only for a moment after the verification"):
        parts.append(
            "unhealthy at the first look after the verification, then healthy (not counted as stuck): "
            f"{d['unhealthy only for a moment after the verification']}"
        )
    if d.get("first errors"):
        parts.append(f"first unexpected errors: {d['first errors']}")
    parts += r.notes
    if d.get("sending at runner kill"):
        parts.append(f"a runner kill landed inside an SMTP send: {d['sending at runner kill']}")
    return "; ".join(parts) + "."


_EXPLAIN = """\
How it is counted (bench/fault_drill.py): *answers lost*: completions that were accepted (HTTP 200,
the service returned, or the task was found completed after a request whose response was lost) but
whose answer is not in the task row at the end. *Stored but not applied*: completed tasks whose
answer the flow never acted on. *Stuck*: after the recovery window and one more completion per
course, an active course without exactly one open task, or whose run is not Suspended (the engine
waits on fresh `vent-` keys: the open task is the wait), or with a `services.recovery.diagnose()`
finding, still so 30 s after the verification (one seen only at the first look is listed apart).
*Mails sent twice*: messages the SMTP sink received beyond the `sent` outbox rows with the same
recipient and subject. *Måske sendt*: rows left `sending` (shown as "måske sendt" after
FORLOEB_SEND_CLAIM_STALE_SECONDS). *Duplicate rows*: task, stage and
meeting rows per course and key beyond one. *Kill → first working resume*: from the SIGKILL to the
next task row of the first completion accepted after it (through the dashboard for a dashboard
kill); "all moving": until every course of that burst had its next task (orphaned runs repaired)."""


def _to_json(result: DrillResult) -> dict[str, Any]:
    return {
        "db": result.db,
        "metrics": result.metrics,
        "details": result.details,
        "seconds": result.seconds,
        "load": result.load,
        "notes": result.notes,
        "kills": [
            {"what": k.what, "first_working": k.first_working, "all_moving": k.all_moving}
            for k in result.kills
        ],
    }


def _from_json(data: dict[str, Any]) -> DrillResult:
    result = DrillResult(data["db"], metrics=data["metrics"], details=data["details"])
    result.seconds, result.load, result.notes = data["seconds"], data["load"], data["notes"]
    for k in data["kills"]:
        kill = Kill(k["what"], datetime.now(UTC))
        kill.first_working, kill.all_moving = k["first_working"], k["all_moving"]
        result.kills.append(kill)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--courses", type=int, default=20)
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--bursts", type=int, default=8, help="bursts of completions (kills in 3, 5, 7)")
    parser.add_argument(
        "--kills", default=",".join(KILLS), help=f"comma-separated, in order: {', '.join(KILLS)}"
    )
    parser.add_argument(
        "--restart-after", type=float, default=5.0, help="seconds before a killed part is restarted"
    )
    parser.add_argument("--recovery-minutes", type=float, default=3.0)
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temp dirs (logs, SQLite databases)")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.name}")
    parser.add_argument("--json-out", type=Path, help=argparse.SUPPRESS)  # one database, in a child process
    args = parser.parse_args(argv)
    kills = [k for k in args.kills.split(",") if k]
    if unknown := set(kills) - set(KILLS):
        parser.error(f"unknown kill(s): {', '.join(sorted(unknown))}")
    if args.courses > 98:
        parser.error("at most 98 courses (one per municipality)")
    args.kills = kills

    def on_sigterm(_signum: int, _frame: object) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, on_sigterm)
    if args.json_out is not None:  # the child: one database, this process is its consultant
        try:
            args.json_out.write_text(
                json.dumps(_to_json(drill(args.db, args)), default=str), encoding="utf-8"
            )
        finally:
            harness.stop_all()
        return 0
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    argv = argv if argv is not None else sys.argv[1:]
    results = [_from_json(data) for data in harness.per_database(Path(__file__), argv, dbs)]
    if not results:
        return 1
    header, rows = _table(results)
    harness.print_table(f"Fault drill (load average now {harness.load()})", header, rows)
    for r in results:
        print(f"- {r.db}: {_details_line(r)}")
    if not args.no_write:
        RESULTS.write_text(_markdown(header, rows, results, args), encoding="utf-8")
        print(f"Wrote {RESULTS.relative_to(ROOT)}")
    failed = any(any(v for v in r.metrics.values()) for r in results)
    return 2 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
