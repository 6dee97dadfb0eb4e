"""Nøgletal benchmark (issue 15): the KPI page's server time at 10,000 courses with a realistic
history, and the export of all 10,000 courses.

A fresh SQLite app DB is filled as bench/dashboard.py does (schema, the 98 municipalities, rows
inserted in bulk, ANALYZE), with the history of `devtools.kpi_history` (three years of courses of
every programme: stages a little early or late, a few very late, tasks done or overdue). The real
app is asked in-process, logged in; the page's time is its own `Server-Timing` header, the export's
the wall clock of the whole request. Prints a table and writes bench/RESULTS-kpi.md.

    uv run --frozen python bench/kpi.py [--courses 10000] [--requests 40]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import re
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "RESULTS-kpi.md"
PAGE_TARGET_MS = 200.0
EXPORT_TARGET_S = 5.0


def _dashboard_bench():  # type: ignore[no-untyped-def]
    """bench/dashboard.py, for its percentile and Server-Timing helpers."""
    spec = importlib.util.spec_from_file_location("bench_dashboard", ROOT / "bench" / "dashboard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(courses: int, requests: int) -> list[tuple[str, str, float, float, str]]:
    from fastapi.testclient import TestClient

    from core import db
    from core.clock import today
    from core.settings import get_settings
    from models import schema
    from services import municipalities

    helpers = _dashboard_bench()
    rows: list[tuple[str, str, float, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="bench-kpi-") as tmp:
        os.environ["FORLOEB_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["FORLOEB_DATABASE_URL"] = f"sqlite:///{tmp}/app.db"
        get_settings.cache_clear()
        schema.create_tables()
        municipalities.seed_municipalities(ROOT / "data" / "kommuner.csv")
        from devtools.kpi_history import fill_history

        started = time.perf_counter()
        active = fill_history(courses, seed=7)
        with db.get_engine().begin() as conn:
            conn.exec_driver_sql("ANALYZE")
            stages = conn.exec_driver_sql("SELECT count(*) FROM stagerun").scalar()
            tasks = conn.exec_driver_sql("SELECT count(*) FROM humantask").scalar()
        print(
            f"  {courses:,} courses ({active} active), {stages:,} stage rows, {tasks:,} tasks "
            f"filled in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        from dashboard.app import create_app
        from models.tables import UserRole
        from services.accounts import create_user

        create_user("bench", "Bench Konsulent", UserRole.CONSULTANT, "bench-password-123", actor="bench")
        client = TestClient(create_app(), base_url="http://testserver")
        token = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/login").text)
        assert token
        client.post(
            "/login",
            data={"username": "bench", "password": "bench-password-123", "csrf_token": token.group(1)},
        )
        everything = f"fra={(today() - timedelta(days=365 * 4)).isoformat()}&til={today().isoformat()}"
        pages = {
            "Nøgletal, alle programmer, seneste 12 mdr. (standard)": "/noegletal",
            "Nøgletal, ét program, seneste 12 mdr.": "/noegletal?program=minoritetsetniske",
            "Nøgletal, alle programmer, hele historikken (4 år)": f"/noegletal?{everything}",
            "GET /api/kpi, hele historikken": f"/api/kpi?from={everything[4:14]}",
        }
        from services import kpi

        for mode, seconds in (
            ("beregnet hver gang", 0.0),
            ("højst et minut gammel (cache)", kpi.CACHE_SECONDS),
        ):
            kpi.CACHE_SECONDS = seconds
            kpi._cache.clear()
            for label, path in pages.items():
                timings = []
                for i in range(requests + 5):
                    ms = helpers._server_ms(client.get(path))
                    if i >= 5:
                        timings.append(ms)
                p95 = helpers._percentile(timings, 0.95)
                target = f"≤ {PAGE_TARGET_MS:.0f} ms {'✓' if p95 <= PAGE_TARGET_MS else '✗'}"
                shown = target if "Nøgletal" in label else ""
                rows.append(("side", f"{label}, {mode}", statistics.median(timings), p95, shown))
        exports = {
            f"forløb.xlsx, alle {courses:,} forløb": f"/noegletal/forloeb.xlsx?{everything}",
            f"forløb.csv, alle {courses:,} forløb": f"/noegletal/forloeb.csv?{everything}",
            "alle.xlsx (alle tabeller og forløb)": f"/noegletal/alle.xlsx?{everything}",
        }
        for label, path in exports.items():
            seconds = []
            for _ in range(3):
                begun = time.perf_counter()
                response = client.get(path)
                seconds.append(time.perf_counter() - begun)
                assert response.status_code == 200, response.status_code
            if label.startswith("forløb.xlsx"):
                from io import BytesIO

                from openpyxl import load_workbook

                sheet = load_workbook(BytesIO(response.content), read_only=True).active
                assert sheet is not None
                filled = sum(1 for row in sheet.iter_rows(values_only=True) if row and row[0] is not None)
                assert filled >= courses + 1, f"{filled} rows in the export"
            worst = max(seconds)
            target = f"≤ {EXPORT_TARGET_S:.0f} s {'✓' if worst <= EXPORT_TARGET_S else '✗'}"
            rows.append(
                (
                    "eksport",
                    f"{label} ({len(response.content) // 1024} kB)",
                    statistics.median(seconds),
                    worst,
                    target,
                )
            )
        client.close()
        db.get_engine().dispose()
        get_settings.cache_clear()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--courses", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=40)
    args = parser.parse_args()
    rows = run(args.courses, args.requests)
    header = "| what | p50 | p95 / worst | target |\n|---|---:|---:|---|"
    lines = []
    for kind, label, mid, high, target in rows:
        if kind == "side":
            lines.append(f"| {label} | {mid:.1f} ms | {high:.1f} ms | {target} |")
        else:
            lines.append(f"| {label} | {mid:.2f} s | {high:.2f} s | {target} |")
    table = header + "\n" + "\n".join(lines)
    print(table)
    commit = os.popen(f"git -C {ROOT} rev-parse --short HEAD").read().strip()
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite"
    RESULTS.write_text(
        f"""# Nøgletal benchmark

Run {date.today().isoformat()} at {commit} with `python bench/kpi.py --courses {args.courses}` on {machine}.
A fresh app DB with {args.courses:,} courses of all three programmes over three years
(`devtools.kpi_history`: stages early, on time or late, the next stage after the one before,
completed / active (one per municipality and programme) / a few cancelled; one task per begun stage,
done or open). Pages: the app's own `Server-Timing` (queries, the three pygal charts, the template),
in-process, logged in as a consultant, {args.requests} requests per row after 5 warm-up requests;
p95 over those. Exports: wall clock of the whole request (query, rows, CSV or XLSX), 3 runs, the
worst of them as p95. Other work shared the 2 cores: read these as upper bounds.

{table}

"beregnet hver gang": the numbers computed for every request (the cache switched off); "cache":
as served, `services.kpi.cached_report` keeps a report for 60 s, so only a leader's first look in a
minute pays the computation.

The page costs a fixed number of aggregate queries whatever the number of courses: lead times come
back as a histogram (stage x days x planned days x late, a few thousand rows) and median / p90 are
computed from it, so no query returns a row per stage. Stage and task filters by period are ranges
on the stored UTC timestamps (Copenhagen day bounds), Copenhagen dates for "on time" in SQL.
""",
        encoding="utf-8",
    )


if __name__ == "__main__":
    main()
