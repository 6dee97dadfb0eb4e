"""Nøgletal (services/kpi.py) on hand-made rows: lead time per stage (median, p90, against the
plan), on-time shares of stages and tasks in Copenhagen dates (a stage ending 23:30 UTC on its
planned end date ended the next day in Copenhagen: late), load and overdue tasks per consultant,
courses per month, applications, the period and programme filters, and the per-course export."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from core.clock import frozen
from core.db import session_scope
from core.errors import InvalidInput
from models.tables import (
    Application,
    ApplicationStatus,
    Course,
    CourseStatus,
    HumanTask,
    StageRun,
    StageStatus,
    TaskStatus,
)
from services import kpi

NOW = datetime(2026, 6, 15, 10, 0, tzinfo=UTC)
PERIOD = kpi.Period(date(2026, 1, 1), date(2026, 6, 15))
AARHUS, ODENSE, AALBORG, ESBJERG, HORSENS, KOLDING = 751, 461, 851, 561, 615, 621


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def course(
    code: int,
    consultant: str,
    start: date,
    status: CourseStatus,
    *,
    programme: str = "minoritetsetniske",
    completed: datetime | None = None,
) -> int:
    with session_scope() as session:
        row = Course(
            municipality_code=code,
            programme=programme,
            programme_version=1,
            consultant=consultant,
            start_date=start,
            status=status,
            completed_at=completed,
        )
        session.add(row)
        session.flush()
        assert row.id is not None
        return row.id


def stage(
    course_id: int, key: str, planned: tuple[date, date], actual: tuple[datetime, datetime | None]
) -> None:
    with session_scope() as session:
        session.add(
            StageRun(
                course_id=course_id,
                stage_key=key,
                position=1,
                name=key,
                status=StageStatus.DONE if actual[1] else StageStatus.ACTIVE,
                planned_start=planned[0],
                planned_end=planned[1],
                actual_start=actual[0],
                actual_end=actual[1],
            )
        )


def task(course_id: int, key: str, due: date, completed: datetime | None = None) -> None:
    with session_scope() as session:
        session.add(
            HumanTask(
                course_id=course_id,
                stage_key="behovsafklaring",
                key=key,
                kind="moede-afholdt",
                title=key,
                assignee_role="konsulent",
                due_date=due,
                status=TaskStatus.COMPLETED if completed else TaskStatus.OPEN,
                completed_at=completed,
            )
        )


def application(code: int, status: ApplicationStatus, submitted: datetime) -> None:
    with session_scope() as session:
        session.add(
            Application(
                municipality_code=code,
                programme="minoritetsetniske",
                status=status,
                preferred_start=date(2026, 8, 1),
                submitted_at=submitted,
            )
        )


@pytest.fixture
def rows() -> dict[str, int]:
    old = course(KOLDING, "Bo", date(2025, 1, 6), CourseStatus.COMPLETED, completed=utc(2025, 3, 10))
    stage(old, "behovsafklaring", (date(2025, 1, 6), date(2025, 1, 20)), (utc(2025, 1, 6), utc(2025, 3, 1)))
    c1 = course(AARHUS, "Anna", date(2026, 1, 10), CourseStatus.ACTIVE)
    stage(
        c1,
        "behovsafklaring",
        (date(2026, 1, 10), date(2026, 1, 24)),
        (utc(2026, 1, 10, 9), utc(2026, 1, 20, 10)),
    )
    stage(
        c1,
        "samarbejdsaftale",
        (date(2026, 1, 24), date(2026, 2, 7)),
        (utc(2026, 1, 20, 10), utc(2026, 2, 10, 10)),
    )
    stage(c1, "arbejdsgruppe", (date(2026, 2, 7), date(2026, 2, 21)), (utc(2026, 2, 10, 10), None))
    c2 = course(ODENSE, "Bo", date(2026, 2, 1), CourseStatus.COMPLETED, completed=utc(2026, 5, 1, 12))
    stage(
        c2,
        "behovsafklaring",
        (date(2026, 2, 1), date(2026, 2, 15)),
        (utc(2026, 2, 1, 8), utc(2026, 2, 13, 8)),
    )
    stage(
        c2,
        "samarbejdsaftale",
        (date(2026, 2, 15), date(2026, 3, 1)),
        (utc(2026, 2, 13, 8), utc(2026, 2, 27, 8)),
    )
    c3 = course(AALBORG, "Anna", date(2026, 3, 1), CourseStatus.ACTIVE)
    # 23:30 UTC on 15.3 is 00:30 on 16.3 in Copenhagen (winter time): one day late, 15 days.
    stage(
        c3,
        "behovsafklaring",
        (date(2026, 3, 1), date(2026, 3, 15)),
        (utc(2026, 3, 1, 8), utc(2026, 3, 15, 23, 30)),
    )
    c4 = course(ESBJERG, "Bo", date(2026, 4, 1), CourseStatus.ACTIVE)
    # 22:30 UTC on 31.3 is 00:30 on 1.4 in Copenhagen (summer time): 19 days to 20.4, late.
    stage(
        c4,
        "behovsafklaring",
        (date(2026, 4, 1), date(2026, 4, 15)),
        (utc(2026, 3, 31, 22, 30), utc(2026, 4, 20, 10)),
    )
    other = course(HORSENS, "Bo", date(2026, 2, 2), CourseStatus.ACTIVE, programme="overgreb")
    stage(
        other,
        "forberedelse",
        (date(2026, 2, 2), date(2026, 2, 16)),
        (utc(2026, 2, 2, 8), utc(2026, 2, 12, 8)),
    )

    task(c1, "t1", date(2026, 1, 20), utc(2026, 1, 20, 22, 30))  # 23:30 in Copenhagen: on time
    task(c3, "t2", date(2026, 3, 15), utc(2026, 3, 15, 23, 30))  # 00:30 the next day: late
    task(c2, "t3", date(2026, 2, 13), utc(2026, 2, 10, 9))
    task(old, "t0", date(2025, 1, 20), utc(2025, 2, 1))  # before the period
    task(c1, "open-overdue", date(2026, 6, 1))
    task(c1, "open-later", date(2026, 6, 20))
    task(c3, "open-overdue", date(2026, 6, 14))
    task(c2, "open-in-a-completed-course", date(2026, 1, 1))

    application(AARHUS, ApplicationStatus.STARTED, utc(2026, 2, 1))
    application(ODENSE, ApplicationStatus.DEFERRED, utc(2026, 3, 1))
    application(ESBJERG, ApplicationStatus.SUBMITTED, utc(2026, 6, 1))
    application(
        AALBORG, ApplicationStatus.REJECTED, utc(2025, 12, 31, 22, 30)
    )  # 23:30 on 31.12 in Copenhagen
    return {"c1": c1, "c2": c2, "c3": c3, "c4": c4}


def test_quantiles_are_linear_between_ranks() -> None:
    assert kpi.quantile({10: 1, 12: 1, 14: 1, 20: 1}, 0.5) == 13
    assert kpi.quantile({10: 1, 12: 1, 14: 1, 20: 1}, 0.9) == pytest.approx(18.2)
    assert kpi.quantile({5: 3}, 0.9) == 5
    assert kpi.quantile({1: 9, 100: 1}, 0.9) == pytest.approx(10.9)
    assert kpi.quantile({}, 0.5) is None


def test_lead_times_on_time_shares_and_load(rows: dict[str, int]) -> None:
    with frozen(NOW):
        r = kpi.report("minoritetsetniske", PERIOD)
    by_key = {s.stage_key: s for s in r.stages}
    assert list(by_key) == ["behovsafklaring", "samarbejdsaftale"]  # programme order
    first = by_key["behovsafklaring"]
    assert first.stage_name == "Behovsafklaring"
    assert (first.finished, first.planned_median_days) == (4, 14)
    assert (first.actual_median_days, first.actual_p90_days) == (13.5, pytest.approx(17.8))
    assert first.deviation_median_days == -0.5
    assert (first.on_time, first.on_time_pct) == (2, 50.0)
    second = by_key["samarbejdsaftale"]
    assert (second.finished, second.actual_median_days, second.actual_p90_days) == (
        2,
        17.5,
        pytest.approx(20.3),
    )
    assert (second.on_time, second.on_time_pct) == (1, 50.0)

    h = r.headline
    assert (h.started, h.finished, h.active) == (4, 1, 3)
    assert (h.stages_finished, h.stages_on_time, h.stages_on_time_pct) == (6, 3, 50.0)
    assert (h.tasks_finished, h.tasks_on_time, h.tasks_on_time_pct) == (3, 2, 66.7)
    assert h.overdue_tasks == 2

    people = {c.consultant: c for c in r.consultants}
    assert [c.consultant for c in r.consultants] == ["Anna", "Bo"]  # the most loaded first
    anna, bo = people["Anna"], people["Bo"]
    assert (anna.active_courses, anna.open_tasks, anna.overdue_tasks) == (2, 3, 2)
    assert (anna.tasks_finished, anna.tasks_on_time_pct) == (2, 50.0)
    assert (bo.active_courses, bo.open_tasks, bo.overdue_tasks) == (1, 0, 0)
    assert (bo.tasks_finished, bo.tasks_on_time_pct) == (1, 100.0)

    assert [(m.label, m.started, m.finished) for m in r.months] == [
        ("jan 2026", 1, 0),
        ("feb 2026", 1, 0),
        ("mar 2026", 1, 0),
        ("apr 2026", 1, 0),
        ("maj 2026", 0, 1),
        ("jun 2026", 0, 0),
    ]
    a = r.applications
    assert (a.received, a.accepted, a.deferred, a.in_progress, a.rejected) == (3, 1, 1, 1, 0)


def test_every_programme_and_a_shorter_period(rows: dict[str, int]) -> None:
    with frozen(NOW):
        everything = kpi.report(None, PERIOD)
        march = kpi.report("minoritetsetniske", kpi.Period(date(2026, 3, 1), date(2026, 3, 31)))
    assert everything.programme_name == "Alle programmer"
    assert everything.headline.started == 5 and everything.headline.active == 4
    assert {s.programme for s in everything.stages} == {"minoritetsetniske", "overgreb"}
    # In March: only Aalborg's first stage ended (on 16.3 in Copenhagen); no task was done on time.
    assert [(s.stage_key, s.finished, s.actual_median_days) for s in march.stages] == [
        ("behovsafklaring", 1, 15)
    ]
    assert (march.headline.tasks_finished, march.headline.tasks_on_time) == (1, 0)
    assert march.headline.started == 1 and march.applications.deferred == 1


def test_one_row_per_course_in_the_period(rows: dict[str, int]) -> None:
    with frozen(NOW):
        courses = kpi.course_rows("minoritetsetniske", PERIOD)
    assert [c.municipality for c in courses] == [
        "Aarhus",
        "Odense",
        "Aalborg",
        "Esbjerg",
    ]  # Kolding ended in 2025
    aarhus = courses[0]
    assert (aarhus.stages_done, aarhus.stages_on_time, aarhus.open_tasks, aarhus.overdue_tasks) == (
        2,
        1,
        2,
        1,
    )
    assert aarhus.start_date == date(2026, 1, 10) and aarhus.completed_on is None
    assert courses[1].completed_on == date(2026, 5, 1) and courses[1].status == "completed"


def test_the_period_and_programme_are_checked() -> None:
    with pytest.raises(InvalidInput, match="begynder efter"):
        kpi.period_from(date(2026, 5, 1), date(2026, 4, 1))
    with pytest.raises(InvalidInput, match="uden for"):
        kpi.period_from(None, date(9999, 12, 31))
    with pytest.raises(InvalidInput, match="findes ikke"):
        kpi.report("ukendt")
    assert kpi.default_period(date(2026, 6, 15)) == kpi.Period(date(2025, 7, 1), date(2026, 6, 15))


def test_stored_figures_follow_every_write_of_a_row() -> None:
    """The figures the queries group by are kept on insert and on every update (a stage finished
    later, a task completed), in Copenhagen dates on both sides of summer time."""
    from sqlmodel import select

    cid = course(AARHUS, "Anna", date(2026, 3, 1), CourseStatus.ACTIVE)
    stage(cid, "s", (date(2026, 3, 2), date(2026, 3, 27)), (utc(2026, 3, 2, 8), None))
    task(cid, "t", date(2026, 10, 24))
    with session_scope() as session:
        run = session.exec(select(StageRun).where(StageRun.course_id == cid)).one()
        assert (run.days_taken, run.planned_days, run.finished_late) == (None, 25, None)
        run.status, run.actual_end = StageStatus.DONE, utc(2026, 3, 27, 23, 30)  # 28.3 00:30 (winter)
        todo = session.exec(select(HumanTask).where(HumanTask.course_id == cid)).one()
        assert todo.completed_late is None
        todo.status, todo.completed_at = TaskStatus.COMPLETED, utc(2026, 10, 24, 22, 30)  # 25.10 00:30
    with session_scope() as session:
        run = session.exec(select(StageRun).where(StageRun.course_id == cid)).one()
        assert (run.days_taken, run.planned_days, run.finished_late) == (26, 25, True)
        assert session.exec(select(HumanTask).where(HumanTask.course_id == cid)).one().completed_late is True
        run.actual_end = utc(2026, 3, 27, 22, 30)  # 27.3 23:30: on the planned end date
    with session_scope() as session:
        run = session.exec(select(StageRun).where(StageRun.course_id == cid)).one()
        assert (run.days_taken, run.finished_late) == (25, False)
