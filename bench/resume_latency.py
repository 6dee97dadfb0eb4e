"""Benchmark: how long until a course reaches its next human task, stock `serve` vs the warm runner.

    uv run --frozen python bench/resume_latency.py [--courses 5] [--completions 3]
    uv run --frozen python bench/resume_latency.py --programme minoritetsetniske,inddragelse

Starts its own Prefect server (SQLite, PREFECT_HOME in a temp dir, a free 127.0.0.1 port) and a
temp app database seeded with the municipalities, then for each configuration starts the runner
process, starts N courses (different municipalities) and completes a few tasks per course:

- create -> first task: `courses.start_course` called -> first HumanTask row's `created_at`;
- resume -> next task:  `courses.complete_task` called -> the next HumanTask row's `created_at`.

`--programme` picks the programme(s) (default minoritetsetniske, one track). A programme with
parallel tracks (inddragelse: the main track and Børns Vilkår's competence track after the plan)
is first driven, untimed, until every track has an open task; then completions are timed while all
tracks are active, taking each track's task in turn (the run waits on all of them at once and a
completion in any track resumes it). Each programme gets its own rows in the table.

One course is in flight at a time (action, wait for its task row, a random pause so the next action
lands at another point of the runner's poll cycle): latency, not throughput under a burst.
Prints p50/p95 per configuration and writes the same table to bench/RESULTS-resume_latency.md.
Bounded by `--max-minutes`; every process it started is stopped on exit or Ctrl-C.
This is a benchmark, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: `python bench/resume_latency.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench import harness
from bench.harness import fmt_s, pct

ANSWER_BASE = date(2026, 3, 2)
ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS-resume_latency.md"
PROGRAMME = "minoritetsetniske"  # the default: one track
WARMUP_TASKS = 40  # untimed completions at most, to bring a multi-track course to all tracks open
MUNICIPALITIES = [
    "Aarhus", "Odense", "Aalborg", "Esbjerg", "Randers", "Kolding", "Horsens", "Vejle", "Roskilde",
    "Herning", "Silkeborg", "Næstved", "Fredericia", "Viborg", "Køge", "Holstebro", "Slagelse",
]  # fmt: skip


PER_ACTION = 90.0  # seconds to wait for one task row before counting it as missing


@dataclass(frozen=True)
class Config:
    key: str
    title: str
    module: str
    env: dict[str, str]
    ready_marker: str


CONFIGS = {
    "stock": Config("stock", "stock serve (poll 10 s)", "deployments.serve", {}, "being served"),
    "stock-poll1": Config(
        "stock-poll1",
        "stock serve, PREFECT_RUNNER_POLL_FREQUENCY=1",
        "deployments.serve",
        {"PREFECT_RUNNER_POLL_FREQUENCY": "1"},
        "being served",
    ),
    "ours": Config(
        "ours", "warm runner (deployments.runner, events)", "deployments.runner", {}, "Runner ready"
    ),
    "ours-poll": Config(
        "ours-poll",
        "warm runner, poll only (FORLOEB_RUNNER_WAKE=poll)",
        "deployments.runner",
        {"FORLOEB_RUNNER_WAKE": "poll"},
        "Runner ready",
    ),
}


@dataclass
class Sample:
    kind: str  # "create" or "resume"
    course_id: int
    flow_run_id: str
    started: datetime
    call_seconds: float = 0.0
    task_created: datetime | None = None
    track: str = ""  # the track of the completed task (a resume of a multi-track course)

    @property
    def seconds(self) -> float | None:
        if self.task_created is None:
            return None
        return (self.task_created - self.started).total_seconds()


@dataclass
class Result:
    config: Config
    programme: str = PROGRAMME
    samples: list[Sample] = field(default_factory=list)
    breakdown: dict[str, list[float]] = field(default_factory=dict)
    note: str = ""

    def seconds(self, kind: str) -> list[float]:
        return [s.seconds for s in self.samples if s.kind == kind and s.seconds is not None]

    def missing(self, kind: str) -> int:
        return sum(1 for s in self.samples if s.kind == kind and s.seconds is None)


def _wait_for_tasks(samples: list[Sample], known: set[int], timeout: float) -> None:
    """Fill in `task_created` for each sample as its course's next task row appears."""
    deadline = time.monotonic() + timeout
    pending = {s.course_id: s for s in samples}
    while pending and time.monotonic() < deadline:
        for course_id, (_, created) in harness.new_tasks(list(pending), known).items():
            sample = pending.pop(course_id, None)
            if sample is not None:
                sample.task_created = created
        if pending:
            time.sleep(0.1)


def run_config(
    config: Config,
    env: dict[str, str],
    tmp: Path,
    municipalities: list[str],
    completions: int,
    pause: float,
    deadline: float,
    programmes: list[str] | None = None,
) -> list[Result]:
    """One runner; each municipality gets a course of each programme (one active course per
    municipality and programme), and the programmes' courses take turns, action by action."""
    from models.examples import sample_answer
    from models.programmes import latest_version
    from services import courses, read_model

    programmes = programmes or [PROGRAMME]
    definitions = {key: latest_version(key) for key in programmes}
    results = {key: Result(config, key) for key in programmes}
    programme_of: dict[int, str] = {}  # course id -> programme

    def tracks(course_id: int) -> list[str]:
        return [track.key for track in definitions[programme_of[course_id]].tracks]

    def open_tasks(course_id: int) -> list[Any]:
        rows, _total = read_model.task_inbox(course_id=course_id, limit=None)
        return [row.task for row in rows]

    def open_by_track(course_id: int) -> dict[str, Any]:
        """Each track's open task (its earliest deadline), for the tracks that have one."""
        track_of = definitions[programme_of[course_id]].track_of
        found: dict[str, Any] = {}
        for task in open_tasks(course_id):
            found.setdefault(track_of[task.stage_key].key, task)
        return found

    def tag(programme: str) -> str:
        return config.key if programme == PROGRAMME else f"{config.key} {programme}"

    log = "-".join([f"runner-{config.key}", *[key for key in programmes if key != PROGRAMME]]) + ".log"
    runner = harness.runner(env, tmp / log, config.module, config.env)
    try:
        took = runner.start()
        print(
            f"[{tag(programmes[0]) if len(programmes) == 1 else config.key}] runner ready after {took:.1f} s",
            flush=True,
        )
        rng = random.Random(len(municipalities))

        def measure(sample_of: Callable[[], Sample]) -> bool:
            """One action, then wait for its task row: one course in flight at a time."""
            if time.monotonic() + PER_ACTION > deadline:
                for result in results.values():
                    result.note = "stopped early: time budget"
                return False
            known = harness.all_task_ids()
            sample = sample_of()
            _wait_for_tasks([sample], known, PER_ACTION)
            results[programme_of[sample.course_id]].samples.append(sample)
            time.sleep(rng.uniform(0, pause))  # land at a different point of the poll cycle
            return True

        runs: dict[int, str] = {}  # course id -> flow run id

        def create(name: str, programme: str) -> Sample:
            t0 = datetime.now(UTC)
            course = courses.start_course(name, programme, "Bench Konsulent")
            assert course.id is not None and course.flow_run_id
            runs[course.id] = course.flow_run_id
            programme_of[course.id] = programme
            return Sample("create", course.id, course.flow_run_id, t0)

        def resume(course_id: int) -> Sample:
            [task] = open_tasks(course_id)
            assert task.id is not None
            t0, call = harness.complete(task.id, sample_answer(task.kind, ANSWER_BASE))
            return Sample("resume", course_id, runs[course_id], t0, call)

        def resume_track(course_id: int, track: str) -> Sample:
            task = open_by_track(course_id)[track]
            assert task.id is not None
            t0, call = harness.complete(task.id, sample_answer(task.kind, ANSWER_BASE))
            return Sample("resume", course_id, runs[course_id], t0, call, track=track)

        def all_tracks_open(course_id: int) -> bool:
            """Untimed: answer open tasks (earliest deadline first) until every track has one."""
            track_of = definitions[programme_of[course_id]].track_of
            for _ in range(WARMUP_TASKS):
                tasks = open_tasks(course_id)
                if len({track_of[t.stage_key].key for t in tasks}) == len(tracks(course_id)):
                    return True
                if not tasks or time.monotonic() + PER_ACTION > deadline:
                    return False
                task = tasks[0]
                assert task.id is not None
                known = harness.all_task_ids()
                harness.complete(task.id, sample_answer(task.kind, ANSWER_BASE))
                warm = Sample("warm-up", course_id, runs[course_id], datetime.now(UTC))
                _wait_for_tasks([warm], known, PER_ACTION)
                if warm.task_created is None:
                    return False
            return False

        def report(label: str, kind: str, since: dict[str, int]) -> None:
            for key, result in results.items():
                _report(tag(key), label, [s for s in result.samples[since[key] :] if s.kind == kind])

        def counts() -> dict[str, int]:
            return {key: len(result.samples) for key, result in results.items()}

        stop = False
        for name in municipalities:
            for programme in programmes:
                if not measure(partial(create, name, programme)):
                    stop = True
                    break
            if stop:
                break
        report("create", "create", dict.fromkeys(programmes, 0))
        for programme in programmes:
            if len(definitions[programme].tracks) == 1:
                continue
            started = time.monotonic()
            for course_id in [c for c in runs if programme_of[c] == programme]:
                if not all_tracks_open(course_id):
                    print(
                        f"[{tag(programme)}] course {course_id}: not every track open; left out", flush=True
                    )
                    del runs[course_id]
            print(
                f"[{tag(programme)}] {sum(programme_of[c] == programme for c in runs)} courses with "
                f"{len(definitions[programme].tracks)} tracks open "
                f"(untimed warm-up {time.monotonic() - started:.0f} s)",
                flush=True,
            )
        for round_no in range(1, completions + 1):
            done = counts()
            number = dict.fromkeys(programmes, -1)  # the course's number within its programme
            for course_id in list(runs):
                number[programme_of[course_id]] += 1
                keys = tracks(course_id)
                if len(keys) > 1:
                    if len(open_by_track(course_id)) != len(keys):
                        continue  # a track ended or waits on a join: no longer all tracks active
                    # each track in turn, shifted per course so every round has both tracks
                    track = keys[(round_no - 1 + number[programme_of[course_id]]) % len(keys)]
                    if not measure(partial(resume_track, course_id, track)):
                        break
                    continue
                if len(open_tasks(course_id)) != 1:
                    continue  # its last step did not arrive in time: leave this course out
                if not measure(partial(resume, course_id)):
                    break
            report(f"resume {round_no}", "resume", done)
            if any(result.note for result in results.values()):
                break
        for result in results.values():
            result.breakdown = harness.breakdown(result.samples)
    finally:
        runner.stop()
    return list(results.values())


def _report(tag: str, label: str, samples: list[Sample]) -> None:
    values = ", ".join(
        ("—" if s.seconds is None else f"{s.seconds:.2f}") + (f" ({s.track})" if s.track else "")
        for s in samples
    )
    print(f"[{tag}] {label}: {values} s", flush=True)


# --- reporting ------------------------------------------------------------------------------


def _pct(values: list[float], q: float) -> str:
    return fmt_s(pct(values, q))


def _tracks_label(programme: str) -> str:
    from models.programmes import latest_version

    count = len(latest_version(programme).tracks)
    return f"{programme} ({ {1: 'one track', 2: 'two tracks'}.get(count, f'{count} tracks') })"


def _table(results: list[Result]) -> tuple[list[str], list[list[str]]]:
    configs = list(dict.fromkeys(r.config.key for r in results))
    programmes = list(dict.fromkeys(r.programme for r in results))
    titles = {r.config.key: r.config.title for r in results}
    header = ["", *[titles[key] for key in configs]]
    rows: list[list[str]] = []
    for programme in programmes:
        # one programme, the default: the table as it always was; else rows per programme
        prefix = "" if programmes == [PROGRAMME] else f"{_tracks_label(programme)}: "
        by_config = {r.config.key: r for r in results if r.programme == programme}
        column = [by_config.get(key) for key in configs]
        rows += _rows(prefix, column)
    return header, rows


def _rows(prefix: str, results: list[Result | None]) -> list[list[str]]:
    def p50(r: Result, kind: str) -> str:
        return _pct(r.seconds(kind), 0.50)

    def p95(r: Result, kind: str) -> str:
        return _pct(r.seconds(kind), 0.95)

    def count(r: Result, kind: str) -> str:
        return f"{len(r.seconds(kind))} ({r.missing(kind)})"

    def part_p50(r: Result, part: str) -> str:
        values = r.breakdown.get(part)
        return f"{statistics.median(values):.2f} s" if values else "—"

    def cells(value: Callable[[Result, str], str], arg: str) -> list[str]:
        return [value(r, arg) if r is not None else "—" for r in results]

    rows: list[list[str]] = []
    for kind, label in (("create", "create → first task"), ("resume", "resume → next task")):
        rows.append([f"{prefix}{label} p50", *cells(p50, kind)])
        rows.append([f"{prefix}{label} p95", *cells(p95, kind)])
        rows.append([f"{prefix}{label} samples (missing)", *cells(count, kind)])
    parts = sorted({part for r in results if r is not None for part in r.breakdown})
    for part in harness.BREAKDOWN:
        if part in parts:
            rows.append([f"{prefix}resume: {part} p50", *cells(part_p50, part)])
    return rows


def _per_track(results: list[Result]) -> list[str]:
    """Notes: resume -> next task by the track of the completed task (multi-track programmes)."""
    notes = []
    for r in results:
        tracks = list(dict.fromkeys(s.track for s in r.samples if s.kind == "resume" and s.track))
        if not tracks:
            continue
        parts = []
        for track in tracks:
            values = [
                s.seconds
                for s in r.samples
                if s.kind == "resume" and s.track == track and s.seconds is not None
            ]
            parts.append(f"completing a '{track}' task p50 {_pct(values, 0.50)} ({len(values)})")
        notes.append(f"- {r.config.title}, {_tracks_label(r.programme)}: " + "; ".join(parts))
    return notes


def _markdown(header: list[str], rows: list[list[str]], meta: list[str], notes: list[str]) -> str:
    lines = ["# Resume latency: stock `serve` vs the warm runner", "", *meta, ""]
    lines.append("| " + " | ".join(header) + " |")
    lines.append("|" + "|".join("---" for _ in header) + "|")
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    if notes:
        lines += ["", *notes]
    lines += [
        "",
        "Measured by `bench/resume_latency.py`: wall clock from the `courses.start_course` / "
        "`courses.complete_task` call to the `created_at` of the course's next HumanTask row. "
        "Breakdown rows come from the flow run's Prefect state history (median).",
        "",
        "The warm runner wakes on the Prefect server's flow-run events (`FORLOEB_RUNNER_WAKE=events`, "
        "the default): resumed → Pending is the event's way to the runner plus one poll and the claim; "
        "poll only, it is the wait for the next 0.3 s poll. The course's mails go to an SMTP sink "
        "in the benchmark's process.",
        "",
    ]
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------


def _commit() -> str:
    """', commit abc1234' (+ 'with uncommitted changes' when the working tree differs from it)."""
    import subprocess

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    commit = git("rev-parse", "--short", "HEAD")
    if not commit:
        return ""
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return f", commit {commit}" + (" with uncommitted changes" if dirty else "")


def _programmes_text(programmes: list[str]) -> str:
    if programmes == [PROGRAMME]:
        return ""
    return " and programme (" + ", ".join(_tracks_label(p) for p in programmes) + ")"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--courses", type=int, default=5)
    parser.add_argument("--completions", type=int, default=2, help="task completions per course")
    parser.add_argument("--pause", type=float, default=1.0, help="random pause (0..s) between actions")
    parser.add_argument(
        "--configs",
        default="ours,stock-poll1,stock",
        help=f"comma-separated, run in order: {', '.join(CONFIGS)}",
    )
    parser.add_argument("--max-minutes", type=float, default=8.0, help="hard time budget for the whole run")
    parser.add_argument(
        "--db",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="the Prefect server's and app's database",
    )
    parser.add_argument(
        "--programme",
        default=PROGRAMME,
        help="comma-separated programme keys, each with its own rows "
        "(e.g. minoritetsetniske,inddragelse: one track beside two tracks)",
    )
    parser.add_argument(
        "--interleave",
        action="store_true",
        help="the programmes share one runner and their courses take turns (the same load for each)",
    )
    parser.add_argument("--append", action="store_true", help="add the table to the results file")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temp dir (logs, databases)")
    args = parser.parse_args(argv)
    configs = [CONFIGS[key] for key in args.configs.split(",")]
    programmes = [key.strip() for key in args.programme.split(",") if key.strip()]
    if args.courses * len(configs) > len(MUNICIPALITIES):
        parser.error(f"at most {len(MUNICIPALITIES) // len(configs)} courses per configuration")

    def on_sigterm(_signum: int, _frame: object) -> None:
        raise SystemExit(143)

    signal.signal(signal.SIGTERM, on_sigterm)
    started = time.monotonic()
    deadline = started + args.max_minutes * 60
    tmp = Path(tempfile.mkdtemp(prefix="forloeb-bench-"))
    results: list[Result] = []
    databases: harness.Databases | None = None
    smtp = harness.SmtpSink()
    load_before = os.getloadavg()
    try:
        databases = harness.Databases(args.db, tmp)
        smtp.start()  # the course's mails go somewhere (without it each send retries for ~6 s)
        with harness.prefect_server(tmp, databases) as env:
            env["FORLOEB_SMTP_URL"] = os.environ["FORLOEB_SMTP_URL"] = smtp.url
            harness.use_env(env)  # this process is the consultant
            harness.prepare_app_db()
            for number, config in enumerate(configs):
                names = MUNICIPALITIES[number * args.courses : (number + 1) * args.courses]
                # one runner per programme, one after the other; or one runner for all of them,
                # their courses taking turns (--interleave: both programmes see the same load)
                groups = [programmes] if args.interleave else [[key] for key in programmes]
                for group in groups:
                    label = " ".join([config.key, *[key for key in group if key != PROGRAMME]])
                    if time.monotonic() + 30 + PER_ACTION > deadline:
                        print(f"[{label}] skipped: time budget", flush=True)
                        continue
                    try:
                        results += run_config(
                            config, env, tmp, names, args.completions, args.pause, deadline, group
                        )
                    except (RuntimeError, TimeoutError) as exc:
                        print(f"[{label}] failed: {exc}", flush=True)
    except KeyboardInterrupt:
        print("Interrupted: stopping the processes this benchmark started", flush=True)
    finally:
        harness.stop_all()
        smtp.stop()
        if databases is not None:
            databases.drop()
        if args.keep_tmp:
            print(f"Kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    if not results:
        return 1
    header, rows = _table(results)
    harness.print_table("Resume latency (p50 / p95)", header, rows)
    meta = [
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {platform.node() or 'this machine'}: "
        f"{os.cpu_count()} cores, load average {load_before[0]:.1f} at start and {os.getloadavg()[0]:.1f} "
        f"at the end (other work shares the machine), Python "
        f"{platform.python_version()}, Prefect server and app database on "
        f"{'PostgreSQL 15' if args.db == 'postgresql' else 'SQLite'}{_commit()}.",
        f"{args.courses} courses per configuration{_programmes_text(programmes)}"
        f"{' (one runner, their courses taking turns)' if args.interleave else ''}, "
        f"{args.completions} completions per course, "
        f"one action in flight at a time, random 0-{args.pause} s pause between actions; "
        f"total {time.monotonic() - started:.0f} s.",
    ]
    notes = [f"- {r.config.title}: {r.note}" for r in results if r.note] + _per_track(results)
    text = _markdown(header, rows, meta, notes)
    if args.append and RESULTS.exists():  # another database's table under the one already there
        text = RESULTS.read_text(encoding="utf-8").rstrip() + "\n\n" + text.split("\n", 2)[2]
    RESULTS.write_text(text, encoding="utf-8")
    print(f"Wrote {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
