"""JSON API under /api (OpenAPI at /api/openapi.json). Same service functions as the CLI and the
pages; errors are `application/problem+json` (see `dashboard.app`)."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, computed_field

from core import settings
from core.errors import Conflict
from dashboard.access import api_reader
from dashboard.api_schema import (
    COMMON,
    WRITE,
    AnswerIn,
    ConsultantName,
    IsoDate,
    ProgrammeKey,
    check_answer_types,
    problems,
)
from dashboard.deps import AdminCoursesWriter, AdminReader, CoursesWriter, Reader, TasksWriter, api_user
from models.forms import VISIBLE
from models.tables import AccessKind, AccessVia, CourseStatus, HumanTask
from services import access_log, bpmn, courses, outbox_admin, programmes, read_model, recovery
from services.read_model import UtcDatetime  # always with an offset (SQLite reads them naive)

MAX_ID = 2**31 - 1
CourseId = Annotated[int, Path(ge=1, le=MAX_ID)]
TaskId = Annotated[int, Path(ge=1, le=MAX_ID)]
NotificationId = Annotated[int, Path(ge=1, le=MAX_ID)]
OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]


router = APIRouter(
    prefix="/api",
    tags=["api"],
    dependencies=[Depends(api_user)],
    responses=COMMON,
)


class CourseOut(read_model.OverviewRow):
    """A course as the API shows it: every field of the read model's overview row (inherited, so
    the API can never lose one) and the link to its Prefect flow run."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def flow_run_url(self) -> str | None:
        return settings.flow_run_url(self.flow_run_id)


class CourseList(BaseModel):
    items: list[CourseOut]
    total: int
    page: int
    page_size: int


class StageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    stage_key: str
    track: str
    position: int
    name: str
    status: str
    planned_start: date
    planned_end: date
    actual_start: UtcDatetime | None
    actual_end: UtcDatetime | None


class TaskOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    course_id: int
    stage_key: str
    key: str
    kind: str
    title: str
    assignee_role: str
    due_date: date
    status: str
    answer: dict[str, Any] | None
    completed_by: str | None
    completed_at: UtcDatetime | None


class MeetingOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    key: str
    kind: str
    title: str
    planned_at: UtcDatetime
    location: str
    status: str
    held_on: date | None


class CourseDetailOut(BaseModel):
    course: CourseOut
    stages: list[StageOut]
    tasks: list[TaskOut]
    meetings: list[MeetingOut]


class StartCourseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    municipality: str = Field(
        min_length=1,
        max_length=100,
        pattern=VISIBLE,
        description="Kommunens kode, navn eller en del af navnet, der kun passer på én kommune "
        "(flere: 422 med kandidaterne; ingen: 404).",
    )
    programme: ProgrammeKey
    consultant: ConsultantName
    start_date: IsoDate | None = Field(None, description="Default: today.")


class TaskPage(BaseModel):
    items: list[TaskOut]
    total: int


class NotificationList(BaseModel):
    items: list[dict[str, Any]]
    total: int


def _course_out(row: read_model.OverviewRow) -> CourseOut:
    return CourseOut.model_validate(row, from_attributes=True)


def _task_out(task: HumanTask) -> TaskOut:
    return TaskOut.model_validate(task, from_attributes=True)


@router.get("/courses", response_model=CourseList, responses=problems(422), summary="List and filter courses")
def list_courses(
    reader: Reader,
    programme: ProgrammeKey | None = None,
    consultant: str | None = None,
    region: str | None = None,
    stage: str | None = None,
    status: CourseStatus | None = None,
    overdue_only: bool = False,
    sort: Literal[
        "kommune", "program", "konsulent", "fase", "dage", "moede", "opgaver", "overskredet", "status"
    ] = "kommune",
    descending: bool = False,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=read_model.MAX_PAGE_SIZE)] = 50,
) -> CourseList:
    result = read_model.overview(
        read_model.OverviewFilters(
            programme=programme,
            consultant=consultant,
            region=region,
            stage=stage,
            status=status,
            overdue_only=overdue_only,
            sort=sort,
            descending=descending,
            page=page,
            page_size=page_size,
        )
    )
    return CourseList(
        items=[_course_out(r) for r in result.rows], total=result.total, page=page, page_size=page_size
    )


def _detail(course_id: int) -> CourseDetailOut:
    detail = read_model.course_detail(course_id)
    (summary,) = read_model.overview(read_model.OverviewFilters(course_id=course_id)).rows
    # The detail knows what a waiting track waits on (a timer's day, from the answers).
    summary = summary.model_copy(update={"tracks": detail.tracks})
    return CourseDetailOut(
        course=_course_out(summary),
        stages=[StageOut.model_validate(s) for s in detail.stages],
        tasks=[_task_out(t) for t in detail.tasks],
        meetings=[MeetingOut.model_validate(m) for m in detail.meetings],
    )


@router.get(
    "/courses/{course_id}",
    response_model=CourseDetailOut,
    responses=problems(404, 422),
    summary="A course with its stages, tasks and meetings",
)
def get_course(
    course_id: CourseId, reader: Reader, request: Request, background: BackgroundTasks
) -> CourseDetailOut:
    detail = _detail(course_id)
    actor = api_reader(request, reader)
    background.add_task(access_log.record_read, AccessKind.COURSE, course_id, actor, AccessVia.API)
    return detail


@router.post(
    "/courses",
    response_model=CourseDetailOut,
    status_code=201,
    responses={**WRITE, **problems(404, 409, 503)},
    summary="Start a course (creates its Prefect flow run)",
)
def start_course(body: StartCourseIn, user: CoursesWriter) -> CourseDetailOut:
    course = courses.start_course(
        body.municipality, body.programme, body.consultant, body.start_date, actor=user.username
    )
    assert course.id is not None
    return _detail(course.id)


@router.get(
    "/tasks",
    response_model=TaskPage,
    responses=problems(422),
    summary="List tasks (open ones by default), overdue first",
)
def list_tasks(
    reader: Reader,
    consultant: str | None = None,
    course_id: OptionalId = None,
    assignee_role: Annotated[str | None, Query(max_length=50, description="A programme role key")] = None,
    overdue_only: bool = False,
    include_done: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TaskPage:
    rows, total = read_model.task_inbox(
        consultant=consultant,
        course_id=course_id,
        assignee_role=assignee_role,
        overdue_only=overdue_only,
        include_done=include_done,
        limit=limit,
        offset=offset,
    )
    return TaskPage(items=[_task_out(r.task) for r in rows], total=total)


@router.get("/tasks/{task_id}", response_model=TaskOut, responses=problems(404, 422), summary="One task")
def get_task(task_id: TaskId, reader: Reader) -> TaskOut:
    return _task_out(read_model.get_task(task_id))


@router.get(
    "/tasks/{task_id}/form-schema",
    responses=problems(404, 422),
    summary="JSON schema of the task's form (what `answer` must look like)",
)
def task_form_schema(task_id: TaskId, reader: Reader) -> dict[str, Any]:
    return courses.task_form_schema(read_model.get_task(task_id))


@router.post(
    "/tasks/{task_id}/complete",
    response_model=TaskOut,
    responses={**WRITE, **problems(404, 409, 503)},
    summary="Complete a task: validate, store the answer and resume the course",
    description="The body names the task's form (`form`, the task's `kind`) and holds its answer: "
    "one schema per form. Another form than the task's is a conflict (409).",
)
def complete_task(task_id: TaskId, body: AnswerIn, user: TasksWriter) -> TaskOut:
    kind = read_model.get_task(task_id).kind
    if body.form != kind:
        raise Conflict(f"Opgave {task_id} udfyldes med formularen '{kind}', ikke '{body.form}'.")
    check_answer_types(kind, body.answer)
    task = courses.complete_task(task_id, body.answer, actor=user.username)
    return _task_out(task)


@router.get(
    "/notifications", response_model=NotificationList, responses=problems(422), summary="Notifications outbox"
)
def list_notifications(
    reader: Reader,
    status: Annotated[
        Literal["handling", "pending", "sending", "sent", "failed"] | None,
        Query(description="'handling': failed, and interrupted mid-send (perhaps sent)"),
    ] = None,
    course_id: OptionalId = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> NotificationList:
    page = outbox_admin.list_notifications(status=status, course_id=course_id, limit=limit, offset=offset)
    return NotificationList(items=page.rows, total=page.total)


@router.post(
    "/notifications/{notification_id}/retry",
    responses=problems(404, 409, 422, 502),
    summary="Send a failed notification again (502 if it fails again; 409 if sent or perhaps sent)",
)
def retry_notification(
    notification_id: NotificationId,
    user: CoursesWriter,
    request: Request,
    force: Annotated[
        bool, Query(description="Send a row whose earlier send was interrupted (it may have arrived)")
    ] = False,
) -> dict[str, str]:
    outbox_admin.retry_notification(notification_id, actor=user.username, force=force)
    return {"status": "sendt"}


@router.get(
    "/operations",
    response_model=recovery.Diagnosis,
    responses=problems(503),
    summary="Courses whose app database and Prefect state disagree (admins)",
)
def operations(user: AdminReader) -> recovery.Diagnosis:
    return recovery.diagnose()


class ResumeOut(BaseModel):
    repairs: list[str] = Field(description="What was done, in Danish; empty when nothing was wrong")


@router.post(
    "/courses/{course_id}/resume",
    response_model=ResumeOut,
    responses=problems(404, 409, 422, 503),
    summary="Repair whatever keeps a course from going on (admins; audited)",
)
def resume_course(course_id: CourseId, user: AdminCoursesWriter) -> ResumeOut:
    return ResumeOut(repairs=recovery.resume_course(course_id, actor=user.username))


# --- BPMN 2.0 (services.bpmn) ------------------------------------------------------------------


@router.get(
    "/programmes/{key}/{version}/bpmn",
    response_class=Response,
    responses={200: {"content": {"application/xml": {"schema": {"type": "string"}}}}, **problems(404, 422)},
    summary="A programme version as BPMN 2.0 XML with its diagram (Camunda Modeler, bpmn.io)",
)
def programme_bpmn(
    reader: Reader,
    key: Annotated[ProgrammeKey, Path()],
    version: Annotated[int, Path(ge=1, le=MAX_ID)],
) -> Response:
    programme = programmes.get_version(key, version)
    return Response(
        bpmn.export(programme),
        media_type="application/xml",
        headers={"Content-Disposition": f'inline; filename="{programme.key}-v{programme.version}.bpmn"'},
    )


class DiagramOut(BaseModel):
    """A course on its programme version's BPMN diagram: which elements are finished and current
    (every track); the others are planned."""

    programme: str
    version: int
    bpmn_url: str | None = Field(None, description="The programme version's BPMN XML")
    done: list[str] = Field(default_factory=list, description="BPMN element ids that are finished")
    current: list[str] = Field(
        default_factory=list, description="BPMN element ids where the course is now (per track)"
    )


@router.get(
    "/courses/{course_id}/diagram",
    response_model=DiagramOut,
    responses=problems(404, 422),
    summary="The course's state on its programme's BPMN diagram",
)
def course_diagram(course_id: CourseId, reader: Reader) -> DiagramOut:
    return DiagramOut(**bpmn.diagram_state(course_id))
