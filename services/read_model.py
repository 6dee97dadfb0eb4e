"""The one read model: one function per view, used by the CLI, the JSON API and the pages.

    overview(filters)      one row per course (stage, days in stage, next task/meeting, counts)
    stage_counts()         active courses per programme stage (the overview's header)
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

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict
from sqlalchemy import ColumnElement, and_, exists, func, or_
from sqlmodel import col, select

from core.clock import as_utc, days_since, now, today
from core.db import session_scope
from core.errors import InvalidInput, NotFound
from models.programmes import ProgrammeDef, StageDef, find_programme, latest_version, programme_keys
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


class OverviewRow(BaseModel):
    """One course in the overview (pages, `forloeb status`, and the base of the API's course)."""

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
        conds.append(col(Course.current_stage) == f.stage)
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
    """One page of the course overview: 5 queries whatever the number of courses."""
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
        open_by_course: dict[int, list[tuple[int, str, date]]] = {}
        if ids:
            # Open tasks are a few per course (partial index on open tasks): read them, earliest
            # deadline first, and count in Python; the first one is the course's next task.
            for task_id, task_course, title, due in session.exec(
                select(
                    col(HumanTask.id), col(HumanTask.course_id), col(HumanTask.title), col(HumanTask.due_date)
                )
                .where(col(HumanTask.course_id).in_(ids), col(HumanTask.status) == TaskStatus.OPEN)
                .order_by(col(HumanTask.due_date), col(HumanTask.id))
            ):
                assert task_id is not None
                open_by_course.setdefault(task_course, []).append((task_id, title, due))
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
                stage_name=stage.name if stage else course.current_stage,
                stage_position=programme.stage_position.get(stage.key) if programme and stage else None,
                stage_count=len(programme.stages) if programme else 0,
                days_in_stage=days_since(course.current_stage_since, day),
                next_meeting_at=upcoming.planned_at if upcoming else None,
                next_meeting_title=upcoming.title if upcoming else None,
                next_task_id=next_task[0] if next_task else None,
                next_task_title=next_task[1] if next_task else None,
                next_task_due=next_task[2] if next_task else None,
                open_tasks=len(open_tasks),
                overdue_tasks=sum(1 for _id, _title, due in open_tasks if due < day),
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


def stage_counts() -> list[StageCount]:
    """Active courses per (programme, stage) across all courses, in programme order."""
    with session_scope() as session:
        rows = list(
            session.exec(
                select(Course.programme, Course.current_stage, func.count())
                .where(col(Course.status).in_(ACTIVE_STATUSES))
                .group_by(col(Course.programme), col(Course.current_stage))
            )
        )
    found = {(p, s): int(n) for p, s, n in rows}
    result = []
    for key in programme_keys():
        definition = latest_version(key)
        if (key, None) in found:
            result.append(StageCount(key, definition.name, None, "Starter", found[(key, None)]))
        for stage in definition.stages:
            result.append(
                StageCount(key, definition.name, stage.key, stage.name, found.get((key, stage.key), 0))
            )
    return result


@dataclass(frozen=True)
class FilterOptions:
    programmes: list[tuple[str, str]]
    consultants: list[str]
    regions: list[str]
    stages: list[tuple[str, str]]
    statuses: list[str]


def filter_options() -> FilterOptions:
    with session_scope() as session:
        consultants = sorted(session.exec(select(Course.consultant).distinct()))
        regions = sorted(session.exec(select(Municipality.region).distinct()))
    stages: dict[str, str] = {}
    for key in programme_keys():
        for stage in latest_version(key).stages:
            stages.setdefault(stage.key, stage.name)
    return FilterOptions(
        programmes=[(k, latest_version(k).name) for k in programme_keys()],
        consultants=consultants,
        regions=regions,
        stages=list(stages.items()),
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
    overdue_tasks: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


AUDIT_LIMIT = 500


def course_detail(course_id: int) -> CourseDetail:
    """Everything the course page shows, in a fixed number of read_model."""
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
