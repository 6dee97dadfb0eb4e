"""CLI benchmark: wall clock of whole `forloeb` processes on an app database of 1,000 courses.

For this checkout, and for an older commit (`--against`, default d2cb0b0: the code before the CLI
was made fast; exported with `git archive` into a temp dir), builds a fresh SQLite app DB with that
code (the municipalities, then 1,000 courses with their stage rows, tasks, meetings and audit events
from that tree's `bench/dashboard.py` generator), then runs each command as a subprocess - what a
person waits for: interpreter start, imports, queries, drawing - once to warm up and `--runs` times
measured, the two trees taking turns so that other work on the machine hits both alike. Output goes
to a pipe, so rich draws the tables 80 columns wide (the most wrapping). Two ways Python may start:

- bytecode cached: Python's usual `__pycache__` (written by the warm-up run, kept in the temp dir
  with PYTHONPYCACHEPREFIX so the checkout stays clean): every run after the first on a machine,
  or any run after `make install` (which compiles the virtualenv and the project);
- no bytecode: PYTHONDONTWRITEBYTECODE=1 and a cache holding only the standard library's, so every
  import of a third-party or project module compiles its source at every run: this sandbox (which
  sets that variable) after a plain `uv sync`, which does not compile.

Prints min/median/p95 per command as markdown tables with the targets and writes them to
bench/RESULTS-cli.md.

    uv run --frozen python bench/cli.py [--courses 1000] [--runs 15] [--against COMMIT|none]
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "RESULTS-cli.md"

# (arguments, target in seconds or None); `{course}` is a course id of the generated database.
COMMANDS: list[tuple[list[str], float | None]] = [
    (["--help"], 0.3),
    (["kommuner"], 0.5),
    (["status"], 0.5),
    (["tasks"], 0.5),
    (["status", "{course}"], None),
    (["tasks", "--all"], None),
]
MODES = {
    "cached": "Bytecode cached (`__pycache__`: every run after the first, or after `make install`)",
    "cold": "No bytecode (PYTHONDONTWRITEBYTECODE=1, nothing compiled: every import compiles)",
}

# Run with that tree's code (cwd and PYTHONPATH): its schema, its generator.
BUILD = """
import sys
from pathlib import Path

from bench.dashboard import _fill
from core import db
from models import schema
from services import municipalities

schema.create_tables()
municipalities.seed_municipalities(Path("data") / "kommuner.csv")
_fill(int(sys.argv[1]))
db.get_engine().dispose()
"""

REPORT = """# CLI benchmark

Run {day} with `python bench/cli.py` on {machine}.
Wall clock of the whole `forloeb` process (interpreter start, imports, queries, drawing the table
into a pipe, 80 columns), on an app database of {courses:,} courses (`bench/dashboard.py`'s
generator: one active course per municipality, the rest completed or failed; 11 stage rows, tasks,
4 meetings and audit events per course); {runs} runs per command after one warm-up run, this
checkout and commit {against} taking turns. `status` prints every course ({courses:,} rows),
`tasks` every open task, `tasks --all` every task. Other work shared the 2 cores while this ran
(tests and benchmarks of other sessions): the targets are judged on the median; the p95 is an
upper bound that other processes' bursts inflate.

{tables}
Where the time went, and what changed: README, "How fast the CLI starts".
"""


def _git(*argv: str) -> str:
    return subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def export_commit(commit: str, into: Path) -> Path:
    """The commit's tree in `into` (git archive), with its own bench/dashboard.py generator."""
    into.mkdir(parents=True)
    archive = subprocess.run(["git", "archive", commit], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def tree_env(tree: Path, data: Path) -> dict[str, str]:
    """Run `tree`'s code (whatever the virtualenv's editable install points at) on its own DB."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(tree), *filter(None, [os.environ.get("PYTHONPATH")])])
    env["FORLOEB_DATA_DIR"] = str(data / "data")
    env["FORLOEB_DATABASE_URL"] = f"sqlite:///{data / 'app.db'}"
    return env


def build_database(tree: Path, env: dict[str, str], courses: int) -> None:
    subprocess.run([sys.executable, "-c", BUILD, str(courses)], cwd=tree, env=env, check=True)


def mode_env(env: dict[str, str], mode: str, tmp: Path) -> dict[str, str]:
    """The environment for one way of starting Python (see the module docstring)."""
    env = {key: value for key, value in env.items() if key != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(tmp / f"pycache-{mode}")
    if mode == "cold":
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def compile_stdlib(prefix: Path) -> None:
    """The standard library's bytecode (Python ships it) into the cache the cold runs read."""
    skip = r"/(test|idlelib|tkinter|lib2to3|ensurepip|turtledemo|site-packages)/"
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "-j", "0", "-x", skip, sysconfig.get_paths()["stdlib"]],
        env={**os.environ, "PYTHONPYCACHEPREFIX": str(prefix)},
        capture_output=True,
        check=False,
    )


def _forloeb(tree: Path) -> list[str]:
    """The `forloeb` console script next to this interpreter, for `tree`'s entry point."""
    script = Path(sys.executable).parent / "forloeb"
    entry = "main" if "def main" in (tree / "forloeb" / "cli.py").read_text(encoding="utf-8") else "app"
    if script.exists() and f"forloeb.cli import {entry}" in script.read_text(encoding="utf-8"):
        return [str(script)]
    return [sys.executable, "-c", f"import sys; from forloeb.cli import {entry}; sys.exit({entry}())"]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _run(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, env=env, cwd=cwd, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed ({done.returncode}):\n{done.stderr.decode()}")
    return elapsed


def run_mode(trees: dict[str, tuple[Path, dict[str, str]]], runs: int, course: str) -> str:
    names = list(trees)
    header = "| command | min s | median s | p95 s | target (median) |"
    rule = "|---|---:|---:|---:|---|"
    for name in names[1:]:
        header += f" {name}: median s | {name}: p95 s |"
        rule += "---:|---:|"
    lines = [header, rule]
    for command, target in COMMANDS:
        words = [course if word == "{course}" else word for word in command]
        timings: dict[str, list[float]] = {name: [] for name in names}
        for i in range(runs + 1):
            for name, (tree, env) in trees.items():  # taking turns: the same load on both
                elapsed = _run([*_forloeb(tree), *words], env, tree)
                if i:  # the first run warms the OS file cache (and writes the bytecode cache)
                    timings[name].append(elapsed)
        ours = timings[names[0]]
        median = statistics.median(ours)
        verdict = f"< {target} s {'✓' if median < target else '✗'}" if target else ""
        line = (
            f"| `forloeb {' '.join(words)}` | {min(ours):.2f} | {median:.2f} "
            f"| {_percentile(ours, 0.95):.2f} | {verdict} |"
        )
        for name in names[1:]:
            line += f" {statistics.median(timings[name]):.2f} | {_percentile(timings[name], 0.95):.2f} |"
        lines.append(line)
        print(line, flush=True)
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    parser.add_argument("--courses", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--against", default="d2cb0b0", help="an older commit to compare with, or 'none'")
    parser.add_argument("--modes", nargs="+", choices=list(MODES), default=list(MODES))
    parser.add_argument("--no-write", action="store_true", help="do not write bench/RESULTS-cli.md")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    tables = []
    try:
        sources = {"this checkout": ROOT}
        against = None
        if args.against != "none":
            against = _git("rev-parse", "--short", args.against).strip()
            sources[against] = export_commit(against, tmp / "against")
        envs = {}
        for index, (name, tree) in enumerate(sources.items()):
            started = time.perf_counter()
            envs[name] = tree_env(tree, tmp / f"db-{index}")
            build_database(tree, envs[name], args.courses)
            print(f"{name}: {args.courses:,} courses built in {time.perf_counter() - started:.1f} s")
        for mode in args.modes:
            print(f"\n{MODES[mode]}:", flush=True)
            if mode == "cold":
                compile_stdlib(tmp / f"pycache-{mode}")
            trees = {name: (sources[name], mode_env(envs[name], mode, tmp)) for name in sources}
            tables.append(f"## {MODES[mode]}\n\n{run_mode(trees, args.runs, str(min(7, args.courses)))}\n")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    if not args.no_write and len(tables) == len(MODES):
        machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, SQLite"
        RESULTS.write_text(
            REPORT.format(
                day=date.today().isoformat(),
                machine=machine,
                courses=args.courses,
                runs=args.runs,
                against=against or "(none)",
                tables="\n".join(tables),
            ),
            encoding="utf-8",
        )


if __name__ == "__main__":
    main()
