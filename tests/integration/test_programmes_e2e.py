"""Every programme driven end to end through every stage and track against the Prefect harness,
with parallel tracks, the join, the timer, replays and a crash at the join; versions: a course keeps
its version when a new one is added, and `course migrate` moves a waiting course (or says why not)."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlmodel import select

from core.clock import as_utc, frozen
from core.db import session_scope
from core.errors import Conflict
from models import programmes as definitions
from models.tables import (
    AuditEvent,
    Course,
    CourseStatus,
    HumanTask,
    Meeting,
    MeetingStatus,
    StageRun,
    StageStatus,
)
from services import courses, flow_steps, programmes, read_model, recovery
from tests.support.drive import answer_for, open_tasks, run_until_wait, state_of
from tests.support.logscan import scanned_logs

pytestmark = pytest.mark.usefixtures("prefect_server")


def drive(course_id: int, run_id: str, *, stop_after: int | None = None) -> list[str]:
    """Answer the course's open tasks (earliest deadline first) until it completes; a course that
    waits on a timer is woken as the lead runner would when its day comes. Returns the task keys
    answered, in order."""
    answered: list[str] = []
    for _ in range(200):
        name, _key = state_of(run_id)
        if name == "Completed" or (stop_after is not None and len(answered) >= stop_after):
            return answered
        assert name == "Suspended", name
        tasks = open_tasks(course_id)
        if not tasks:
            course = read_model.get_course(course_id)
            assert course.wake_at is not None, "a suspended course waits on a task or a timer"
            with frozen(as_utc(course.wake_at) + timedelta(minutes=1)):
                done = recovery.repair_automatically(actor="runner-test")
                assert [f.kind for f, _ in done] == ["timer_due"]
                run_until_wait(run_id)
            continue
        task = tasks[0]
        courses.complete_task(task.id or 0, answer_for(task.kind), actor="test")
        answered.append(task.key)
        run_until_wait(run_id)
    raise AssertionError("the course did not complete")


def _start(programme: str, municipality: str) -> tuple[int, str]:
    course = courses.start_course(municipality, programme, "Konsulent K", date(2026, 1, 5))
    assert course.id is not None and course.flow_run_id is not None
    run_until_wait(course.flow_run_id)
    return course.id, course.flow_run_id


def _stages(course_id: int) -> dict[str, StageRun]:
    with session_scope() as session:
        return {s.stage_key: s for s in session.exec(select(StageRun).where(StageRun.course_id == course_id))}


def _events(course_id: int) -> Counter[tuple[str, str]]:
    with session_scope() as session:
        return Counter(
            (e.action, e.detail)
            for e in session.exec(select(AuditEvent).where(AuditEvent.course_id == course_id))
        )


@pytest.mark.parametrize(
    ("programme", "municipality"),
    [
        pytest.param("minoritetsetniske", "Aarhus", marks=pytest.mark.full_drive),
        ("inddragelse", "Odense"),
        pytest.param("overgreb", "Aalborg", marks=pytest.mark.full_drive),
    ],
)
def test_each_programme_runs_end_to_end_on_its_newest_version(
    programme: str, municipality: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with scanned_logs(monkeypatch):  # every log line at DEBUG: no e-mail, CPR number or secret
        _run_end_to_end(programme, municipality)


def _run_end_to_end(programme: str, municipality: str) -> None:
    definition = definitions.latest_version(programme)
    course_id, run_id = _start(programme, municipality)
    answered: list[str] = []
    both_open = False
    while len(definition.tracks) > 1 and not both_open and state_of(run_id)[0] == "Suspended":
        tasks = open_tasks(course_id)
        both_open = len({definition.track_of[t.stage_key].key for t in tasks}) == len(definition.tracks)
        if both_open:  # one suspended run waits on both tracks' tasks at once: no process held
            assert state_of(run_id) == ("Suspended", ",".join(sorted(t.key for t in tasks)))
        else:
            answered += drive(course_id, run_id, stop_after=1)
    assert both_open or len(definition.tracks) == 1
    answered += drive(course_id, run_id)
    assert state_of(run_id)[0] == "Completed"
    course = read_model.get_course(course_id)
    assert course.status == CourseStatus.COMPLETED and course.programme_version == definition.version
    stages = _stages(course_id)
    assert set(stages) == {s.key for s in definition.stages}
    assert all(s.status == StageStatus.DONE and s.actual_start and s.actual_end for s in stages.values())
    assert {s.track for s in stages.values()} == {t.key for t in definition.tracks}
    # Every step of every round was asked exactly once.
    assert len(answered) == len(set(answered))
    with session_scope() as session:
        tasks = list(session.exec(select(HumanTask).where(HumanTask.course_id == course_id)))
    assert sorted(t.key for t in tasks) == sorted(answered) and all(t.applied for t in tasks)
    events = _events(course_id)
    assert all(n == 1 for (action, _), n in events.items() if action in ("fase startet", "fase afsluttet"))
    for stage in definition.stages:  # a join begins only after every stage it waits for ended
        for before in stage.after:
            assert stages[before].actual_end is not None and stages[stage.key].actual_start is not None
            assert as_utc(stages[stage.key].actual_start) >= as_utc(stages[before].actual_end)
    for track in definition.tracks[1:]:  # a partner's track asks the partner
        with session_scope() as session:
            asked = session.exec(
                select(HumanTask).where(
                    HumanTask.course_id == course_id, HumanTask.assignee_role == track.owner
                )
            ).all()
        assert asked, f"{track.name} asks {track.owner}"
    if programme == "minoritetsetniske":
        # 2 workshops and 1 sparring meeting were chosen in the agreement.
        assert "workshop-planlaegning-2" in answered and "workshop-planlaegning-3" not in answered
        assert "ledersparring-afholdt-1" in answered and "ledersparring-afholdt-2" not in answered
        with session_scope() as session:
            revisit = session.exec(select(Meeting).where(Meeting.kind == "genbesoeg")).one()
        # Closing meeting Monday 2 March 2026 + 6 months = Wednesday 2 September 2026, held.
        assert revisit.planned_at.date() == date(2026, 9, 2)
        assert revisit.status == MeetingStatus.HELD


@pytest.mark.full_drive
def test_a_crash_between_a_tracks_end_and_the_join_does_nothing_twice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    definition = definitions.latest_version("inddragelse")
    main, partner = definition.tracks
    join = next(s for s in main.stages if s.after)
    last = partner.stages[-1].key
    course_id, run_id = _start("inddragelse", "Horsens")
    real_finish = flow_steps.finish_stage
    crashed: list[str] = []

    def crash_once(course: int, stage_key: str) -> None:
        real_finish(course, stage_key)
        if stage_key == last and not crashed:
            crashed.append(stage_key)
            raise RuntimeError("strømmen gik efter sporets sidste fase")

    monkeypatch.setattr(flow_steps, "finish_stage", crash_once)
    for _ in range(200):
        if crashed:
            break
        drive(course_id, run_id, stop_after=1)
    assert crashed
    assert read_model.get_course(course_id).status == CourseStatus.FAILED
    assert _stages(course_id)[join.key].status == StageStatus.PLANNED
    assert [f.kind for f in recovery.diagnose(course_id).findings] == ["failed_course"]
    monkeypatch.setattr(flow_steps, "finish_stage", real_finish)
    assert recovery.resume_course(course_id, actor="konsulent K")  # 'forloeb course resume N'
    run_until_wait(run_id)
    drive(course_id, run_id)
    events = _events(course_id)
    assert events[("fase afsluttet", definition.stage(last).name)] == 1
    assert events[("fase startet", join.name)] == 1
    assert read_model.get_course(course_id).status == CourseStatus.COMPLETED


@pytest.mark.full_drive
def test_a_new_version_never_changes_a_running_course(monkeypatch: pytest.MonkeyPatch) -> None:
    only_v1 = definitions.Catalog(
        {k: p for k, p in definitions.catalog().programmes.items() if k != ("minoritetsetniske", 2)},
        {},
        definitions.catalog().files,
    )
    monkeypatch.setattr(definitions, "_CATALOG", only_v1)
    course_id, run_id = _start("minoritetsetniske", "Silkeborg")
    drive(course_id, run_id, stop_after=3)
    monkeypatch.setattr(definitions, "_CATALOG", None)  # version 2 is added
    assert definitions.latest_version("minoritetsetniske").version == 2
    drive(course_id, run_id)
    course = read_model.get_course(course_id)
    assert course.status == CourseStatus.COMPLETED and course.programme_version == 1
    newer = courses.start_course("Herning", "minoritetsetniske", "K", date(2026, 1, 5))
    assert newer.programme_version == 2


def test_course_migrate_moves_a_waiting_course_or_says_why_not(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    v2_text = (definitions.DEFINITIONS_DIR / "minoritetsetniske-v2.yaml").read_text(encoding="utf-8")
    incompatible = v2_text.replace("version: 2", "version: 9", 1).replace(
        "{key: behovsafklaring, title: Hold formøde og aftal fokus, form: behovsafklaring}",
        "{key: behovsafklaring, title: Hold formøde og aftal fokus, form: evaluering}",
    )
    assert incompatible != v2_text
    (tmp_path / "minoritetsetniske-v9.yaml").write_text(incompatible, encoding="utf-8")
    with_v9 = definitions.load_catalog(tmp_path)  # as FORLOEB_PROGRAMME_DIR=tmp_path would
    assert not with_v9.refused
    only_v1 = {k: p for k, p in with_v9.programmes.items() if k != ("minoritetsetniske", 2) and k[1] != 9}
    monkeypatch.setattr(definitions, "_CATALOG", definitions.Catalog(only_v1, {}, with_v9.files))
    course_id, run_id = _start("minoritetsetniske", "Viborg")
    drive(course_id, run_id, stop_after=2)
    monkeypatch.setattr(definitions, "_CATALOG", with_v9)
    assert definitions.find_programme("minoritetsetniske", 9) is not None

    with pytest.raises(Conflict) as refused:
        programmes.migrate_course(course_id, 9, actor="test")
    assert "behovsafklaring" in refused.value.message and "anden formular" in refused.value.message
    assert read_model.get_course(course_id).programme_version == 1

    message = programmes.migrate_course(course_id, 2, actor="konsulent K")
    assert "version 2" in message
    run_until_wait(run_id)
    course = read_model.get_course(course_id)
    assert course.programme_version == 2
    assert _events(course_id)[("forløb flyttet til ny version", "minoritetsetniske version 1 -> 2")] == 1
    # It goes on from where it was, on version 2 (its definition, its meeting kinds).
    assert drive(course_id, run_id, stop_after=3)
    with session_scope() as session:
        moved = session.get(Course, course_id)
        assert moved is not None and moved.status == CourseStatus.ACTIVE and moved.programme_version == 2
