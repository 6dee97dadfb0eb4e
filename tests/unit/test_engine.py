"""The course engine's plan, as a pure function of a definition and what is stored: tracks in
parallel, joins, timers, repeats, and what a course waits on."""

from __future__ import annotations

from datetime import date
from typing import Any

from models.programmes import ProgrammeDef, parse
from models.tables import StageStatus, TaskStatus
from services.engine import Action, Snapshot, TaskRow, plan, timer_day

TWO_TRACKS = """
format: 2
key: to-spor
version: 1
name: To spor
description: Et hovedspor og et partnerspor, der mødes før afslutningen.
organisations:
  - {key: socialstyrelsen, name: Socialstyrelsen, kind: agency}
  - {key: kommune, name: Kommunen, kind: municipality}
  - {key: partner, name: Partneren, kind: partner, email: partner@example.org}
roles:
  - {key: konsulent, name: Konsulent, organisation: socialstyrelsen, answers: login}
  - {key: kommune, name: Kommunen, organisation: kommune, answers: link}
  - {key: partner, name: Partner, organisation: partner, answers: link}
meeting_kinds:
  - {key: traeningsdag, title: Træningsdag, invite: [kommune, partner]}
forms:
  - {key: samarbejdsaftale, model: samarbejdsaftale, fields: {contacts: kontaktpersoner}}
  - {key: moedeplan, model: moedeplan, fields: {meeting_time: tidspunkt, location: sted}}
  - {key: moede-afholdt, model: moede-afholdt, fields: {held_date: afholdt_dato}}
  - {key: opsamlingsmoede, model: opsamlingsmoede, fields: {held_date: afholdt_dato}}
  - {key: evaluering, model: evaluering}
tracks:
  - key: hoved
    name: Rådgivning
    owner: konsulent
    stages:
      - key: aftale
        name: Aftale
        description: x
        planned_weeks: 2
        steps: [{key: aftale, title: Aftale, form: samarbejdsaftale}]
      - key: udvikling
        name: Udvikling
        description: x
        planned_weeks: 4
        steps: [{key: opsamling, title: Opsamling, form: opsamlingsmoede}]
      - key: afslutning
        name: Afslutning
        description: x
        planned_weeks: 2
        after: [traening]
        starts: {after: opsamling.afholdt_dato, months: 2}
        steps: [{key: evaluering, title: Evaluering, form: evaluering}]
  - key: partnerspor
    name: Partnerens spor
    owner: partner
    stages:
      - key: traening
        name: Træningsdage
        description: x
        planned_weeks: 6
        after: [aftale]
        repeat: {count_from: [aftale.antal_workshops], default: 2, minimum: 1, maximum: 3}
        steps:
          - key: traening-plan
            title: Planlæg træningsdag {n}
            form: moedeplan
            assignee: partner
            meeting: {kind: traeningsdag, action: plan}
          - key: traening-holdt
            title: Træningsdag {n} holdt
            form: moede-afholdt
            assignee: partner
            meeting: {kind: traeningsdag, action: hold}
"""


def _programme() -> ProgrammeDef:
    return parse(TWO_TRACKS, "to-spor.yaml")


def _snap(
    stages: dict[str, StageStatus],
    tasks: dict[str, tuple[TaskStatus, bool, dict[str, Any] | None]] | None = None,
    marks: set[str] | None = None,
    meetings: set[str] | None = None,
) -> Snapshot:
    return Snapshot(
        course_id=1,
        programme="to-spor",
        version=1,
        status="active",
        start_date=date(2026, 1, 5),
        stages={
            k: stages.get(k, StageStatus.PLANNED) for k in ("aftale", "udvikling", "afslutning", "traening")
        },
        tasks={k: TaskRow(i, *v) for i, (k, v) in enumerate((tasks or {}).items(), start=1)},
        meetings=meetings or set(),
        marks={"activate", *(marks or set())},
    )


DONE, ACTIVE = StageStatus.DONE, StageStatus.ACTIVE
OPEN, COMPLETED = TaskStatus.OPEN, TaskStatus.COMPLETED
TODAY = date(2026, 11, 24)


def test_a_new_course_is_activated_first() -> None:
    snap = _snap({})
    fresh = Snapshot(**{**snap.__dict__, "marks": set(), "stages": {}})
    assert plan(_programme(), fresh, TODAY).actions == [Action("activate")]


def test_only_the_main_track_begins_until_the_split() -> None:
    result = plan(_programme(), _snap({}), TODAY)
    assert result.actions == [Action("begin_stage", "aftale")]
    partner = result.tracks[1]
    assert partner.stage == "traening" and partner.waiting_on == ["aftale"]


def test_after_the_split_both_tracks_move_in_one_pass() -> None:
    answer = {"antal_workshops": 3}
    snap = _snap({"aftale": DONE}, {"aftale": (COMPLETED, True, answer)})
    assert plan(_programme(), snap, TODAY).actions == [
        Action("begin_stage", "udvikling"),
        Action("begin_stage", "traening"),
    ]


def test_two_tracks_wait_on_two_tasks_at_once_and_an_answer_moves_only_its_track() -> None:
    snap = _snap(
        {"aftale": DONE, "udvikling": ACTIVE, "traening": ACTIVE},
        {
            "aftale": (COMPLETED, True, {"antal_workshops": 3}),
            "opsamling": (OPEN, False, None),
            "traening-plan-1": (OPEN, False, None),
        },
        marks={"announce:traening-plan-1"},
    )
    waiting = plan(_programme(), snap, TODAY)
    assert waiting.actions == [] and waiting.open_tasks == ["opsamling", "traening-plan-1"]
    answered = _snap(
        {"aftale": DONE, "udvikling": ACTIVE, "traening": ACTIVE},
        {
            "aftale": (COMPLETED, True, {"antal_workshops": 3}),
            "opsamling": (OPEN, False, None),
            "traening-plan-1": (COMPLETED, False, {"tidspunkt": "2026-03-03T10:00:00", "sted": "x"}),
        },
        marks={"announce:traening-plan-1"},
    )
    assert plan(_programme(), answered, TODAY).actions == [
        Action("apply_answer", "traening", "traening-plan-1", 1, "traeningsdag-1")
    ]


def test_a_partner_task_is_announced_by_link_once() -> None:
    snap = _snap(
        {"aftale": DONE, "udvikling": ACTIVE, "traening": ACTIVE},
        {
            "aftale": (COMPLETED, True, {"antal_workshops": 1}),
            "opsamling": (OPEN, False, None),
            "traening-plan-1": (OPEN, False, None),
        },
    )
    assert plan(_programme(), snap, TODAY).actions == [
        Action("announce_task", "traening", "traening-plan-1", 1, "traeningsdag-1")
    ]


def test_repeat_count_comes_from_the_answer_and_the_stage_ends_after_the_last_round() -> None:
    rounds: dict[str, tuple[TaskStatus, bool, dict[str, Any] | None]] = {
        "aftale": (COMPLETED, True, {"antal_workshops": 2})
    }
    marks = set()
    for n in (1, 2):
        rounds[f"traening-plan-{n}"] = (COMPLETED, True, {"tidspunkt": "2026-03-03T10:00:00"})
        rounds[f"traening-holdt-{n}"] = (COMPLETED, True, {"afholdt_dato": "2026-03-03"})
        marks |= {f"announce:traening-plan-{n}", f"announce:traening-holdt-{n}", f"invite:traeningsdag-{n}"}
    rounds["opsamling"] = (OPEN, False, None)
    snap = _snap({"aftale": DONE, "udvikling": ACTIVE, "traening": ACTIVE}, rounds, marks)
    assert plan(_programme(), snap, TODAY).actions == [Action("finish_stage", "traening")]


def test_the_join_waits_for_the_other_track_then_the_timer() -> None:
    held = {"afholdt_dato": "2026-03-02", "konklusioner": "x"}
    tasks: dict[str, tuple[TaskStatus, bool, dict[str, Any] | None]] = {
        "aftale": (COMPLETED, True, {"antal_workshops": 1}),
        "opsamling": (COMPLETED, True, held),
    }
    joined = plan(_programme(), _snap({"aftale": DONE, "udvikling": DONE, "traening": ACTIVE}, tasks), TODAY)
    assert joined.tracks[0].stage == "afslutning" and joined.tracks[0].waiting_on == ["traening"]
    early = plan(
        _programme(), _snap({"aftale": DONE, "udvikling": DONE, "traening": DONE}, tasks), date(2026, 4, 1)
    )
    assert early.actions == [] and early.tracks[0].waiting_on == ["timer"]
    assert early.wake_on == date(2026, 5, 4)  # 2 March + 2 months = Saturday 2 May -> Monday 4 May
    due = plan(
        _programme(), _snap({"aftale": DONE, "udvikling": DONE, "traening": DONE}, tasks), date(2026, 5, 4)
    )
    assert due.actions == [Action("begin_stage", "afslutning")]


def test_the_course_completes_when_every_track_is_done() -> None:
    snap = _snap({k: DONE for k in ("aftale", "udvikling", "afslutning", "traening")})
    assert plan(_programme(), snap, TODAY).actions == [Action("complete")]


def test_timer_day_is_a_working_day_and_waits_for_its_answer() -> None:
    timer = _programme().stage("afslutning").starts
    assert timer is not None
    assert timer_day(timer, {}) is None
    # 24 October + 2 months = 24 December (offices closed), 25-26 holidays, 27 a Sunday.
    assert timer_day(timer, {"opsamling": {"afholdt_dato": "2026-10-24"}}) == date(2026, 12, 28)
