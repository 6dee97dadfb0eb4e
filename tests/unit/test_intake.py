"""Intake rules (issue 13), pure: rounds from a programme's `intake:` settings, capacity periods and
allocation with deferral across periods, the minimum-criteria gate, priority, the application
flow's next step, and `intake:` validation with the line of each problem."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from models.programmes import CapacityDef, DefinitionError, latest_version, parse
from models.tables import ApplicationStatus
from services import intake
from services.applications import Snapshot, next_step, start_time

HALF = CapacityDef(per="half-year", courses=2)
YEAR = CapacityDef(per="year", courses=4)


def test_two_rounds_a_year_with_deadline_and_preferred_start() -> None:
    settings = latest_version("minoritetsetniske").intake
    assert settings is not None and settings.mode == "rounds"
    spring = intake.open_round(settings, date(2026, 3, 2))
    assert spring is not None and spring.key == "2026-foraar" and spring.deadline == date(2026, 3, 31)
    assert spring.preferred_start == date(2026, 8, 17)  # 15 August 2026 is a Saturday
    autumn = intake.open_round(settings, date(2026, 9, 1))
    assert autumn is not None and autumn.preferred_start == date(2027, 2, 1)  # the first after the deadline
    assert intake.open_round(settings, date(2026, 11, 24)) is None
    upcoming = intake.next_round(settings, date(2026, 11, 24))
    assert upcoming is not None and upcoming.key == "2027-foraar" and upcoming.opens_on == date(2027, 2, 1)


def test_periods() -> None:
    assert intake.period_of(date(2026, 6, 30), "half-year").key == "2026-H1"
    assert intake.period_of(date(2026, 7, 1), "half-year").key == "2026-H2"
    assert intake.following(intake.period_of(date(2026, 8, 1), "half-year"), "half-year").key == "2027-H1"
    assert intake.parse_period("2026-h2", "half-year") == intake.period_of(date(2026, 7, 1), "half-year")
    assert intake.parse_period("2026", "half-year") is None and intake.parse_period("x", "year") is None
    assert intake.slot_start(intake.period_of(date(2027, 1, 1), "year")) == date(2027, 1, 4)  # 1 Jan: holiday
    assert intake.period_of(date(2026, 8, 1), "half-year").name == "2. halvår 2026"


def test_allocation_keeps_the_wish_while_there_is_room() -> None:
    found = intake.allocate(date(2026, 9, 1), {"2026-H2": 1}, HALF)
    assert (found.period.key, found.start, found.deferred) == ("2026-H2", date(2026, 9, 1), False)


def test_over_capacity_defers_to_the_next_period_with_room_never_refuses() -> None:
    found = intake.allocate(date(2026, 9, 1), {"2026-H2": 2, "2027-H1": 2}, HALF)
    assert (found.period.key, found.start, found.deferred) == ("2027-H2", date(2027, 7, 1), True)


def test_ranked_applications_fill_periods_in_turn() -> None:
    wishes = [(n, date(2026, 3, 2)) for n in range(1, 11)]
    result = intake.allocate_many(wishes, {"2026": 1}, YEAR)
    assert [result[n].period.key for n in range(1, 11)] == ["2026"] * 3 + ["2027"] * 4 + ["2028"] * 3
    assert [result[n].deferred for n in (3, 4)] == [False, True]
    assert result[4].start == date(2027, 1, 4)


def test_gate_needs_minutes_and_the_signature() -> None:
    signed = {
        "underskriver_navn": "Fiktiv",
        "underskriver_titel": "Direktør",
        "underskrevet_dato": "2026-03-01",
    }
    assert intake.missing_minimum(["referat", "underskrift"], signed) == []
    assert intake.missing_minimum(["underskrift"], signed) == ["referat fra et ledelsesmøde (PDF)"]
    assert intake.missing_minimum([], {}) == [
        "referat fra et ledelsesmøde (PDF)",
        "underskrevet erklæring fra direktør eller centerchef (PDF)",
        "underskriverens navn, titel og dato",
    ]


def test_priority_first_for_municipalities_without_recent_help() -> None:
    day = date(2026, 3, 2)
    old = [{"ordning": "task_force", "aar": 2020}]
    recent = [{"ordning": "siri", "aar": 2024}]
    assert intake.recent_help(old, day, 3) == [] and intake.priority([], False) == 1
    assert intake.recent_help(recent, day, 3) == ["SIRI: ekstremisme og æresrelaterede konflikter"]
    assert intake.recent_help(recent, day, 1) == []  # a shorter look-back
    assert intake.priority(intake.recent_help(recent, day, 3), False) == 2
    assert intake.priority([], True) == 2  # a course of ours lately counts too
    ranked = sorted(
        [("b", True, 2, 5.0), ("a", True, 1, 3.0), ("c", False, 1, 5.0), ("d", True, 1, 4.0)],
        key=lambda r: intake.rank_key(r[1], r[2], r[3], 0),
    )
    assert [r[0] for r in ranked] == ["d", "a", "b", "c"]


def _snap(
    status: ApplicationStatus, done: tuple[str, ...] = (), n: int = 0, start: date | None = None
) -> Snapshot:
    return Snapshot(1, status, done, None, n, start, None)


def test_the_application_flow_steps() -> None:
    at = datetime(2026, 3, 2, 12, tzinfo=UTC)
    assert next_step(_snap(ApplicationStatus.SUBMITTED), at) == ("receipt", None)
    assert next_step(_snap(ApplicationStatus.ASSESSMENT, ("receipt",)), at) == ("wait", None)
    assert next_step(_snap(ApplicationStatus.ACCEPTED, ("receipt",), 1, date(2026, 4, 1)), at)[0] == "letter"
    later = _snap(ApplicationStatus.ACCEPTED, ("receipt", "letter:1"), 1, date(2026, 4, 1))
    assert next_step(later, at) == ("wait", start_time(date(2026, 4, 1)))
    assert start_time(date(2026, 4, 1)) == datetime(2026, 4, 1, 5, tzinfo=UTC)  # 07.00 summer time
    assert next_step(later, datetime(2026, 4, 1, 6, tzinfo=UTC)) == ("start", None)
    assert next_step(_snap(ApplicationStatus.WITHDRAWN), at) == ("done", None)
    assert next_step(_snap(ApplicationStatus.REJECTED, ("receipt", "letter:1"), 1), at) == ("done", None)


BASE = (
    "format: 2\nkey: x\nversion: 1\nname: X\ndescription: X\n"
    "organisations: [{key: s, name: S, kind: agency}, {key: kommune, name: K, kind: municipality}]\n"
    "roles: [{key: konsulent, name: K, organisation: s, answers: login}]\n"
    "forms: [{key: e, model: evaluering}]\n"
)
TRACKS = (
    "tracks:\n  - key: hoved\n    name: H\n    owner: konsulent\n    stages:\n"
    "      - {key: a, name: A, description: A, planned_weeks: 1, steps: [{key: s1, title: T, form: e}]}\n"
)


@pytest.mark.parametrize(
    ("intake_yaml", "message"),
    [
        (
            "intake:\n  mode: rounds\n  capacity: {per: year, courses: 4}\n",
            "kræver mindst én ansøgningsrunde",
        ),
        (
            "intake:\n  mode: rounds\n  rounds:\n    - {key: a, name: A, opens: '13-01', deadline: '03-01', "
            "preferred_start: '08-01'}\n  capacity: {per: year, courses: 4}\n",
            "skal være en dag som 'MM-DD'",
        ),
        (
            "intake:\n  mode: continuous\n  rounds:\n    - {key: a, name: A, opens: '01-01', "
            "deadline: '03-01', preferred_start: '08-01'}\n  capacity: {per: year, courses: 4}\n",
            "har ingen runder",
        ),
        ("intake:\n  mode: continuous\n  capacity: {per: month, courses: 4}\n", "capacity.per"),
        ("intake:\n  mode: continuous\n  capacity: {per: year, courses: 0}\n", "capacity.courses"),
    ],
)
def test_bad_intake_settings_are_refused_with_their_line(intake_yaml: str, message: str) -> None:
    with pytest.raises(DefinitionError) as refused:
        parse(BASE + intake_yaml + TRACKS, "x.yaml")
    text = str(refused.value)
    assert message in text and "linje" in text


def test_intake_is_optional() -> None:
    assert parse(BASE + TRACKS, "x.yaml").intake is None
