"""BPMN 2.0 export of every programme version, checked by three independent tools: the OMG XSD
(SpiffWorkflow's BpmnValidator), SpiffWorkflow running the process to completion (every user task
completed, every timer fired by moving the clock), and bpmn-moddle (npm, the project's package.json and
lock file: zero warnings, a DI shape or edge for every element). Exports are deterministic."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from models.programmes import ProgrammeDef, catalog
from services import bpmn

ROOT = Path(__file__).resolve().parents[2]
CHECK_SCRIPT = ROOT / "devtools" / "bpmn_check.mjs"
VERSIONS = sorted(catalog().programmes)
ISO_DURATION = re.compile(r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(\d+H)?(\d+M)?(\d+S)?)?")


def programme(ident: tuple[str, int]) -> ProgrammeDef:
    return catalog().programmes[ident]


@pytest.fixture(scope="module")
def exports() -> dict[tuple[str, int], bytes]:
    return {ident: bpmn.export(programme(ident)) for ident in VERSIONS}


def test_every_programme_version_is_exported() -> None:
    keys = {key for key, _ in VERSIONS}
    assert keys == {"minoritetsetniske", "inddragelse", "overgreb"}
    assert ("minoritetsetniske", 1) in VERSIONS and ("minoritetsetniske", 2) in VERSIONS


@pytest.mark.parametrize("ident", VERSIONS, ids=lambda i: f"{i[0]}-v{i[1]}" if isinstance(i, tuple) else i)
def test_export_is_deterministic_and_names_key_and_version(
    ident: tuple[str, int], exports: dict[tuple[str, int], bytes]
) -> None:
    key, version = ident
    again = bpmn.export(programme(ident))
    assert again == exports[ident]
    text = again.decode()
    assert f'<bpmn:process id="forloeb_{key}_v{version}" name="' in text
    assert f"({key} version {version})" in text


# --- (a) the OMG BPMN 2.0 XSD -------------------------------------------------------------------


@pytest.mark.parametrize("ident", VERSIONS, ids=lambda i: f"{i[0]}-v{i[1]}" if isinstance(i, tuple) else i)
def test_export_validates_against_the_bpmn_xsd(
    ident: tuple[str, int], exports: dict[tuple[str, int], bytes]
) -> None:
    from lxml import etree
    from SpiffWorkflow.bpmn.parser import BpmnValidator

    BpmnValidator().validate(etree.fromstring(exports[ident]).getroottree(), f"{ident[0]}-v{ident[1]}.bpmn")


# --- (b) SpiffWorkflow runs it to completion --------------------------------------------------


class Clock:
    now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[Clock]]:
    """SpiffWorkflow's timers read `datetime.now`: move it instead of waiting."""
    from SpiffWorkflow.bpmn.specs.event_definitions import timer

    class Moved(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> Moved:  # type: ignore[override]
            return Moved.fromtimestamp(Clock.now.timestamp(), tz or UTC)

    Clock.now = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    monkeypatch.setattr(timer, "datetime", Moved)
    yield Clock


def script_engine() -> Any:
    from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine

    class IsoDurations(PythonScriptEngine):  # type: ignore[misc]
        """SpiffWorkflow evaluates timer expressions as Python; the XML keeps the standard's bare
        ISO 8601 durations (`P6M`, as Camunda expects), so pass those through unchanged."""

        def evaluate(self, task: Any, expression: str, external_context: Any = None) -> Any:
            if ISO_DURATION.fullmatch(expression.strip()):
                return expression.strip()
            return super().evaluate(task, expression, external_context)

    return IsoDurations()


def timer_ids(xml: bytes) -> set[str]:
    from lxml import etree

    ns = {"bpmn": bpmn.MODEL}
    root = etree.fromstring(xml)
    return {el.getparent().get("id") for el in root.iterfind(".//bpmn:timerEventDefinition", ns)}


@pytest.mark.parametrize("ident", VERSIONS, ids=lambda i: f"{i[0]}-v{i[1]}" if isinstance(i, tuple) else i)
def test_spiffworkflow_runs_the_export_to_completion(
    ident: tuple[str, int], exports: dict[tuple[str, int], bytes], clock: type[Clock]
) -> None:
    from SpiffWorkflow.bpmn import BpmnWorkflow
    from SpiffWorkflow.bpmn.parser import BpmnParser, BpmnValidator
    from SpiffWorkflow.util.task import TaskState

    prog = programme(ident)
    parser = BpmnParser(validator=BpmnValidator())
    parser.add_bpmn_str(exports[ident])
    pid = bpmn.process_id(prog)
    wf = BpmnWorkflow(parser.get_spec(pid), parser.get_subprocess_specs(pid), script_engine=script_engine())
    reminder_vars = sorted(set(re.findall(rb">(paamindelse_[a-z0-9_]+)<", exports[ident])))

    def advance(delta: timedelta) -> None:
        clock.now += delta
        wf.refresh_timers()
        wf.do_engine_steps()

    completed: Counter[str] = Counter()
    wf.do_engine_steps()
    for _ in range(2000):
        if wf.is_completed():
            break
        advance(timedelta(days=2))  # the reminders of a task that waits on a meeting
        ready = wf.get_tasks(state=TaskState.READY, manual=True)
        if not ready:
            advance(timedelta(days=400))  # "+6 months", "10 months after the kick-off"
            continue
        for task in ready:
            # The planning step's answer gives the meeting time: its reminders fall tomorrow.
            when = (clock.now + timedelta(days=1)).isoformat()
            task.set_data(**{var.decode(): when for var in reminder_vars})
            task.run()
            completed[task.task_spec.bpmn_id] += 1
        wf.do_engine_steps()
    assert wf.is_completed()

    steps = [(s, step) for s in prog.stages for step in s.steps]
    user_steps = {f"Task_{step.key}": s for s, step in steps if step.form is not None}
    assert set(completed) == set(user_steps)
    for task_id, stage in user_steps.items():  # a repeated stage's steps once per round (its default)
        assert completed[task_id] == (stage.repeat.default if stage.repeat else 1), task_id
    fired = {
        t.task_spec.bpmn_id
        for t in wf.get_tasks(state=TaskState.COMPLETED)
        if t.task_spec.bpmn_id in timer_ids(exports[ident])
    }
    assert fired == timer_ids(exports[ident])


# --- (c) bpmn-moddle: zero warnings, DI for every element ---------------------------------------


def moddle_check(paths: list[Path]) -> dict[str, dict[str, Any]]:
    """One node process for all files (devtools/bpmn_check.mjs, bpmn-moddle from the project's
    package-lock.json, installed by `make test` with `npm ci`)."""
    node = shutil.which("node")
    assert node, "node is not installed (needed for the bpmn-moddle check)"
    assert (ROOT / "node_modules" / "bpmn-moddle").is_dir(), "run `npm ci` in the repository (make test does)"
    result = subprocess.run(
        [node, str(CHECK_SCRIPT), *map(str, paths)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    return {Path(row["file"]).name: row for row in rows}


@pytest.fixture(scope="module")
def moddle(exports: dict[tuple[str, int], bytes], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("bpmn")
    paths = []
    for (key, version), xml in exports.items():
        path = folder / f"{key}-v{version}.bpmn"
        path.write_bytes(xml)
        paths.append(path)
    # Two broken files, to see that the check finds what it should: a flow to a missing element,
    # and a task without its DI shape.
    good = exports[VERSIONS[0]].decode()
    dangling = re.sub(r'targetRef="[^"]+"', 'targetRef="Task_findes-ikke"', good, count=1)
    (folder / "dangling.bpmn").write_text(dangling, encoding="utf-8")
    no_shape = re.sub(
        r'<bpmndi:BPMNShape id="Task_[^"]+_di".*?</bpmndi:BPMNShape>\s*', "", good, count=1, flags=re.S
    )
    (folder / "no-shape.bpmn").write_text(no_shape, encoding="utf-8")
    return moddle_check([*paths, folder / "dangling.bpmn", folder / "no-shape.bpmn"])


@pytest.mark.parametrize("ident", VERSIONS, ids=lambda i: f"{i[0]}-v{i[1]}" if isinstance(i, tuple) else i)
def test_bpmn_moddle_imports_without_warnings_and_every_element_has_di(
    ident: tuple[str, int], moddle: dict[str, Any]
) -> None:
    row = moddle[f"{ident[0]}-v{ident[1]}.bpmn"]
    assert row["warnings"] == []
    assert row["missingDi"] == []
    assert row["elements"] > 40


def test_the_moddle_check_finds_a_dangling_reference_and_a_missing_shape(moddle: dict[str, Any]) -> None:
    assert any("unresolved reference <Task_findes-ikke>" in w for w in moddle["dangling.bpmn"]["warnings"])
    [missing] = moddle["no-shape.bpmn"]["missingDi"]
    assert missing.startswith("Task_")
    assert moddle["no-shape.bpmn"]["warnings"] == []


def test_the_cli_writes_the_newest_version_or_the_one_asked_for(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from forloeb.cli import app

    out = tmp_path / "m.bpmn"
    result = CliRunner().invoke(
        app, ["programmes", "bpmn", "minoritetsetniske", "--version", "1", "-o", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes() == bpmn.export(programme(("minoritetsetniske", 1)))
    newest = CliRunner().invoke(app, ["programmes", "bpmn", "minoritetsetniske"])
    assert newest.stdout_bytes == bpmn.export(
        max(
            (p for (k, _), p in catalog().programmes.items() if k == "minoritetsetniske"),
            key=lambda p: p.version,
        )
    )
    unknown = CliRunner().invoke(app, ["programmes", "bpmn", "minoritetsetniske", "--version", "9"])
    assert unknown.exit_code != 0
    assert "ingen version 9" in unknown.output
