"""API authentication benchmark (issue 14): what one JSON API request costs with an API token
(`Authorization: Bearer`, SHA-256 + one indexed read) against HTTP Basic (argon2).

A fresh SQLite app DB with 100 courses (bench/dashboard.py's generator); the real app in-process;
`--requests` GET /api/courses?page_size=20 per way, after 5 warm-up requests, taking turns so that
other work on the machine hits all alike. Three ways:

- token: a personal API token with scope `read`;
- Basic, cached: HTTP Basic as the dashboard does it since issue 14's login work (argon2 once a
  minute per username and password, an HMAC-keyed cache in between): a script's steady state;
- Basic, argon2 every request: the cache emptied before each request, what every request cost
  before that cache and what each new client or password still costs.

Reports the server time (`Server-Timing`, the whole app: middleware, auth, query, JSON) and the
client's wall time, p50 and p95, and writes bench/RESULTS-api_auth.md.

    uv run --frozen python bench/api_auth.py [--courses 100] [--requests 200]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
RESULTS = ROOT / "bench" / "RESULTS-api_auth.md"
PASSWORD = "bench-password-123"


def _dashboard_bench():  # type: ignore[no-untyped-def]
    """bench/dashboard.py (its course generator and percentile), loaded by path: its module name
    would be the app package's."""
    spec = importlib.util.spec_from_file_location("bench_dashboard", ROOT / "bench" / "dashboard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(courses: int, requests: int) -> dict[str, tuple[list[float], list[float]]]:
    from fastapi.testclient import TestClient

    from core.settings import get_settings
    from models import schema
    from services import municipalities

    with tempfile.TemporaryDirectory(prefix="bench-api-auth-") as tmp:
        os.environ["FORLOEB_DATA_DIR"] = str(Path(tmp) / "data")
        os.environ["FORLOEB_DATABASE_URL"] = f"sqlite:///{tmp}/app.db"
        get_settings.cache_clear()
        schema.create_tables()
        municipalities.seed_municipalities(ROOT / "data" / "kommuner.csv")
        _dashboard_bench()._fill(courses)

        from dashboard import deps
        from dashboard.app import create_app
        from models.tables import UserRole
        from services import api_tokens
        from services.accounts import create_user

        create_user("bench", "Bench Konsulent", UserRole.CONSULTANT, PASSWORD, actor="bench")
        _row, secret = api_tokens.create_token(
            owner="bench", name="bench", scopes=["read"], expires_days=None, actor="bench"
        )
        app = create_app()
        token = TestClient(app, base_url="http://testserver", headers={"Authorization": f"Bearer {secret}"})
        basic = TestClient(app, base_url="http://testserver")
        basic.auth = ("bench", PASSWORD)

        ways = {
            "token": (token, False),
            "Basic, cached": (basic, False),
            "Basic, argon2 every request": (basic, True),
        }
        timings: dict[str, tuple[list[float], list[float]]] = {name: ([], []) for name in ways}
        for i in range(requests + 5):
            for name, (client, cold) in ways.items():
                if cold:
                    deps._basic_cache.clear()
                started = time.perf_counter()
                response = client.get("/api/courses?page_size=20")
                wall = (time.perf_counter() - started) * 1000
                assert response.status_code == 200, response.text
                server = float(response.headers["server-timing"].split("dur=")[1])
                if i >= 5:
                    timings[name][0].append(server)
                    timings[name][1].append(wall)
        get_settings.cache_clear()
        return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--courses", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()
    timings = run(args.courses, args.requests)
    percentile = _dashboard_bench()._percentile
    lines = [
        "# API authentication benchmark",
        "",
        f"Run {date.today()} with `python bench/api_auth.py --courses {args.courses} --requests "
        f"{args.requests}` on {platform.machine()} ({os.cpu_count()} cores, load "
        f"{os.getloadavg()[0]:.1f} at the end), SQLite, in-process. GET /api/courses?page_size=20, "
        f"{args.requests} requests per way after 5 warm-up requests, the ways taking turns.",
        "",
        "| way | server p50 ms | server p95 ms | client p50 ms | client p95 ms |",
        "|---|---:|---:|---:|---:|",
    ]
    for name, (server, wall) in timings.items():
        lines.append(
            f"| {name} | {statistics.median(server):.1f} | {percentile(server, 0.95):.1f} "
            f"| {statistics.median(wall):.1f} | {percentile(wall, 0.95):.1f} |"
        )
    report = "\n".join(lines) + "\n"
    print(report)
    RESULTS.write_text(report, encoding="utf-8")


if __name__ == "__main__":
    main()
