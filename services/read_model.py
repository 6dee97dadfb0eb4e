"""The one read model: one function per view, used by the CLI, the JSON API and the pages.

    overview(filters)      one row per course (stage per track, days in stage, next task/meeting, counts)
    stage_counts()         active courses per programme stage, every track (the overview's header)
    filter_options()       what the overview can be filtered by
    course_detail(id)      everything about one course (stage list, meetings, tasks, audit)
    task_inbox(...)        tasks across courses, overdue first
    task_with_course(id)   one task with its course and municipality
    municipality_rows()    the municipalities with their courses

Paginated and filtered, a fixed number of queries whatever the number of courses (no N+1). A
course whose programme version is unknown to this code still shows (with its stored keys).
Writes go through `services.courses` and the other services.

`OverviewRow` is a pydantic model and the base of the JSON API's course model (`dashboard.api.
CourseOut` derives from it, the Base/Public pattern): a field added or renamed here is added or
renamed in the API and its OpenAPI schema, never silently dropped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict
from sqlalchemy import ColumnElement, and_, exists, func, or_
from sqlmodel import col, select

from core.clock import as_utc, days_since, now, today
from core.db import session_scope
from core.errors import InvalidInput, NotFound
from models.programmes import (
    ProgrammeDef,
    StageDef,
    TrackDef,
    catalog,
    find_programme,
    latest_version,
    programme_keys,
)
from models.tables import (
    ACTIVE_STATUSES,
    AuditEvent,
    Contact,
    Course,
    CourseStatus,
    HumanTask,
    Meeting,
    MeetingStatus,
    Municipality,
    StageRun,
    StageStatus,
    TaskStatus,
)

SORT_KEYS: tuple[str, ...] = (
    "kommune",
    "program",
    "konsulent",
    "fase",
    "dage",
    "moede",
    "opgaver",
    "overskredet",
    "status",
)
MAX_PAGE_SIZE = 200

UtcDatetime = Annotated[datetime, AfterValidator(as_utc)]
"""A timestamp with its offset: SQLite hands them back naive (they are stored as UTC)."""


@dataclass(frozen=True)
class OverviewFilters:
    programme: str | None = None
    consultant: str | None = None
    region: str | None = None
    stage: str | None = None
    status: str | None = None
    municipality_code: int | None = None
    course_id: int | None = None
    overdue_only: bool = False
    sort: str = "kommune"
    descending: bool = False
    page: int = 1
    page_size: int | None = 50
    """None: every row (the CLI); pages and the API ask for at most `MAX_PAGE_SIZE`."""

    def normalised(self) -> OverviewFilters:
        return OverviewFilters(
            programme=self.programme or None,
            consultant=self.consultant or None,
            region=self.region or None,
            stage=self.stage or None,
            status=self.status or None,
            municipality_code=self.municipality_code,
            course_id=self.course_id,
            overdue_only=self.overdue_only,
            sort=self.sort if self.sort in SORT_KEYS else "kommune",
            descending=self.descending,
            page=max(1, self.page),
            page_size=None if self.page_size is None else max(1, min(MAX_PAGE_SIZE, self.page_size)),
        )


class TrackNow(BaseModel):
    """Where one track of a course stands: its active stage, or the stage it waits to begin."""

    model_config = ConfigDict(frozen=True)

    track: str
    track_name: str
    label: str
    """Short name for one line of text: the partner organisation running the track ("Børns
    Vilkår"), else the track's name."""
    main: bool
    state: Literal["active", "waiting", "done"]
    stage_key: str | None
    stage_name: str | None
    position: int | None
    """The stage's number within its track."""
    count: int
    """Stages in the track."""
    round: int | None
    """The round of a repeated stage, from its open task's key ("traeningsdag-planlaegning-2")."""
    round_name: str | None
    """"Træningsdag 2": the stage's meeting title (else its name) and the round."""
    waiting: str | None
    """What a waiting track waits on: "venter på Supervision" (a join), "begynder 02.03.2027" (a timer)."""

    @property
    def now_text(self) -> str:
        """ "Træningsdag 2", or the stage's name."""
        return self.round_name or self.stage_name or ""


class OverviewRow(BaseModel):
    """One course in the overview (pages, `forloeb status`, and the base of the API's course).

    `stage_*` are the main track's current stage (`Course.current_stage`); `tracks` has every
    track's current stage; `stage_text` says it in one line ("Udviklingsarbejde · Børns Vilkår:
    Træningsdag 2"; a one-track course: just the stage's name)."""

    model_config = ConfigDict(frozen=True)

    id: int
    municipality: str
    municipality_code: int
    region: str
    programme: str
    programme_name: str
    consultant: str
    status: str
    stage_key: str | None
    stage_name: str | None
    stage_position: int | None
    stage_count: int
    """Stages in the main track."""
    stage_text: str | None
    tracks: list[TrackNow]
    days_in_stage: int | None
    next_meeting_at: UtcDatetime | None
    next_meeting_title: str | None
    next_task_id: int | None
    next_task_title: str | None
    next_task_due: date | None
    open_tasks: int
    overdue_tasks: int
    start_date: date
    flow_run_id: str | None


@dataclass(frozen=True)
class OverviewPage:
    rows: list[OverviewRow]
    total: int
    filters: OverviewFilters

    @property
    def pages(self) -> int:
        size = self.filters.page_size
        return 1 if size is None else max(1, -(-self.total // size))


def programme_of(course: Course) -> ProgrammeDef | None:
    """The course's pinned definition, or None when this code does not know that version."""
    return find_programme(course.programme, course.programme_version)


def _stage_of(programme: ProgrammeDef | None, key: str | None) -> StageDef | None:
    if programme is None or key is None:
        return None
    return next((s for s in programme.stages if s.key == key), None)


def _track_label(programme: ProgrammeDef, track: TrackDef) -> str:
    """The partner organisation running a track ("Børns Vilkår"), else the track's name."""
    organisation = programme.organisation_of(track.owner)
    owners = [programme.organisation_of(t.owner).key for t in programme.tracks]
    if organisation.kind == "partner" and owners.count(organisation.key) == 1:
        return organisation.name
    return track.name


def _round_name(programme: ProgrammeDef, stage: StageDef, round_no: int | None) -> str | None:
    if stage.repeat is None or round_no is None:
        return None
    kind = next((step.meeting.kind for step in stage.steps if step.meeting is not None), None)
    unit = programme.meeting_title(kind) if kind else stage.name
    return f"{unit} {round_no}"


def tracks_now(
    programme: ProgrammeDef,
    unfinished: Sequence[tuple[str, StageStatus]],
    open_task_keys: Sequence[str],
    *,
    started: bool,
    answers: dict[str, dict[str, Any]] | None = None,
) -> list[TrackNow]:
    """Each track's current stage, from the course's stage rows that are not done ((key, status))
    and its open tasks' keys. A track with an active stage is active; else it waits on its first
    unfinished stage (for the stages of a join, or a timer: with `answers` its day is known); a
    track with no unfinished stage is done. Before the course has stage rows (`started` False):
    no tracks. Pure: the overview calls it per row on rows it read in one query per page."""
    if not started:
        return []
    status = dict(unfinished)
    rounds: dict[str, int] = {}
    for key in open_task_keys:
        found = programme.step_of_task(key)
        if found is not None:
            stage, _step, round_no = found
            rounds[stage.key] = max(round_no, rounds.get(stage.key, 0))
    result = []
    for track in programme.tracks:
        label = _track_label(programme, track)
        main = track is programme.main_track
        active = next((s for s in track.stages if status.get(s.key) == StageStatus.ACTIVE), None)
        current = active or next((s for s in track.stages if s.key in status), None)
        base = {"track": track.key, "track_name": track.name, "label": label, "main": main}
        if current is None:
            result.append(
                TrackNow(
                    **base,
                    state="done",
                    stage_key=None,
                    stage_name=None,
                    position=None,
                    count=len(track.stages),
                    round=None,
                    round_name=None,
                    waiting=None,
                )
            )
            continue
        waiting = None
        if active is None:
            blocking = [k for k in programme.predecessors(current.key) if k in status]
            if blocking:
                names = [programme.stage(k).name for k in blocking if k in programme.track_of]
                waiting = "venter på " + " og ".join(names)
            elif current.starts is not None:
                if answers is None:  # the overview: no answers read
                    waiting = "venter på sin startdato"
                else:
                    from services.engine import timer_day  # holidays: not for `forloeb status`

                    day = timer_day(current.starts, answers)
                    waiting = f"begynder {day:%d.%m.%Y}" if day else "begynder, når datoen er kendt"
        current_round = rounds.get(current.key) if active is not None else None
        result.append(
            TrackNow(
                **base,
                state="active" if active is not None else "waiting",
                stage_key=current.key,
                stage_name=current.name,
                position=programme.stage_position[current.key],
                count=len(track.stages),
                round=current_round,
                round_name=_round_name(programme, current, current_round),
                waiting=waiting,
            )
        )
    return result


def stage_text(stage_name: str | None, tracks: list[TrackNow]) -> str | None:
    """One line: the main track's stage, then each other active track ("Børns Vilkår: Træningsdag
    2"). One track: the stage's name, as always."""
    main = next((t for t in tracks if t.main), None)
    if main is not None and main.state == "waiting" and main.stage_name:
        # The main track's last stage is done and its next one waits (a join, a timer): say so.
        stage_name = f"{main.stage_name} ({main.waiting})" if main.waiting else main.stage_name
    parts = [stage_name] if stage_name else []
    parts += [f"{t.label}: {t.now_text}" for t in tracks if not t.main and t.state == "active"]
    return " · ".join(parts) or None


def _overdue_exists(day: date) -> Any:
    return exists().where(
        col(HumanTask.course_id) == col(Course.id),
        col(HumanTask.status) == TaskStatus.OPEN,
        col(HumanTask.due_date) < day,
    )


def _conditions(f: OverviewFilters, day: date) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if f.programme:
        conds.append(col(Course.programme) == f.programme)
    if f.consultant:
        conds.append(col(Course.consultant) == f.consultant)
    if f.region:
        conds.append(col(Municipality.region) == f.region)
    if f.stage:
        conds += _stage_conditions(f.stage)
    if f.status:
        if f.status not in {s.value for s in CourseStatus}:
            raise InvalidInput(
                f"Ukendt status '{f.status}'. Vælg en af: {', '.join(s.value for s in CourseStatus)}."
            )
        conds.append(col(Course.status) == f.status)
    if f.municipality_code is not None:
        conds.append(col(Course.municipality_code) == f.municipality_code)
    if f.course_id is not None:
        conds.append(col(Course.id) == f.course_id)
    if f.overdue_only:
        conds.append(_overdue_exists(day))
    return conds


def _stage_conditions(value: str) -> list[ColumnElement[bool]]:
    """The `fase` filter: "programme:stage" (the pages, the stage counts) or a bare stage key (any
    programme). A main-track stage matches the course's current stage; another track's stage
    matches while it is active in that track."""
    programme_key, _, stage_key = value.rpartition(":")
    conds: list[ColumnElement[bool]] = []
    if programme_key:
        conds.append(col(Course.programme) == programme_key)
    in_main = in_side = False
    for definition in catalog().programmes.values():
        if programme_key and definition.key != programme_key:
            continue
        track = definition.track_of.get(stage_key)
        if track is not None:
            in_main = in_main or track is definition.main_track
            in_side = in_side or track is not definition.main_track
    current = col(Course.current_stage) == stage_key
    active = exists().where(
        col(StageRun.course_id) == col(Course.id),
        col(StageRun.stage_key) == stage_key,
        col(StageRun.status) == StageStatus.ACTIVE,
    )
    if in_side and in_main:
        conds.append(or_(current, active))
    elif in_side:
        conds.append(active)
    else:
        conds.append(current)
    return conds


def _sort_column(f: OverviewFilters, day: date) -> Any:
    if f.sort == "program":
        return col(Course.programme)
    if f.sort == "konsulent":
        return col(Course.consultant)
    if f.sort == "fase":
        return col(Course.current_stage)
    if f.sort == "dage":
        # Longest in stage first when ascending by "since"; flipped so "descending" means most days.
        return func.coalesce(col(Course.current_stage_since), now())
    if f.sort == "status":
        return col(Course.status)
    if f.sort == "moede":
        return (
            select(func.min(col(Meeting.planned_at)))
            .where(
                col(Meeting.course_id) == col(Course.id),
                col(Meeting.status) == MeetingStatus.PLANNED,
                col(Meeting.planned_at) >= now(),
            )
            .correlate(Course)
            .scalar_subquery()
        )
    return col(Municipality.name)


def overview(filters: OverviewFilters | None = None) -> OverviewPage:
    """One page of the course overview: 6 queries whatever the number of courses."""
    f = (filters or OverviewFilters()).normalised()
    day = today()
    with session_scope() as session:
        conds = _conditions(f, day)
        base = select(Course.id).join(Municipality, col(Course.municipality_code) == col(Municipality.code))
        total = session.exec(
            select(func.count())
            .select_from(Course)
            .join(Municipality, col(Course.municipality_code) == col(Municipality.code))
            .where(*conds)
        ).one()
        inner_overdue = f.overdue_only and f.sort == "overskredet"
        # Sorting by overdue among overdue courses: the join below already keeps only those.
        base = base.where(*(_conditions(replace(f, overdue_only=False), day) if inner_overdue else conds))
        if f.sort in {"opgaver", "overskredet"}:
            # One grouped pass over the open tasks (index on status, due_date) joined in, rather
            # than a count per course.
            where = [col(HumanTask.status) == TaskStatus.OPEN]
            if f.sort == "overskredet":
                where.append(col(HumanTask.due_date) < day)
            counted = (
                select(col(HumanTask.course_id).label("course_id"), func.count().label("n"))
                .where(*where)
                .group_by(col(HumanTask.course_id))
                .subquery()
            )
            on = counted.c.course_id == col(Course.id)
            base = base.join(counted, on) if inner_overdue else base.outerjoin(counted, on)
            sort: Any = func.coalesce(counted.c.n, 0)
        else:
            sort = _sort_column(f, day)
        if f.sort == "dage":
            ordering = sort.asc() if f.descending else sort.desc()
        else:
            ordering = sort.desc() if f.descending else sort.asc()
        page_query = base.order_by(ordering.nulls_last(), col(Course.id))
        if f.page_size is not None:
            page_query = page_query.offset((f.page - 1) * f.page_size).limit(f.page_size)
        ids: list[int] = [i for i in session.exec(page_query) if i is not None]  # type: ignore[arg-type]
        rows_by_id: dict[int, tuple[Course, Municipality]] = {}
        if ids:
            for course, kommune in session.exec(
                select(Course, Municipality)
                .join(Municipality, col(Course.municipality_code) == col(Municipality.code))
                .where(col(Course.id).in_(ids))
            ):
                assert course.id is not None
                rows_by_id[course.id] = (course, kommune)
        open_by_course: dict[int, list[tuple[int, str, date, str]]] = {}
        if ids:
            # Open tasks are a few per course (partial index on open tasks): read them, earliest
            # deadline first, and count in Python; the first one is the course's next task.
            for task_id, task_course, title, due, key in session.exec(
                select(  # type: ignore[call-overload]  # sqlmodel's select has overloads up to 4 columns
                    col(HumanTask.id),
                    col(HumanTask.course_id),
                    col(HumanTask.title),
                    col(HumanTask.due_date),
                    col(HumanTask.key),
                )
                .where(col(HumanTask.course_id).in_(ids), col(HumanTask.status) == TaskStatus.OPEN)
                .order_by(col(HumanTask.due_date), col(HumanTask.id))
            ):
                assert task_id is not None
                open_by_course.setdefault(task_course, []).append((task_id, title, due, key))
        unfinished: dict[int, list[tuple[str, StageStatus]]] = {}
        if ids:
            # Each track's current stage, from the stage rows not done yet (a few per course).
            for run_course, run_key, run_status in session.exec(
                select(col(StageRun.course_id), col(StageRun.stage_key), col(StageRun.status)).where(
                    col(StageRun.course_id).in_(ids), col(StageRun.status) != StageStatus.DONE
                )
            ):
                unfinished.setdefault(run_course, []).append((run_key, StageStatus(run_status)))
        meetings: dict[int, Meeting] = {}
        if ids:
            for meeting in session.exec(
                select(Meeting)
                .where(
                    col(Meeting.course_id).in_(ids),
                    col(Meeting.status) == MeetingStatus.PLANNED,
                    col(Meeting.planned_at) >= now(),
                )
                .order_by(col(Meeting.planned_at))
            ):
                meetings.setdefault(meeting.course_id, meeting)
    rows = []
    for course_id in ids:
        course, kommune = rows_by_id[course_id]
        programme = programme_of(course)
        stage = _stage_of(programme, course.current_stage)
        open_tasks = open_by_course.get(course_id, [])
        next_task = open_tasks[0] if open_tasks else None
        upcoming = meetings.get(course_id)
        stage_name = stage.name if stage else course.current_stage
        tracks = (
            tracks_now(
                programme,
                unfinished.get(course_id, []),
                [t[3] for t in open_tasks],
                # No unfinished stage: every track done, or the stage plan is not laid out yet.
                started=course_id in unfinished or course.status == CourseStatus.COMPLETED,
            )
            if programme is not None
            else []
        )
        rows.append(
            OverviewRow(
                id=course_id,
                municipality=kommune.name,
                municipality_code=kommune.code,
                region=kommune.region,
                programme=course.programme,
                programme_name=programme.name if programme else course.programme,
                consultant=course.consultant,
                status=course.status.value,
                stage_key=course.current_stage,
                stage_name=stage_name,
                stage_position=programme.stage_position.get(stage.key) if programme and stage else None,
                stage_count=len(programme.main_track.stages) if programme else 0,
                stage_text=stage_text(stage_name, tracks),
                tracks=tracks,
                days_in_stage=days_since(course.current_stage_since, day),
                next_meeting_at=upcoming.planned_at if upcoming else None,
                next_meeting_title=upcoming.title if upcoming else None,
                next_task_id=next_task[0] if next_task else None,
                next_task_title=next_task[1] if next_task else None,
                next_task_due=next_task[2] if next_task else None,
                open_tasks=len(open_tasks),
                overdue_tasks=sum(1 for _id, _title, due, _key in open_tasks if due < day),
                start_date=course.start_date,
                flow_run_id=course.flow_run_id,
            )
        )
    return OverviewPage(rows=rows, total=int(total), filters=f)


@dataclass(frozen=True)
class StageCount:
    programme: str
    programme_name: str
    stage_key: str | None
    stage_name: str
    count: int
    track: str | None = None
    track_name: str | None = None
    """The stage's track in a programme with more than one (None: one track, or "Starter")."""

    @property
    def filter_value(self) -> str | None:
        """The overview's `fase` filter for exactly these courses ("inddragelse:traeningsdage")."""
        return stage_filter_value(self.programme, self.stage_key) if self.stage_key else None


def stage_filter_value(programme: str, stage_key: str) -> str:
    return f"{programme}:{stage_key}"


def _multi_track_keys() -> list[str]:
    return sorted({p.key for p in catalog().programmes.values() if len(p.tracks) > 1})


def stage_counts() -> list[StageCount]:
    """Active courses per (programme, stage) across all courses, in programme and track order. A
    course counts in its main track's current stage and in each other track's active stage; stages
    of different programmes are never mixed (each programme's stages are its latest version's)."""
    multi = _multi_track_keys()
    with session_scope() as session:
        rows = list(
            session.exec(
                select(Course.programme, Course.current_stage, func.count())
                .where(col(Course.status).in_(ACTIVE_STATUSES))
                .group_by(col(Course.programme), col(Course.current_stage))
            )
        )
        side: list[tuple[str, str, str, int]] = []
        if multi:
            side = [
                (p, t, k, int(n))
                for p, t, k, n in session.exec(
                    select(Course.programme, StageRun.track, StageRun.stage_key, func.count())
                    .join(StageRun, col(StageRun.course_id) == col(Course.id))
                    .where(
                        col(Course.programme).in_(multi),
                        col(Course.status).in_(ACTIVE_STATUSES),
                        col(StageRun.status) == StageStatus.ACTIVE,
                    )
                    .group_by(col(Course.programme), col(StageRun.track), col(StageRun.stage_key))
                )
            ]
    found = {(p, s): int(n) for p, s, n in rows}
    result = []
    for key in programme_keys():
        definition = latest_version(key)
        main = definition.main_track
        other = {stage: n for p, t, stage, n in side if p == key and t != main.key}
        if (key, None) in found:
            result.append(StageCount(key, definition.name, None, "Starter", found[(key, None)]))
        several = len(definition.tracks) > 1
        for track in definition.tracks:
            for stage in track.stages:
                n = found.get((key, stage.key), 0) if track is main else other.get(stage.key, 0)
                result.append(
                    StageCount(
                        key,
                        definition.name,
                        stage.key,
                        stage.name,
                        n,
                        track.key if several else None,
                        _track_label(definition, track) if several else None,
                    )
                )
    return result


@dataclass(frozen=True)
class FilterOptions:
    programmes: list[tuple[str, str]]
    consultants: list[str]
    regions: list[str]
    stages: list[tuple[str, str, list[tuple[str, str]]]]
    """Per programme (key, name): its stages as (filter value "programme:stage", the stage's name;
    in another track than the main one with the track's name: "Børns Vilkår: Supervision")."""
    statuses: list[str]


def filter_options() -> FilterOptions:
    with session_scope() as session:
        consultants = sorted(session.exec(select(Course.consultant).distinct()))
        regions = sorted(session.exec(select(Municipality.region).distinct()))
    stages: list[tuple[str, str, list[tuple[str, str]]]] = []
    for key in programme_keys():
        definition = latest_version(key)
        several = len(definition.tracks) > 1
        stages.append(
            (
                key,
                definition.name,
                [
                    (
                        stage_filter_value(key, stage.key),
                        f"{_track_label(definition, track)}: {stage.name}"
                        if several and track is not definition.main_track
                        else stage.name,
                    )
                    for track in definition.tracks
                    for stage in track.stages
                ],
            )
        )
    return FilterOptions(
        programmes=[(k, latest_version(k).name) for k in programme_keys()],
        consultants=consultants,
        regions=regions,
        stages=stages,
        statuses=[s.value for s in CourseStatus],
    )


# --- one course -------------------------------------------------------------------------------


@dataclass
class CourseDetail:
    course: Course
    municipality: Municipality
    programme: ProgrammeDef | None
    stages: list[StageRun]
    meetings: list[Meeting]
    tasks: list[HumanTask]
    audit: list[AuditEvent]
    contacts: list[Contact]
    days_in_stage: int | None
    stage_name: str | None
    open_tasks: int = 0
    tracks: list[TrackNow] = field(default_factory=list)
    """Every track's current stage, with what a waiting track waits on (a join, a timer's day)."""
    stage_text: str | None = None
    """One line, as in the overview: "Udviklingsarbejde · Børns Vilkår: Træningsdag 2"."""
    overdue_tasks: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


AUDIT_LIMIT = 500


def course_detail(course_id: int) -> CourseDetail:
    """Everything the course page shows, in a fixed number of queries. Stages in track order."""
    with session_scope() as session:
        course = session.get(Course, course_id)
        if course is None:
            raise NotFound(f"Forløb {course_id} findes ikke.")
        kommune = session.get(Municipality, course.municipality_code)
        assert kommune is not None
        stages = list(
            session.exec(
                select(StageRun).where(StageRun.course_id == course_id).order_by(col(StageRun.position))
            )
        )
        meetings = list(
            session.exec(
                select(Meeting).where(Meeting.course_id == course_id).order_by(col(Meeting.planned_at))
            )
        )
        tasks = list(
            session.exec(
                select(HumanTask)
                .where(HumanTask.course_id == course_id)
                .order_by(col(HumanTask.created_at), col(HumanTask.id))
            )
        )
        events = list(
            session.exec(
                select(AuditEvent)
                .where(AuditEvent.course_id == course_id)
                .order_by(col(AuditEvent.at).desc(), col(AuditEvent.id).desc())
                .limit(AUDIT_LIMIT)
            )
        )
        contacts = list(session.exec(select(Contact).where(Contact.course_id == course_id)))
    day = today()
    programme = programme_of(course)
    stage = _stage_of(programme, course.current_stage)
    stage_name = stage.name if stage else course.current_stage
    open_tasks = [t for t in tasks if t.status == TaskStatus.OPEN]
    tracks: list[TrackNow] = []
    if programme is not None:
        order = {t.key: i for i, t in enumerate(programme.tracks)}
        stages.sort(key=lambda r: (order.get(r.track, len(order)), r.position))
        unfinished = [(r.stage_key, r.status) for r in stages if r.status != StageStatus.DONE]
        answers = {t.key: t.answer for t in tasks if t.applied and t.answer is not None}
        tracks = tracks_now(
            programme,
            unfinished,
            [t.key for t in open_tasks],
            started=bool(unfinished) or course.status == CourseStatus.COMPLETED,
            answers=answers,
        )
    return CourseDetail(
        course=course,
        municipality=kommune,
        programme=programme,
        stages=stages,
        meetings=meetings,
        tasks=tasks,
        audit=events,
        contacts=contacts,
        days_in_stage=days_since(course.current_stage_since, day),
        stage_name=stage_name,
        open_tasks=len(open_tasks),
        overdue_tasks=sum(1 for t in open_tasks if t.due_date < day),
        tracks=tracks,
        stage_text=stage_text(stage_name, tracks),
    )


# --- tasks ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TaskRow:
    task: HumanTask
    course_id: int
    municipality: str
    programme: str
    consultant: str
    overdue: bool


def task_inbox(
    *,
    consultant: str | None = None,
    course_id: int | None = None,
    assignee_role: str | None = None,
    overdue_only: bool = False,
    include_done: bool = False,
    limit: int | None = 200,
    offset: int = 0,
) -> tuple[list[TaskRow], int]:
    """Open tasks (optionally of one consultant's courses), overdue first, then by due date."""
    day = today()
    conds: list[Any] = []
    if consultant:
        conds.append(col(Course.consultant) == consultant)
    if course_id is not None:
        conds.append(col(HumanTask.course_id) == course_id)
    if assignee_role:
        conds.append(col(HumanTask.assignee_role) == assignee_role)
    if not include_done:
        conds.append(col(HumanTask.status) == TaskStatus.OPEN)
    if overdue_only:
        conds.append(and_(col(HumanTask.status) == TaskStatus.OPEN, col(HumanTask.due_date) < day))
    with session_scope() as session:
        joined = (
            select(HumanTask, Course, Municipality.name)
            .join(Course, col(HumanTask.course_id) == col(Course.id))
            .join(Municipality, col(Course.municipality_code) == col(Municipality.code))
            .where(*conds)
        )
        total = session.exec(
            select(func.count())
            .select_from(HumanTask)
            .join(Course, col(HumanTask.course_id) == col(Course.id))
            .where(*conds)
        ).one()
        rows = list(
            session.exec(
                joined.order_by(
                    or_(col(HumanTask.status) != TaskStatus.OPEN, col(HumanTask.due_date) >= day),
                    col(HumanTask.due_date),
                    col(HumanTask.id),
                )
                .offset(offset)
                .limit(limit)  # None: every row (the CLI)
            )
        )
    result = []
    for task, course, name in rows:
        assert course.id is not None
        result.append(
            TaskRow(
                task=task,
                course_id=course.id,
                municipality=name,
                programme=course.programme,
                consultant=course.consultant,
                overdue=task.status == TaskStatus.OPEN and task.due_date < day,
            )
        )
    return result, int(total)


def get_task(task_id: int) -> HumanTask:
    return task_with_course(task_id)[0]


def get_course(course_id: int) -> Course:
    with session_scope() as session:
        course = session.get(Course, course_id)
        if course is None:
            raise NotFound(f"Forløb {course_id} findes ikke.")
        return course


def task_with_course(task_id: int) -> tuple[HumanTask, Course, Municipality]:
    with session_scope() as session:
        task = session.get(HumanTask, task_id)
        if task is None:
            raise NotFound(f"Opgave {task_id} findes ikke.")
        course = session.get(Course, task.course_id)
        assert course is not None
        kommune = session.get(Municipality, course.municipality_code)
        assert kommune is not None
        return task, course, kommune


# --- municipalities ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MunicipalityRow:
    code: int
    name: str
    region: str
    course_count: int
    first_start: date | None
    last_start: date | None
    current: list[tuple[int, str, str | None]]
    """Active courses: (id, programme name, stage name)."""


def municipality_rows(region: str | None = None) -> list[MunicipalityRow]:
    with session_scope() as session:
        query = select(Municipality).order_by(col(Municipality.name))
        if region:
            query = query.where(Municipality.region == region)
        kommuner = list(session.exec(query))
        stats = {
            code: (int(n), first, last)
            for code, n, first, last in session.exec(
                select(
                    Course.municipality_code,
                    func.count(),
                    func.min(Course.start_date),
                    func.max(Course.start_date),
                ).group_by(col(Course.municipality_code))
            )
        }
        active = list(
            session.exec(
                select(Course).where(col(Course.status).in_(ACTIVE_STATUSES)).order_by(col(Course.start_date))
            )
        )
    current: dict[int, list[tuple[int, str, str | None]]] = {}
    for course in active:
        assert course.id is not None
        programme = programme_of(course)
        stage = _stage_of(programme, course.current_stage)
        stage_name = stage.name if stage else course.current_stage
        current.setdefault(course.municipality_code, []).append(
            (course.id, programme.name if programme else course.programme, stage_name)
        )
    rows = []
    for kommune in kommuner:
        n, first, last = stats.get(kommune.code, (0, None, None))
        rows.append(
            MunicipalityRow(
                code=kommune.code,
                name=kommune.name,
                region=kommune.region,
                course_count=n,
                first_start=first,
                last_start=last,
                current=current.get(kommune.code, []),
            )
        )
    return rows
