"""Dashboard benchmark: server time of the overview and a course page at 100 / 1,000 / 10,000 courses.

Fills a fresh SQLite app DB per size (courses with their 11 stage rows, tasks, meetings and audit
events), then asks the real app (in-process, logged in) for pages and reads the server's own
`Server-Timing` header. Prints a table and writes bench/RESULTS-dashboard.md.

    uv run --frozen python bench/dashboard.py [--sizes 100 1000 10000] [--requests 40]
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
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

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
        since = datetime.combine(plan[reached - 1][2], datetime.min.time(), UTC)
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
        for pos, (key, name, p_start, p_end) in enumerate(plan, 1):
            done = pos < reached or status == CourseStatus.COMPLETED
            active = pos == reached and not done
            a_start = datetime.combine(p_start + timedelta(days=rng.randint(0, 5)), datetime.min.time(), UTC)
            stages.append(
                {
                    "course_id": i,
                    "stage_key": key,
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
        municipalities.seed_municipalities(ROOT / "data" / "kommuner.csv")
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000, 10000])
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
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
    (ROOT / "bench" / "RESULTS-dashboard.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
