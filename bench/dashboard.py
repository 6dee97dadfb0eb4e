"""Dashboard benchmark.

Sizes: server time of the overview and a course page at 100 / 1,000 / 10,000 courses. Fills a
fresh SQLite app DB per size (courses with their 11 stage rows, tasks, meetings and audit events),
then asks the real app (in-process, logged in) for pages and reads the server's own `Server-Timing`
header. Prints a table and writes the top of bench/RESULTS-dashboard.md.

    uv run --frozen python bench/dashboard.py [--sizes 100 1000 10000] [--requests 40]

Concurrent (`--concurrent`): a real uvicorn server over HTTP on 1,000 courses; 20 httpx clients
load the overview while other clients press "Send igen" on failed notifications, a form POST that
sends its mail synchronously, against an SMTP server (aiosmtpd) that answers each message after
5 s. Client-side latency of the overview, idle and under that load, for this tree and for an older
commit checked out into a temporary `git worktree` (default d2cb0b0, before the web layer stopped
blocking). Prints a table and appends a section to bench/RESULTS-dashboard.md.

    uv run --frozen python bench/dashboard.py --concurrent [--against d2cb0b0] [--new PATH]
        [--readers 20] [--posters 4] [--duration 30] [--think 0.5] [--smtp-delay 5]

`--tree PATH` imports the dashboard from another checkout (what `--concurrent` does for each tree,
in a subprocess of its own).
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import statistics
import sys
import tempfile
import textwrap
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _tree_from_argv() -> Path:
    """`--tree PATH`: the checkout whose code is measured (read before anything is imported)."""
    if "--tree" in sys.argv[:-1]:
        return Path(sys.argv[sys.argv.index("--tree") + 1]).resolve()
    return ROOT


TREE = _tree_from_argv()
sys.path.insert(0, str(TREE))
KOMMUNER_CSV = TREE / "data" / "kommuner.csv"

TARGETS = {1000: 50.0, 10000: 300.0}
REPORT = """# Dashboard benchmark

Run {day} with `python bench/dashboard.py` on {machine}.
Server time is the app's own `Server-Timing` header (routing, queries, template rendering),
in-process, logged in as an admin; {requests} requests per row after 5 warm-up requests.
Each size is a fresh DB: one active course per municipality (the database allows no more per
programme), ~15 % failed runs still holding open tasks, the rest completed; 11 stage rows, tasks,
4 meetings and audit events per course. Other test runs shared the 2 cores: read these as upper bounds.

{table}

The overview is paginated (50 rows) and costs 4 queries whatever the size, plus the per-stage
counts and the filter options; open/overdue counts and next meetings are read for the page's ids
only. Filters use indexes on course (programme, consultant, status, current_stage,
current_stage_since), humantask (course_id, status, due_date) and meeting (course_id, status,
planned_at).
"""
PAGES = {
    "oversigt": "/oversigt",
    "oversigt, kun overskredne, sorteret": "/oversigt?overskredet=1&sort=overskredet&faldende=1",
    "oversigt, side 20": "/oversigt?side=20",
    "forløbsside": "/forloeb/{course}",
}


def _fill(n: int, seed: int = 7) -> list[int]:
    """n courses: one active course per municipality (the DB allows no more), ~15 % failed runs
    still holding open tasks, the rest completed. Returns the ids of courses to open."""
    from datetime import UTC

    from sqlalchemy import insert
    from sqlmodel import select

    from core.clock import today
    from core.db import get_engine, session_scope
    from models.programmes import latest_version
    from models.tables import (
        AuditEvent,
        Course,
        CourseStatus,
        HumanTask,
        Meeting,
        MeetingStatus,
        Municipality,
        StageRun,
        StageStatus,
        TaskStatus,
    )
    from services.flow_steps import plan_stages

    rng = random.Random(seed)
    programme = latest_version("minoritetsetniske")
    with session_scope() as session:
        codes = [m.code for m in session.exec(select(Municipality))]
    consultants = [f"Konsulent {c}" for c in "ABCDEFGHIJKL"]
    day = today()
    courses, stages, tasks, meetings, events = [], [], [], [], []
    for i in range(1, n + 1):
        if i <= len(codes):
            status, code = CourseStatus.ACTIVE, codes[i - 1]
        else:
            status = CourseStatus.FAILED if rng.random() < 0.15 else CourseStatus.COMPLETED
            code = rng.choice(codes)
        start = day - timedelta(days=rng.randint(20, 900))
        plan = plan_stages(programme, start)
        reached = len(plan) if status == CourseStatus.COMPLETED else rng.randint(1, len(plan))
        since = datetime.combine(plan[reached - 1][4], datetime.min.time(), UTC)
        courses.append(
            {
                "id": i,
                "municipality_code": code,
                "programme": programme.key,
                "programme_version": programme.version,
                "consultant": rng.choice(consultants),
                "start_date": start,
                "status": status,
                "current_stage": None if status == CourseStatus.COMPLETED else plan[reached - 1][0],
                "current_stage_since": since,
                "flow_run_id": f"00000000-0000-4000-8000-{i:012d}",
                "created_at": since,
                "completed_at": since if status == CourseStatus.COMPLETED else None,
            }
        )
        for pos, (key, name, track, _in_track, p_start, p_end) in enumerate(plan, 1):
            done = pos < reached or status == CourseStatus.COMPLETED
            active = pos == reached and not done
            a_start = datetime.combine(p_start + timedelta(days=rng.randint(0, 5)), datetime.min.time(), UTC)
            stages.append(
                {
                    "course_id": i,
                    "stage_key": key,
                    "track": track,
                    "position": pos,
                    "name": name,
                    "status": StageStatus.DONE
                    if done
                    else (StageStatus.ACTIVE if active else StageStatus.PLANNED),
                    "planned_start": p_start,
                    "planned_end": p_end,
                    "actual_start": a_start if (done or active) else None,
                    "actual_end": a_start + timedelta(days=12) if done else None,
                }
            )
            if done or active:
                tasks.append(
                    {
                        "course_id": i,
                        "stage_key": key,
                        "key": key,
                        "kind": "moede-afholdt",
                        "title": f"Opgave i {name}",
                        "assignee_role": "kommune" if pos in (3, 4) else "konsulent",
                        "due_date": p_end if done else day + timedelta(days=rng.randint(-20, 15)),
                        "status": TaskStatus.COMPLETED if done else TaskStatus.OPEN,
                        "answer": {"afholdt_dato": p_end.isoformat(), "noter": ""} if done else None,
                        "completed_by": "bench" if done else None,
                        "applied": done,
                        "created_at": a_start,
                    }
                )
                events += [
                    {
                        "course_id": i,
                        "at": a_start,
                        "actor": "forløbsflow",
                        "action": "fase startet",
                        "detail": name,
                    },
                    {
                        "course_id": i,
                        "at": a_start,
                        "actor": "forløbsflow",
                        "action": "opgave oprettet",
                        "detail": name,
                    },
                ]
                if done:
                    events.append(
                        {
                            "course_id": i,
                            "at": a_start,
                            "actor": "bench",
                            "action": "opgave udført",
                            "detail": name,
                        }
                    )
        for m in range(4):
            at = datetime.combine(start + timedelta(days=30 * (m + 1)), datetime.min.time(), UTC) + timedelta(
                hours=9
            )
            meetings.append(
                {
                    "course_id": i,
                    "key": f"moede-{m}",
                    "kind": "workshop",
                    "title": f"Workshop {m + 1}",
                    "planned_at": at,
                    "location": "Rådhuset",
                    "status": MeetingStatus.PLANNED if at.date() >= day else MeetingStatus.HELD,
                    "version": 1,
                }
            )
    engine = get_engine()
    with engine.begin() as conn:
        for table, rows in (
            (Course, courses),
            (StageRun, stages),
            (HumanTask, tasks),
            (Meeting, meetings),
            (AuditEvent, events),
        ):
            for start_at in range(0, len(rows), 20_000):
                conn.execute(insert(table.__table__), rows[start_at : start_at + 20_000])  # type: ignore[attr-defined]
        conn.exec_driver_sql("ANALYZE")
    return [rng.randint(1, n) for _ in range(10)]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def _server_ms(response: Any) -> float:
    match = re.search(r"dur=([0-9.]+)", response.headers.get("server-timing", ""))
    if response.status_code != 200 or not match:
        raise SystemExit(f"unexpected response {response.status_code} for {response.url}")
    return float(match.group(1))


def run_size(n: int, requests: int) -> list[tuple[str, float, float]]:
    from fastapi.testclient import TestClient

    from core import db
    from core.settings import get_settings
    from models import schema
    from services import municipalities

    with tempfile.TemporaryDirectory(prefix=f"bench-dashboard-{n}-") as tmp:
        os.environ["FORLOEB_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["FORLOEB_DATABASE_URL"] = f"sqlite:///{tmp}/app.db"
        get_settings.cache_clear()
        schema.create_tables()
        municipalities.seed_municipalities(KOMMUNER_CSV)
        started = time.perf_counter()
        course_ids = _fill(n)
        print(f"  {n:>6} courses filled in {time.perf_counter() - started:.1f} s", flush=True)

        from dashboard.app import create_app
        from models.tables import UserRole
        from services.accounts import create_user

        create_user("bench", "Bench Admin", UserRole.ADMIN, "bench-password-123", actor="bench")
        client = TestClient(create_app(), base_url="http://testserver")
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        client.post(
            "/login",
            data={"username": "bench", "password": "bench-password-123", "csrf_token": token.group(1)},
        )
        results = []
        for label, path in PAGES.items():
            timings = []
            for i in range(requests + 5):
                url = path.format(course=course_ids[i % len(course_ids)])
                ms = _server_ms(client.get(url))
                if i >= 5:  # warm-up: template compile, SQLite page cache
                    timings.append(ms)
            results.append((label, statistics.median(timings), _percentile(timings, 0.95)))
        client.close()
        db.get_engine().dispose()
        get_settings.cache_clear()
        return results


# --- concurrent: the overview while form posts wait on a slow mail server -----------------------

RESULTS = ROOT / "bench" / "RESULTS-dashboard.md"
LOAD_MARKER = "\n## Under load"
"""Sections from here on are appended by `--concurrent` runs; a sizes run keeps them."""
CONCURRENT_TARGET_P95_MS = 100.0
PASSWORD = "bench-password-123"


class SlowMailbox:
    """An SMTP handler that accepts each message only after `delay` seconds (a slow mail server)."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.entered = 0
        self.accepted = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        import asyncio

        self.entered += 1
        await asyncio.sleep(self.delay)
        self.accepted += 1
        return "250 OK"


def _failed_notifications(count: int, course_ids: int) -> list[int]:
    """`count` outbox rows that failed earlier: each "Send igen" of one sends a mail."""
    from core.db import session_scope
    from models.tables import Notification, NotificationStatus

    ids = []
    with session_scope() as session:
        for i in range(1, count + 1):
            row = Notification(
                course_id=1 + i % course_ids,
                purpose="påmindelse",
                recipient=f"kontakt{i}@kommune.example",
                idempotency_key=f"bench-{i}",
                subject="Påmindelse om møde",
                body_text="Hej",
                status=NotificationStatus.FAILED,
                attempts=3,
                last_error="Connection refused",
            )
            session.add(row)
            session.flush()
            assert row.id is not None
            ids.append(row.id)
    return ids


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _summary(samples: list[float]) -> dict[str, float]:
    if not samples:
        return {"n": 0, "p50": float("nan"), "p95": float("nan"), "max": float("nan")}
    return {
        "n": len(samples),
        "p50": statistics.median(samples),
        "p95": _percentile(samples, 0.95),
        "max": max(samples),
    }


async def _logged_in(base: str) -> Any:
    """An httpx client with its own dashboard session; `.csrf` holds the session's form token."""
    import httpx

    client = httpx.AsyncClient(base_url=base, timeout=300, follow_redirects=False)
    page = await client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token, "no CSRF token on /login"
    login = await client.post(
        "/login", data={"username": "bench", "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert login.status_code == 303, f"login failed: {login.status_code}"
    overview = await client.get("/oversigt")  # a fresh session: its CSRF token, and a warm-up
    token = re.search(r'name="csrf_token" value="([^"]+)"', overview.text)
    assert overview.status_code == 200 and token
    client.csrf = token.group(1)  # type: ignore[attr-defined]
    return client


async def _load(
    base: str, args: argparse.Namespace, mailbox: SlowMailbox, posts: list[int], busy: bool
) -> dict[str, Any]:
    """Readers load /oversigt for `duration` seconds, pausing a random time between loads (mean
    `think` s, exponential: people do not click in step); with `busy`, posters keep pressing
    "Send igen" meanwhile, each send held `smtp_delay` s by the mail server."""
    import asyncio

    readers = [await _logged_in(base) for _ in range(args.readers)]
    posters = [await _logged_in(base) for _ in range(args.posters)] if busy else []
    overview: list[float] = []
    post_ms: list[float] = []
    next_post = iter(posts)
    stop = asyncio.Event()

    async def post_loop(client: Any) -> None:
        while not stop.is_set():
            notification_id = next(next_post)
            started = time.perf_counter()
            response = await client.post(
                f"/notifikationer/{notification_id}/send-igen", data={"csrf_token": client.csrf}
            )
            if response.status_code != 303:
                raise SystemExit(f"send again answered {response.status_code}: {response.text[:300]}")
            post_ms.append((time.perf_counter() - started) * 1000)

    async def read_loop(client: Any, deadline: float, rng: random.Random) -> None:
        await asyncio.sleep(rng.uniform(0, args.think))
        while time.monotonic() < deadline:
            started = time.perf_counter()
            response = await client.get("/oversigt")
            if response.status_code != 200:
                raise SystemExit(f"overview answered {response.status_code}")
            overview.append((time.perf_counter() - started) * 1000)
            await asyncio.sleep(rng.expovariate(1 / args.think) if args.think > 0 else 0)

    post_tasks = [asyncio.create_task(post_loop(c)) for c in posters]
    if busy:
        while mailbox.entered < 1:  # the first send is at the mail server
            await asyncio.sleep(0.01)
    started = time.monotonic()
    deadline = started + args.duration
    await asyncio.gather(*(read_loop(c, deadline, random.Random(i)) for i, c in enumerate(readers)))
    reading = time.monotonic() - started
    stop.set()
    await asyncio.gather(*post_tasks)
    for c in readers + posters:
        await c.aclose()
    return {
        "overview": _summary(overview),
        "overview_per_s": len(overview) / reading,
        "posts": _summary(post_ms),
    }


def run_concurrent_one(args: argparse.Namespace) -> dict[str, Any]:
    """One tree (this process imports it via --tree): fill a DB, serve it with uvicorn in a child
    process, measure idle and under load."""
    import asyncio
    import json
    import subprocess

    import httpx
    from aiosmtpd.controller import Controller

    from core import db
    from core.settings import get_settings
    from models import schema
    from models.tables import UserRole
    from services import municipalities
    from services.accounts import create_user

    mailbox = SlowMailbox(args.smtp_delay)
    smtp_port = _free_port()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-load-") as tmp:
        env = {
            **os.environ,
            "FORLOEB_DATA_DIR": str(Path(tmp) / "data"),
            "FORLOEB_DATABASE_URL": f"sqlite:///{tmp}/app.db",
            "FORLOEB_SMTP_URL": f"mailto://127.0.0.1:{smtp_port}?from=forloeb@localhost",
            "FORLOEB_COOKIE_SECURE": "0",
            "PYTHONPATH": str(TREE),
        }
        os.environ.update(env)
        get_settings.cache_clear()
        schema.create_tables()
        municipalities.seed_municipalities(KOMMUNER_CSV)
        _fill(args.courses)
        posts = _failed_notifications(2000, args.courses)
        create_user("bench", "Bench Admin", UserRole.ADMIN, PASSWORD, actor="bench")
        db.get_engine().dispose()
        port = _free_port()
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "dashboard.app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=TREE,
            env=env,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.1)
            else:
                raise SystemExit("the dashboard did not start")
            idle = asyncio.run(_load(base, args, mailbox, posts, busy=False))
            loaded = asyncio.run(_load(base, args, mailbox, posts, busy=True))
        finally:
            server.terminate()
            server.wait(timeout=30)
            smtp.stop()
    result = {"idle": idle, "load": loaded, "mails_accepted": mailbox.accepted}
    if args.json_out:
        Path(args.json_out).write_text(json.dumps(result), encoding="utf-8")
    return result


def _git(*argv: str) -> str:
    import subprocess

    return subprocess.run(["git", "-C", str(ROOT), *argv], check=True, capture_output=True, text=True).stdout


def run_concurrent(args: argparse.Namespace) -> None:
    """This tree (or --new) and --against (a temporary worktree), each in a process of its own."""
    import json
    import subprocess

    results: list[tuple[str, dict[str, Any]]] = []
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-trees-") as tmp:
        old_tree = Path(tmp) / "old"
        _git("worktree", "add", "--detach", str(old_tree), args.against)
        new_tree = Path(args.new).resolve() if args.new else ROOT
        new_rev = _git("-C", str(new_tree), "rev-parse", "--short", "HEAD").strip()
        dirty = " + uncommitted changes" if _git("-C", str(new_tree), "status", "--porcelain").strip() else ""
        trees = [
            (f"before: {args.against} (async handlers)", old_tree),
            (f"now: {new_rev}{dirty}", new_tree),
        ]
        try:
            for label, tree in trees:
                print(f"  {label}: {args.courses:,} courses ...", flush=True)
                out = Path(tmp) / f"{len(results)}.json"
                command = [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--concurrent-one",
                    "--tree",
                    str(tree),
                    "--json-out",
                    str(out),
                    "--courses",
                    str(args.courses),
                    "--readers",
                    str(args.readers),
                    "--posters",
                    str(args.posters),
                    "--duration",
                    str(args.duration),
                    "--think",
                    str(args.think),
                    "--smtp-delay",
                    str(args.smtp_delay),
                ]
                subprocess.run(command, check=True, cwd=tree)
                results.append((label, json.loads(out.read_text(encoding="utf-8"))))
        finally:
            _git("worktree", "remove", "--force", str(old_tree))
    header = (
        "| code | overview, idle p50 / p95 ms | overview under load p50 / p95 / max ms | overviews/s "
        "under load | send again p50 ms (n) | target p95 ≤ 100 ms |\n|---|---:|---:|---:|---:|---|"
    )
    lines = []
    for label, r in results:
        idle, load, posts = r["idle"]["overview"], r["load"]["overview"], r["load"]["posts"]
        ok = "✓" if load["p95"] <= CONCURRENT_TARGET_P95_MS else "✗"
        lines.append(
            f"| {label} | {idle['p50']:.0f} / {idle['p95']:.0f} "
            f"| {load['p50']:.0f} / {load['p95']:.0f} / {load['max']:.0f} "
            f"| {r['load']['overview_per_s']:.1f} | {posts['p50']:.0f} ({posts['n']}) | {ok} |"
        )
    table = header + "\n" + "\n".join(lines)
    print(table)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite"
    title = f'the overview while "Send igen" waits on a slow mail server ({date.today().isoformat()})'
    pause = (
        f"pausing {args.think:g} s on average between loads (exponential, so they do not click in step)"
        if args.think > 0
        else "with no pause between loads (the server saturated)"
    )
    command = f"python bench/dashboard.py --concurrent --against {args.against}"
    if args.think != 0.5 or args.duration != 30:
        command += f" --think {args.think:g} --duration {args.duration:g}"
    text = (
        f"`{command}` on {machine}. A real uvicorn server (one process, as `make run` starts it) "
        f"over HTTP on {args.courses:,} courses; {args.readers} httpx clients, each logged in, load "
        f"`/oversigt` for {args.duration:g} s, {pause}: first idle, then while {args.posters} other "
        'clients keep pressing "Send igen" on failed notifications, a form POST whose handler sends '
        "the mail synchronously (notifications.outbox -> Apprise SMTP) to an aiosmtpd server that "
        f"accepts each message only after {args.smtp_delay:g} s. Latency is measured by the clients "
        '(wall clock, request to full response). "before" is that commit checked out into a '
        "temporary git worktree and served the same way. The bench and the server share the "
        "machine's cores with whatever else runs."
    )
    section = f"{LOAD_MARKER}: {title}\n\n{textwrap.fill(text, 100)}\n\n{table}\n"
    existing = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Dashboard benchmark\n"
    RESULTS.write_text(existing.rstrip("\n") + "\n" + section, encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--requests", type=int, default=40)
    parser.add_argument("--concurrent", action="store_true", help="overview under slow-mail form posts")
    parser.add_argument("--against", default="d2cb0b0", help="the older commit to compare with")
    parser.add_argument("--new", help="the checkout to measure as 'now' (default: this one)")
    parser.add_argument("--tree", help="import the dashboard from this checkout")
    parser.add_argument("--courses", type=int, default=1000)
    parser.add_argument("--readers", type=int, default=20)
    parser.add_argument("--posters", type=int, default=4)
    parser.add_argument("--duration", type=float, default=30.0)
    parser.add_argument("--think", type=float, default=0.5)
    parser.add_argument("--smtp-delay", type=float, default=5.0)
    parser.add_argument("--concurrent-one", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--json-out", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.concurrent_one:
        run_concurrent_one(args)
        return
    if args.concurrent:
        run_concurrent(args)
        return
    rows = []
    for n in args.sizes:
        for label, p50, p95 in run_size(n, args.requests):
            rows.append((n, label, p50, p95))
    header = "| courses | page | p50 ms | p95 ms | target p95 |\n|---:|---|---:|---:|---|"
    lines = []
    for n, label, p50, p95 in rows:
        target = ""
        if label == "oversigt" and n in TARGETS:
            target = f"≤ {TARGETS[n]:.0f} ms {'✓' if p95 <= TARGETS[n] else '✗'}"
        lines.append(f"| {n:,} | {label} | {p50:.1f} | {p95:.1f} | {target} |")
    table = header + "\n" + "\n".join(lines)
    print(table)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite"
    text = REPORT.format(day=date.today().isoformat(), machine=machine, requests=args.requests, table=table)
    # The sections appended by --concurrent runs stay.
    existing = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    kept = existing[existing.index(LOAD_MARKER) :] if LOAD_MARKER in existing else ""
    RESULTS.write_text(text.rstrip("\n") + "\n" + kept, encoding="utf-8")


if __name__ == "__main__":
    main()
