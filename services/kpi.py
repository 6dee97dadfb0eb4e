"""Nøgletal (issue 15): how the programmes perform, per programme and period, for the dashboard's
Nøgletal page, its exports (`services.kpi_export`) and the JSON API.

    report(programme, period)   the page's numbers (one `KpiReport`); `cached_report`: the same,
                                kept for a minute (the page and the API)
    course_rows(programme, period)  one row per course in the period (the "Forløb" export)
    tables(report)              the page's tables as `Table`s (headers in Danish), for the page
                                and every export

A fixed number of aggregate queries whatever the number of courses. Lead times are read as a
histogram (stage x whole days x planned days x late: a few thousand rows at most), so median and
p90 are exact without fetching one row per stage. Days are Copenhagen calendar days: a stage begun
on 3.3 and finished on 17.3 took 14 days; a stage or task is on time when it finished on or before
its planned end date / due date. Those figures are stored with each row when it is written
(`models.tables.stage_figures` / `task_figures`), so the queries group integers and booleans instead
of turning timestamps into Copenhagen dates row by row (that took ~60 % of the page at 10,000
courses on SQLite).

The period is Copenhagen dates `start`..`end`, both included: stages, tasks and courses *finished*
in it, courses *started* in it, applications *received* in it. "Now" numbers (active courses, open
and overdue tasks) are as of today, whatever the period."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from time import monotonic
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import and_, case, func, or_
from sqlmodel import Session, col, select

from core.clock import COPENHAGEN, local_date, today
from core.db import session_scope
from core.errors import InvalidInput
from models.programmes import find_programme, latest_version, programme_keys
from models.tables import (
    ACTIVE_STATUSES,
    Application,
    ApplicationStatus,
    Course,
    CourseStatus,
    HumanTask,
    Municipality,
    StageRun,
    StageStatus,
    TaskStatus,
)

MONTHS = ["jan", "feb", "mar", "apr", "maj", "jun", "jul", "aug", "sep", "okt", "nov", "dec"]


# --- the period ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    start: date
    end: date

    def utc_bounds(self) -> tuple[datetime, datetime]:
        """[start 00:00, day after end 00:00) in Copenhagen, as UTC: index-friendly filters."""
        low = datetime.combine(self.start, time.min, COPENHAGEN).astimezone(UTC)
        high = datetime.combine(self.end + timedelta(days=1), time.min, COPENHAGEN).astimezone(UTC)
        return low, high

    @property
    def text(self) -> str:
        return f"{danish_date(self.start)}-{danish_date(self.end)}"


def default_period(day: date | None = None) -> Period:
    """The last twelve months: from the first of the month eleven months back, to today."""
    day = day or today()
    month = day.year * 12 + day.month - 1 - 11
    return Period(date(month // 12, month % 12 + 1, 1), day)


def period_from(start: date | None, end: date | None) -> Period:
    default = default_period()
    period = Period(start or default.start, end or default.end)
    for value in (period.start, period.end):
        if not 1900 <= value.year <= 2200:
            raise InvalidInput(f"Datoen {danish_date(value)} ligger uden for årene 1900-2200.")
    if period.start > period.end:
        raise InvalidInput(
            f"Perioden begynder efter den slutter ({danish_date(period.start)} er efter "
            f"{danish_date(period.end)})."
        )
    return period


def danish_date(value: date | None) -> str:
    """dd.mm.åååå ('' for none)."""
    return "" if value is None else f"{value.day:02d}.{value.month:02d}.{value.year}"


# --- quantiles from a histogram -------------------------------------------------------------------


def quantile(histogram: dict[int, int], q: float) -> float | None:
    """The q-quantile of values given as value -> count, linear between the two nearest ranks (as
    numpy's default and `statistics.quantiles(method='inclusive')`): the median of 10, 12, 14, 20
    is 13, their p90 18.2. None for no values."""
    n = sum(histogram.values())
    if n == 0:
        return None
    position = (n - 1) * q
    lower_rank = math.floor(position)
    fraction = position - lower_rank

    def value_at(rank: int) -> int:
        seen = 0
        for value in sorted(histogram):
            seen += histogram[value]
            if rank < seen:
                return value
        return max(histogram)

    low = value_at(lower_rank)
    if fraction == 0:
        return float(low)
    high = value_at(lower_rank + 1)
    return round(low + (high - low) * fraction, 4)


def share(part: int, whole: int) -> float | None:
    """Per cent, one decimal (None for nothing to count)."""
    return None if whole == 0 else round(100.0 * part / whole, 1)


# --- the report ----------------------------------------------------------------------------------


class ProgrammeOption(BaseModel):
    key: str
    name: str


class Headline(BaseModel):
    started: int
    """Courses whose start date is in the period."""
    finished: int
    """Courses completed in the period."""
    active: int
    """Courses active now (starting or active)."""
    stages_finished: int
    stages_on_time: int
    stages_on_time_pct: float | None
    tasks_finished: int
    tasks_on_time: int
    tasks_on_time_pct: float | None
    overdue_tasks: int
    """Open tasks past their due date now, in active courses."""


class StageLeadTime(BaseModel):
    programme: str
    programme_name: str
    track: str
    track_name: str
    stage_key: str
    stage_name: str
    finished: int
    planned_median_days: float | None
    actual_median_days: float | None
    actual_p90_days: float | None
    deviation_median_days: float | None
    """Actual median minus planned median: positive is slower than planned."""
    on_time: int
    on_time_pct: float | None


class ConsultantRow(BaseModel):
    consultant: str
    active_courses: int
    open_tasks: int
    overdue_tasks: int
    tasks_finished: int
    tasks_on_time_pct: float | None


class MonthRow(BaseModel):
    month: str
    """'2026-03'."""
    label: str
    """'mar 2026'."""
    started: int
    finished: int


class ApplicationCounts(BaseModel):
    received: int
    accepted: int
    """Accepted, or accepted and since started as a course."""
    deferred: int
    rejected: int
    withdrawn: int
    in_progress: int
    """Received or under assessment."""


class EvaluationScore(BaseModel):
    programme_name: str
    question: str
    answers: int
    mean: float | None


def evaluation_scores(programme: str | None, period: Period) -> list[EvaluationScore]:
    from services.evaluation import results

    return [
        EvaluationScore(programme_name=r.name, question=q.text, answers=q.answered, mean=q.mean)
        for r in results(programme=programme, start=period.start, end=period.end)
        for q in r.questions
        if q.kind == "scale"
    ]


class KpiReport(BaseModel):
    programme: str | None
    """None: every programme."""
    programme_name: str
    period_start: date
    period_end: date
    today: date
    headline: Headline
    stages: list[StageLeadTime]
    consultants: list[ConsultantRow]
    months: list[MonthRow]
    applications: ApplicationCounts
    evaluation: list[EvaluationScore] = []
    """The evaluation form's scale questions answered in the period: answers and mean (1-5)."""


def programme_options() -> list[ProgrammeOption]:
    return [ProgrammeOption(key=k, name=latest_version(k).name) for k in programme_keys()]


def _programme_name(key: str | None) -> str:
    if key is None:
        return "Alle programmer"
    try:
        return latest_version(key).name
    except KeyError:
        return key


def _check_programme(programme: str | None) -> str | None:
    if programme in (None, ""):
        return None
    if programme not in programme_keys():
        raise InvalidInput(f"Programmet '{programme}' findes ikke.")
    return programme


def _names(programme: str, version: int | None = None) -> tuple[dict[str, tuple[int, str]], dict[str, str]]:
    """Stage key -> (order, name) and track key -> name, from the programme's definition."""
    definition = find_programme(programme, version) if version else None
    if definition is None:
        try:
            definition = latest_version(programme)
        except KeyError:
            return {}, {}
    stages = {s.key: (i, s.name) for i, s in enumerate(definition.stages)}
    tracks = {t.key: t.name for t in definition.tracks}
    return stages, tracks


def report(programme: str | None = None, period: Period | None = None) -> KpiReport:
    programme = _check_programme(programme)
    period = period or default_period()
    day = today()
    low, high = period.utc_bounds()
    with session_scope() as session:
        stages = _stage_lead_times(session, programme, low, high)
        task_rows = _finished_tasks(session, programme, low, high)
        consultants = _consultants(session, programme, day, task_rows)
        months, started, finished = _months(session, programme, period, low, high)
        active = _count(
            session, select(func.count()).where(col(Course.status).in_(ACTIVE_STATUSES)), programme
        )
        applications = _applications(session, programme, low, high)
    stages_finished = sum(s.finished for s in stages)
    stages_on_time = sum(s.on_time for s in stages)
    tasks_finished = sum(n for (_c, _late), n in task_rows.items())
    tasks_on_time = sum(n for (_c, late), n in task_rows.items() if not late)
    headline = Headline(
        started=started,
        finished=finished,
        active=active,
        stages_finished=stages_finished,
        stages_on_time=stages_on_time,
        stages_on_time_pct=share(stages_on_time, stages_finished),
        tasks_finished=tasks_finished,
        tasks_on_time=tasks_on_time,
        tasks_on_time_pct=share(tasks_on_time, tasks_finished),
        overdue_tasks=sum(c.overdue_tasks for c in consultants),
    )
    return KpiReport(
        programme=programme,
        programme_name=_programme_name(programme),
        period_start=period.start,
        period_end=period.end,
        today=day,
        headline=headline,
        stages=stages,
        consultants=consultants,
        months=months,
        applications=applications,
        evaluation=evaluation_scores(programme, period),
    )


CACHE_SECONDS = 60.0
_cache: dict[tuple[str, str | None, Period, date], tuple[float, KpiReport]] = {}


def cached_report(programme: str | None = None, period: Period | None = None) -> KpiReport:
    """`report`, kept for a minute: the page and the API answer a leader's repeated looks (and
    every chart's redraw) from memory; the numbers are at most `CACHE_SECONDS` old."""
    from core.settings import get_settings

    programme = _check_programme(programme)
    period = period or default_period()
    key = (get_settings().resolved_database_url, programme, period, today())
    hit = _cache.get(key)
    if hit is not None and hit[0] > monotonic():
        return hit[1]
    fresh = report(programme, period)
    if len(_cache) > 64:
        _cache.clear()
    _cache[key] = (monotonic() + CACHE_SECONDS, fresh)
    return fresh


def _where_programme(statement: Any, programme: str | None) -> Any:
    return statement if programme is None else statement.where(Course.programme == programme)


def _count(session: Session, statement: Any, programme: str | None) -> int:
    return int(session.exec(_where_programme(statement, programme)).one())


def _stage_lead_times(
    session: Session, programme: str | None, low: datetime, high: datetime
) -> list[StageLeadTime]:
    actual, planned, late = col(StageRun.days_taken), col(StageRun.planned_days), col(StageRun.finished_late)
    statement = (
        select(  # type: ignore[call-overload]  # sqlmodel's select has overloads up to 4 columns
            Course.programme,
            StageRun.track,
            StageRun.stage_key,
            func.max(Course.programme_version),
            func.max(StageRun.name),
            actual,
            planned,
            late,
            func.count(),
        )
        .join(Course, col(Course.id) == StageRun.course_id)
        .where(
            StageRun.status == StageStatus.DONE,
            col(StageRun.days_taken).is_not(None),
            col(StageRun.actual_end) >= low,
            col(StageRun.actual_end) < high,
        )
        .group_by(Course.programme, StageRun.track, StageRun.stage_key, actual, planned, late)
    )
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for prog, track, key, version, name, actual_days, planned_days, is_late, n in session.exec(
        _where_programme(statement, programme)
    ):
        g = groups.setdefault(
            (prog, track, key),
            {
                "version": version,
                "name": name,
                "actual": defaultdict(int),
                "planned": defaultdict(int),
                "late": 0,
            },
        )
        g["actual"][int(actual_days)] += n
        g["planned"][int(planned_days)] += n
        g["late"] += n if is_late else 0
    rows = []
    for (prog, track, key), g in groups.items():
        stage_names, track_names = _names(prog)
        order, stage_name = stage_names.get(key, (10_000, g["name"] or key))
        finished = sum(g["actual"].values())
        planned_median = quantile(g["planned"], 0.5)
        actual_median = quantile(g["actual"], 0.5)
        rows.append(
            (
                (prog, order, key),
                StageLeadTime(
                    programme=prog,
                    programme_name=_programme_name(prog),
                    track=track,
                    track_name=track_names.get(track, track),
                    stage_key=key,
                    stage_name=stage_name,
                    finished=finished,
                    planned_median_days=planned_median,
                    actual_median_days=actual_median,
                    actual_p90_days=quantile(g["actual"], 0.9),
                    deviation_median_days=None
                    if planned_median is None or actual_median is None
                    else round(actual_median - planned_median, 4),
                    on_time=finished - g["late"],
                    on_time_pct=share(finished - g["late"], finished),
                ),
            )
        )
    return [row for _key, row in sorted(rows, key=lambda r: r[0])]


def _finished_tasks(
    session: Session, programme: str | None, low: datetime, high: datetime
) -> dict[tuple[str, bool], int]:
    """(consultant, late) -> tasks completed in the period."""
    late = col(HumanTask.completed_late)
    statement = (
        select(Course.consultant, late, func.count())
        .join(Course, col(Course.id) == HumanTask.course_id)
        .where(
            HumanTask.status == TaskStatus.COMPLETED,
            col(HumanTask.completed_at) >= low,
            col(HumanTask.completed_at) < high,
        )
        .group_by(Course.consultant, late)
    )
    return {
        (consultant, bool(is_late)): int(n)
        for consultant, is_late, n in session.exec(_where_programme(statement, programme))
    }


def _consultants(
    session: Session, programme: str | None, day: date, finished: dict[tuple[str, bool], int]
) -> list[ConsultantRow]:
    active = dict(
        session.exec(
            _where_programme(
                select(Course.consultant, func.count())
                .where(col(Course.status).in_(ACTIVE_STATUSES))
                .group_by(Course.consultant),
                programme,
            )
        ).all()
    )
    open_tasks: dict[str, tuple[int, int]] = {}
    statement = (
        select(
            Course.consultant,
            func.count(),
            func.sum(case((col(HumanTask.due_date) < day, 1), else_=0)),
        )
        .join(Course, col(Course.id) == HumanTask.course_id)
        .where(HumanTask.status == TaskStatus.OPEN, col(Course.status).in_(ACTIVE_STATUSES))
        .group_by(Course.consultant)
    )
    for consultant, n, overdue in session.exec(_where_programme(statement, programme)):
        open_tasks[consultant] = (int(n), int(overdue or 0))
    names = set(active) | set(open_tasks) | {c for c, _late in finished}
    rows = []
    for name in names:
        done = finished.get((name, False), 0) + finished.get((name, True), 0)
        rows.append(
            ConsultantRow(
                consultant=name,
                active_courses=int(active.get(name, 0)),
                open_tasks=open_tasks.get(name, (0, 0))[0],
                overdue_tasks=open_tasks.get(name, (0, 0))[1],
                tasks_finished=done,
                tasks_on_time_pct=share(finished.get((name, False), 0), done),
            )
        )
    return sorted(rows, key=lambda r: (-r.active_courses, -r.overdue_tasks, r.consultant))


def _month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _months(
    session: Session, programme: str | None, period: Period, low: datetime, high: datetime
) -> tuple[list[MonthRow], int, int]:
    """Courses started and finished per month of the period, and the totals."""
    started: dict[str, int] = defaultdict(int)
    finished: dict[str, int] = defaultdict(int)
    statement = (
        select(col(Course.start_date), func.count())
        .where(col(Course.start_date) >= period.start, col(Course.start_date) <= period.end)
        .group_by(col(Course.start_date))
    )
    for start, n in session.exec(_where_programme(statement, programme)):
        started[_month_key(start)] += n
    completed = select(Course.completed_at).where(
        Course.status == CourseStatus.COMPLETED,
        col(Course.completed_at) >= low,
        col(Course.completed_at) < high,
    )
    for at in session.exec(_where_programme(completed, programme)):
        if at is not None:
            finished[_month_key(local_date(at))] += 1
    rows = []
    month = period.start.year * 12 + period.start.month - 1
    last = period.end.year * 12 + period.end.month - 1
    while month <= last:
        key = f"{month // 12:04d}-{month % 12 + 1:02d}"
        rows.append(
            MonthRow(
                month=key,
                label=f"{MONTHS[month % 12]} {month // 12}",
                started=started.get(key, 0),
                finished=finished.get(key, 0),
            )
        )
        month += 1
    return rows, sum(started.values()), sum(finished.values())


def _applications(
    session: Session, programme: str | None, low: datetime, high: datetime
) -> ApplicationCounts:
    statement = (
        select(Application.status, func.count())
        .where(col(Application.submitted_at) >= low, col(Application.submitted_at) < high)
        .group_by(Application.status)
    )
    if programme is not None:
        statement = statement.where(Application.programme == programme)
    counts = {ApplicationStatus(status): int(n) for status, n in session.exec(statement)}

    def n(*statuses: ApplicationStatus) -> int:
        return sum(counts.get(s, 0) for s in statuses)

    return ApplicationCounts(
        received=sum(counts.values()),
        accepted=n(ApplicationStatus.ACCEPTED, ApplicationStatus.STARTED),
        deferred=n(ApplicationStatus.DEFERRED),
        rejected=n(ApplicationStatus.REJECTED),
        withdrawn=n(ApplicationStatus.WITHDRAWN),
        in_progress=n(ApplicationStatus.SUBMITTED, ApplicationStatus.ASSESSMENT),
    )


# --- one row per course (the "Forløb" export) ---------------------------------------------------


class CourseRow(BaseModel):
    id: int
    municipality: str
    programme: str
    programme_version: int
    consultant: str
    start_date: date
    status: str
    current_stage: str | None
    completed_on: date | None
    stages_done: int
    stages_on_time: int
    open_tasks: int
    overdue_tasks: int


def course_rows(programme: str | None = None, period: Period | None = None) -> list[CourseRow]:
    """Every course that ran in the period: started on or before its end, and not completed
    before its start. Four queries whatever the number."""
    programme = _check_programme(programme)
    period = period or default_period()
    low, _high = period.utc_bounds()
    day = today()
    with session_scope() as session:
        in_period = and_(
            col(Course.start_date) <= period.end,
            or_(col(Course.completed_at).is_(None), col(Course.completed_at) >= low),
        )
        statement = (
            select(  # type: ignore[call-overload]  # sqlmodel's select has overloads up to 4 columns
                Course.id,
                Municipality.name,
                Course.programme,
                Course.programme_version,
                Course.consultant,
                Course.start_date,
                Course.status,
                Course.current_stage,
                Course.completed_at,
            )
            .join(Municipality, col(Municipality.code) == Course.municipality_code)
            .where(in_period)
            .order_by(col(Course.start_date), col(Course.id))
        )
        courses = session.exec(_where_programme(statement, programme)).all()
        stage_stats = {
            cid: (int(done), int(on_time or 0))
            for cid, done, on_time in session.exec(
                _where_programme(
                    select(
                        StageRun.course_id,
                        func.count(),
                        func.sum(case((col(StageRun.finished_late).is_(False), 1), else_=0)),
                    )
                    .join(Course, col(Course.id) == StageRun.course_id)
                    .where(
                        StageRun.status == StageStatus.DONE, col(StageRun.actual_end).is_not(None), in_period
                    )
                    .group_by(col(StageRun.course_id)),
                    programme,
                )
            )
        }
        task_stats = {
            cid: (int(n), int(overdue or 0))
            for cid, n, overdue in session.exec(
                _where_programme(
                    select(
                        HumanTask.course_id,
                        func.count(),
                        func.sum(case((col(HumanTask.due_date) < day, 1), else_=0)),
                    )
                    .join(Course, col(Course.id) == HumanTask.course_id)
                    .where(HumanTask.status == TaskStatus.OPEN, in_period)
                    .group_by(col(HumanTask.course_id)),
                    programme,
                )
            )
        }
    stage_names: dict[tuple[str, int], dict[str, tuple[int, str]]] = {}
    rows = []
    for cid, kommune, prog, version, consultant, start, status, current, completed in courses:
        if (prog, version) not in stage_names:
            stage_names[(prog, version)] = _names(prog, version)[0]
        current_name = stage_names[(prog, version)].get(current, (0, current))[1] if current else None
        done, on_time = stage_stats.get(cid, (0, 0))
        n_open, overdue = task_stats.get(cid, (0, 0))
        rows.append(
            CourseRow(
                id=cid,
                municipality=kommune,
                programme=prog,
                programme_version=version,
                consultant=consultant,
                start_date=start,
                status=str(getattr(status, "value", status)),
                current_stage=current_name,
                completed_on=local_date(completed) if completed else None,
                stages_done=done,
                stages_on_time=on_time,
                open_tasks=n_open,
                overdue_tasks=overdue,
            )
        )
    return rows


# --- tables: what the page shows and every export writes -----------------------------------------

Kind = Literal["text", "int", "days", "pct", "date"]


@dataclass(frozen=True)
class Column:
    header: str
    kind: Kind = "text"


@dataclass(frozen=True)
class Table:
    key: str
    """In the export's address and file name: 'faser' -> noegletal-faser.csv."""
    title: str
    columns: tuple[Column, ...]
    rows: list[tuple[Any, ...]]
    note: str = ""


TABLE_KEYS = ("overblik", "faser", "konsulenter", "maaneder", "ansoegninger", "evaluering")
"""The page's tables, in page order; `course_table` ('forloeb') is export only."""


def tables(r: KpiReport) -> list[Table]:
    from core.labels import label

    h = r.headline
    a = r.applications
    every = r.programme is None  # the lead-time table names the programme only when it may vary
    return [
        Table(
            "overblik",
            "Overblik",
            (Column("Nøgletal"), Column("Antal", "int"), Column("Andel", "pct")),
            [
                ("Forløb startet i perioden", h.started, None),
                ("Forløb afsluttet i perioden", h.finished, None),
                ("Aktive forløb i dag", h.active, None),
                ("Faser afsluttet i perioden", h.stages_finished, None),
                ("Faser afsluttet til tiden", h.stages_on_time, h.stages_on_time_pct),
                ("Opgaver udført i perioden", h.tasks_finished, None),
                ("Opgaver udført til tiden", h.tasks_on_time, h.tasks_on_time_pct),
                ("Overskredne opgaver i dag", h.overdue_tasks, None),
            ],
        ),
        Table(
            "faser",
            "Gennemløbstid pr. fase",
            (
                *((Column("Program"),) if every else ()),
                Column("Spor"),
                Column("Fase"),
                Column("Afsluttet", "int"),
                Column("Planlagt, median (dage)", "days"),
                Column("Faktisk, median (dage)", "days"),
                Column("Faktisk, p90 (dage)", "days"),
                Column("Afvigelse, median (dage)", "days"),
                Column("Til tiden", "pct"),
            ),
            [
                (
                    *((s.programme_name,) if every else ()),
                    s.track_name,
                    s.stage_name,
                    s.finished,
                    s.planned_median_days,
                    s.actual_median_days,
                    s.actual_p90_days,
                    s.deviation_median_days,
                    s.on_time_pct,
                )
                for s in r.stages
            ],
            "Faser afsluttet i perioden. Til tiden: afsluttet senest på den planlagte slutdato.",
        ),
        Table(
            "konsulenter",
            "Konsulenter: belastning og frister",
            (
                Column("Konsulent"),
                Column("Aktive forløb", "int"),
                Column("Åbne opgaver", "int"),
                Column("Overskredne opgaver", "int"),
                Column("Opgaver udført i perioden", "int"),
                Column("Udført til tiden", "pct"),
            ),
            [
                (
                    c.consultant,
                    c.active_courses,
                    c.open_tasks,
                    c.overdue_tasks,
                    c.tasks_finished,
                    c.tasks_on_time_pct,
                )
                for c in r.consultants
            ],
            "Aktive forløb og åbne opgaver i dag (i konsulentens aktive forløb, også kommunens "
            "opgaver); udførte opgaver i perioden.",
        ),
        Table(
            "maaneder",
            "Forløb pr. måned",
            (Column("Måned"), Column("Startet", "int"), Column("Afsluttet", "int")),
            [(m.label, m.started, m.finished) for m in r.months],
        ),
        Table(
            "ansoegninger",
            "Ansøgninger modtaget i perioden",
            (Column("Status"), Column("Antal", "int")),
            [
                ("Modtaget i alt", a.received),
                (label("accepted"), a.accepted),
                (label("deferred"), a.deferred),
                (label("rejected"), a.rejected),
                (label("withdrawn"), a.withdrawn),
                ("Under behandling", a.in_progress),
            ],
            "Optaget: også de ansøgninger, hvis forløb siden er startet. Status er ansøgningens "
            "status i dag.",
        ),
        Table(
            "evaluering",
            "Evalueringer (skala 1-5)",
            (
                *((Column("Program"),) if every else ()),
                Column("Spørgsmål"),
                Column("Svar", "int"),
                Column("Gennemsnit", "days"),
            ),
            [(*((e.programme_name,) if every else ()), e.question, e.answers, e.mean) for e in r.evaluation],
            "Evalueringssvar modtaget i perioden (anonyme); fordelingen og de skrevne svar står på "
            "siden Evalueringer.",
        ),
    ]


def course_table(rows: Iterable[CourseRow]) -> Table:
    from core.labels import label

    return Table(
        "forloeb",
        "Forløb i perioden",
        (
            Column("Forløb", "int"),
            Column("Kommune"),
            Column("Program"),
            Column("Version", "int"),
            Column("Konsulent"),
            Column("Startdato", "date"),
            Column("Status"),
            Column("Nuværende fase"),
            Column("Afsluttet", "date"),
            Column("Faser afsluttet", "int"),
            Column("Heraf til tiden", "int"),
            Column("Åbne opgaver", "int"),
            Column("Overskredne opgaver", "int"),
        ),
        [
            (
                c.id,
                c.municipality,
                c.programme,
                c.programme_version,
                c.consultant,
                c.start_date,
                label(c.status),
                c.current_stage or "",
                c.completed_on,
                c.stages_done,
                c.stages_on_time,
                c.open_tasks,
                c.overdue_tasks,
            )
            for c in rows
        ],
        "Forløb, der kørte i perioden: startet senest på slutdatoen og ikke afsluttet før startdatoen.",
    )


def all_tables(r: KpiReport, courses: Sequence[CourseRow] | None = None) -> list[Table]:
    found = tables(r)
    return [*found, course_table(courses)] if courses is not None else found
