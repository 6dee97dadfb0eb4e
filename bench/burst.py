"""Burst benchmark: 200 waiting courses, 200 completions fired 20 at a time.

    uv run --frozen python bench/burst.py [--courses 200] [--wave 20] [--db sqlite|postgresql|both]
        [--configs ours-1,ours-2,stock] [--max-minutes-per-config 12]

Per database (Prefect server and app database both on SQLite in a temp dir, or both on fresh
PostgreSQL databases on 127.0.0.1:5432; each database in its own process) and per configuration:
start the configuration's runner processes, start N courses and wait until each has its first task
(for stock `serve` the warm runner does this part, then `serve` takes over), then complete every
course's task: 20 `services.courses.complete_task` calls at once (threads), the next 20 as soon as
those calls have returned, until all N are fired. Measured:

- per completion: the `complete_task` call started -> the course's next HumanTask row `created_at`
  (p50 / p95 / max), and the call itself;
- all done: the first call started -> the last course's next task row;
- where a resume's time went (p50), from each run's Prefect state history.

After a configuration, its courses are marked cancelled in the app database, so the next one starts
with N active courses too (the lead runner's repair loop looks at every active course).
Configurations: `ours-1` / `ours-2` = 1 / 2 warm runners (`python -m deployments.runner`);
`ours-2-poll` = 2 warm runners without the events wake-up (`FORLOEB_RUNNER_WAKE=poll`); `stock` =
`python -m deployments.serve` (Prefect's `serve`: poll every 10 s, 5 processes at a time).
Prints a table per database and writes bench/RESULTS-burst.md. A benchmark, not a test.
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
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: `python bench/burst.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness
from bench.harness import ROOT, fmt_s, pct

RESULTS = ROOT / "bench" / "RESULTS-burst.md"
PROGRAMME = "minoritetsetniske"
ANSWER_BASE = date(2026, 3, 2)


@dataclass(frozen=True)
class Config:
    key: str
    title: str
    runners: int
    module: str = "deployments.runner"
    env: dict[str, str] = field(default_factory=dict)


CONFIGS = {
    "ours-1": Config("ours-1", "1 warm runner", 1),
    "ours-2": Config("ours-2", "2 warm runners", 2),
    "ours-1-poll": Config("ours-1-poll", "1 warm runner, poll only", 1, env={"FORLOEB_RUNNER_WAKE": "poll"}),
    "ours-2-poll": Config("ours-2-poll", "2 warm runners, poll only", 2, env={"FORLOEB_RUNNER_WAKE": "poll"}),
    "stock": Config("stock", "stock `serve`", 1, module="deployments.serve"),
}


@dataclass
class Sample:
    course_id: int
    flow_run_id: str
    task_id: int
    started: datetime
    call_seconds: float = 0.0
    task_created: datetime | None = None
    kind: str = "resume"

    @property
    def seconds(self) -> float | None:
        return None if self.task_created is None else (self.task_created - self.started).total_seconds()


@dataclass
class Outcome:
    config: str
    samples: list[Sample] = field(default_factory=list)
    prepare_seconds: float = 0.0
    all_done: float | None = None
    breakdown: dict[str, list[float]] = field(default_factory=dict)
    note: str = ""
    load_start: str = ""
    load_end: str = ""
    cpu: dict[str, float] = field(default_factory=dict)
    """CPU seconds per part from the first completion to the last next task."""

    def latencies(self) -> list[float]:
        return [s.seconds for s in self.samples if s.seconds is not None]

    def to_json(self) -> dict[str, Any]:
        lat = self.latencies()
        calls = [s.call_seconds for s in self.samples]
        return {
            "config": self.config,
            "n": len(self.samples),
            "done": len(lat),
            "p50": pct(lat, 0.5),
            "p95": pct(lat, 0.95),
            "max": max(lat) if lat else None,
            "all_done": self.all_done,
            "call_p50": pct(calls, 0.5),
            "call_p95": pct(calls, 0.95),
            "breakdown": {k: [pct(v, 0.5), pct(v, 0.95)] for k, v in self.breakdown.items()},
            "prepare_seconds": self.prepare_seconds,
            "note": self.note,
            "load_start": self.load_start,
            "load_end": self.load_end,
            "cpu": self.cpu,
        }


def _start_runners(config: Config, env: dict[str, str], tmp: Path, module: str | None = None) -> list[Any]:
    started = []
    count = config.runners if module is None else 1
    for number in range(count):
        log = tmp / f"{config.key}-{module or config.module}-{number}.log"
        service = harness.runner(env, log, module or config.module, config.env)
        service.start()
        started.append(service)
    return started


def _wait_first_tasks(course_ids: list[int], timeout: float) -> None:
    harness.wait_for(
        lambda: len(harness.new_tasks(course_ids, set())) == len(course_ids), timeout, "first tasks", 0.5
    )


def _cancel(course_ids: list[int]) -> None:
    from sqlmodel import col, update

    from core.db import session_scope
    from models.tables import Course, CourseStatus

    with session_scope() as session:
        session.execute(
            update(Course).where(col(Course.id).in_(course_ids)).values(status=CourseStatus.CANCELLED)
        )


def _kinds(task_ids: list[int]) -> dict[int, str]:
    from sqlmodel import col, select

    from core.db import session_scope
    from models.tables import HumanTask

    with session_scope() as session:
        rows = session.exec(select(HumanTask.id, HumanTask.kind).where(col(HumanTask.id).in_(task_ids)))
        return {task_id: kind for task_id, kind in rows if task_id is not None}


def _cpu(server: harness.PrefectServer, runners: list[Any]) -> dict[str, float]:
    own = os.times()
    return {
        "Prefect server": harness.cpu_seconds(pgid=server.process.pid) if server.process else 0.0,
        "runners": sum(harness.cpu_seconds(pgid=r.process.pid) for r in runners if r.process),
        "PostgreSQL (all)": harness.cpu_seconds(comm="postgres"),
        "bench (complete_task)": own.user + own.system,
    }


def run_config(
    config: Config,
    server: harness.PrefectServer,
    tmp: Path,
    names: list[str],
    wave: int,
    budget: float,
) -> Outcome:
    from models.examples import sample_answer
    from services import courses

    outcome = Outcome(config.key, load_start=harness.load())
    deadline = time.monotonic() + budget
    stock = config.module != "deployments.runner"
    prepared = time.monotonic()
    # The courses' first runs: by this configuration's runners, or by one warm runner for `serve`.
    env = server.env
    runners = _start_runners(config, env, tmp, "deployments.runner" if stock else None)
    try:
        runs: dict[int, str] = {}
        # Started `wave` at a time, each wave waiting for its first tasks: a storm of 200 new runs
        # is not what is measured here (on SQLite it makes the Prefect server answer "database
        # is locked" for minutes).
        for start in range(0, len(names), wave):
            made = []
            for name in names[start : start + wave]:
                course = courses.start_course(name, PROGRAMME, "Bench Konsulent", actor="bench")
                assert course.id is not None and course.flow_run_id
                runs[course.id] = course.flow_run_id
                made.append(course.id)
            _wait_first_tasks(made, max(60.0, deadline - time.monotonic()))
        ids = list(runs)
        outcome.prepare_seconds = time.monotonic() - prepared
        print(f"[{config.key}] {len(ids)} courses waiting ({outcome.prepare_seconds:.0f} s)", flush=True)
        if stock:
            for service in runners:
                service.stop(grace=60)
            runners = _start_runners(config, env, tmp)
        known = harness.all_task_ids()
        cpu_before = _cpu(server, runners)
        firsts = harness.new_tasks(ids, set())
        samples: list[Sample] = []

        kinds = _kinds([task_id for task_id, _ in firsts.values()])

        def fire(course_id: int) -> Sample:
            task_id = firsts[course_id][0]
            t0, call = harness.complete(task_id, sample_answer(kinds[task_id], ANSWER_BASE))
            return Sample(course_id, runs[course_id], task_id, t0, call)

        with ThreadPoolExecutor(max_workers=wave) as pool:
            for start in range(0, len(ids), wave):
                samples += list(pool.map(fire, ids[start : start + wave]))
        outcome.samples = samples
        print(f"[{config.key}] {len(samples)} completions fired", flush=True)
        pending = {s.course_id: s for s in samples}
        while pending and time.monotonic() < deadline:
            for course_id, (_, created) in harness.new_tasks(list(pending), known).items():
                pending.pop(course_id).task_created = created
            if pending:
                time.sleep(0.2)
        if pending:
            outcome.note = f"{len(pending)} course(s) without their next task when the time budget ended"
        else:
            first = min(s.started for s in samples)
            outcome.all_done = max((s.task_created or first) - first for s in samples).total_seconds()
        cpu_after = _cpu(server, runners)
        outcome.cpu = {k: cpu_after[k] - cpu_before[k] for k in cpu_after}
        outcome.breakdown = harness.breakdown(samples)
        outcome.load_end = harness.load()
        _cancel(ids)
    finally:
        for service in runners:
            service.stop(grace=60)
    lat = outcome.latencies()
    print(
        f"[{config.key}] p50 {fmt_s(pct(lat, 0.5))}, p95 {fmt_s(pct(lat, 0.95))}, "
        f"all done {fmt_s(outcome.all_done)} {outcome.note}; CPU s "
        + ", ".join(f"{k} {v:.0f}" for k, v in outcome.cpu.items()),
        flush=True,
    )
    return outcome


def one_database(db: str, args: argparse.Namespace) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix=f"forloeb-burst-{db}-"))
    databases = harness.Databases(db, tmp)
    smtp = harness.SmtpSink()
    configs = [CONFIGS[key] for key in args.configs]
    results: list[dict[str, Any]] = []
    load_start = harness.load()
    started = time.monotonic()
    try:
        server = harness.PrefectServer(tmp, databases)
        print(f"[{db}] Prefect server up after {server.start():.1f} s", flush=True)
        smtp.start()
        server.env["FORLOEB_SMTP_URL"] = smtp.url
        harness.use_env(server.env)
        os.environ["FORLOEB_SMTP_URL"] = smtp.url
        needed = args.courses * len(configs)
        harness.prepare_app_db(extra_municipalities=max(0, needed - 98))
        from services import municipalities

        names = [m.name for m in municipalities.list_municipalities()]
        for number, config in enumerate(configs):
            mine = names[number * args.courses : (number + 1) * args.courses]
            try:
                minutes = args.max_minutes_per_config
                outcome = run_config(config, server, tmp, mine, args.wave, minutes * 60)
                results.append(outcome.to_json())
            except (RuntimeError, TimeoutError) as exc:
                print(f"[{config.key}] failed: {exc}", flush=True)
                results.append({"config": config.key, "note": f"failed: {exc}"})
    finally:
        harness.stop_all()
        smtp.stop()
        from core import db as app_db

        app_db.get_engine().dispose()
        databases.drop()
        if args.keep_tmp:
            print(f"Kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return {
        "db": db,
        "results": results,
        "load_start": load_start,
        "load_end": harness.load(),
        "seconds": time.monotonic() - started,
    }


# --- the table ----------------------------------------------------------------------------------


def _table(per_db: list[dict[str, Any]]) -> tuple[list[str], list[list[str]]]:
    header = [
        "database",
        "configuration",
        "per completion p50",
        "p95",
        "max",
        "all done",
        "complete_task call p50 / p95",
        "resumed → Pending p50",
        "Pending → Running p50",
        "Running → task row p50",
        "CPU s: server / runners / PostgreSQL / bench",
        "load (start → end)",
    ]
    rows = []
    for db in per_db:
        for r in db["results"]:
            if "p50" not in r:
                rows.append([_db(db["db"]), CONFIGS[r["config"]].title, r.get("note", ""), *[""] * 9])
                continue
            parts = r["breakdown"]
            rows.append(
                [
                    _db(db["db"]),
                    CONFIGS[r["config"]].title,
                    fmt_s(r["p50"]),
                    fmt_s(r["p95"]),
                    fmt_s(r["max"]),
                    fmt_s(r["all_done"]) + (f" ({r['note']})" if r["note"] else ""),
                    f"{fmt_s(r['call_p50'])} / {fmt_s(r['call_p95'])}",
                    *[fmt_s((parts.get(k) or [None])[0]) for k in harness.BREAKDOWN[1:]],
                    " / ".join(f"{v:.0f}" for v in r["cpu"].values()),
                    f"{r['load_start']} → {r['load_end']}",
                ]
            )
    return header, rows


def _db(name: str) -> str:
    return "PostgreSQL" if name == "postgresql" else "SQLite"


def _markdown(header: list[str], rows: list[list[str]], args: argparse.Namespace, per_db: list[Any]) -> str:
    seconds = sum(d["seconds"] for d in per_db)
    return "\n".join(
        [
            "# Burst: 200 waiting courses, 200 completions fired 20 at a time",
            "",
            f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'}: "
            f"{os.cpu_count()} cores (other work shares the machine; load averages per row), Python "
            f"{platform.python_version()}. {args.courses} courses per configuration, completions fired "
            f"{args.wave} at a time (the next {args.wave} when those calls returned); "
            f"total {seconds / 60:.0f} min.",
            "",
            *harness.markdown_table(header, rows),
            "",
            "Measured by `bench/burst.py`: per completion = the `services.courses.complete_task` call "
            "started → the course's next HumanTask row `created_at`; all done = the first call → the last "
            "next task. Breakdown columns (p50) from each run's Prefect state history. Targets (2 cores): "
            "PostgreSQL with 2 runners p95 ≤ 5 s and all done ≤ 60 s.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--courses", type=int, default=200)
    parser.add_argument("--wave", type=int, default=20, help="completions fired at a time")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument(
        "--configs", default="ours-1,ours-2,stock", help=f"comma-separated: {', '.join(CONFIGS)}"
    )
    parser.add_argument("--max-minutes-per-config", type=float, default=12.0)
    parser.add_argument("--keep-tmp", action="store_true")
    parser.add_argument("--no-write", action="store_true", help=f"do not write {RESULTS.name}")
    parser.add_argument("--save-json", type=Path, help="also keep the results as JSON (for --merge-json)")
    parser.add_argument(
        "--merge-json", type=Path, action="append", default=[], help="add the results of an earlier run"
    )
    parser.add_argument("--json-out", type=Path, help=argparse.SUPPRESS)  # one database, in a child process
    args = parser.parse_args(argv)
    args.configs = [c for c in args.configs.split(",") if c]
    if unknown := set(args.configs) - set(CONFIGS):
        parser.error(f"unknown configuration(s): {', '.join(sorted(unknown))}")

    def on_sigterm(_signum: int, _frame: object) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, on_sigterm)
    if args.json_out is not None:
        args.json_out.write_text(json.dumps(one_database(args.db, args), default=str), encoding="utf-8")
        return 0
    dbs = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    child_argv = [a for a in (argv if argv is not None else sys.argv[1:])]
    per_db = harness.per_database(Path(__file__), child_argv, dbs)
    if args.save_json:
        args.save_json.write_text(json.dumps(per_db, default=str), encoding="utf-8")
    for earlier in args.merge_json:  # results of an earlier run (another database), shown first
        per_db = [*json.loads(earlier.read_text(encoding="utf-8")), *per_db]
    if not per_db:
        return 1
    header, rows = _table(per_db)
    harness.print_table("Burst: per completion → next task", header, rows)
    if not args.no_write:
        RESULTS.write_text(_markdown(header, rows, args, per_db), encoding="utf-8")
        print(f"Wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
