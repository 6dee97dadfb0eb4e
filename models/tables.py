"""Application tables (SQLModel). The app database is the source of truth for courses;
Prefect owns execution. No prefect import here."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import uuid4

from sqlalchemy import JSON, Column, DateTime, Index, UniqueConstraint, event, text
from sqlalchemy import Enum as SAEnum
from sqlmodel import Field, SQLModel

from core.clock import local_date, now


def _ts(**kwargs: Any) -> Any:
    """A timezone-aware timestamp column."""
    return Field(sa_column=Column(DateTime(timezone=True), **kwargs))


def _enum(enum_cls: type[StrEnum], default: StrEnum, *, index: bool = False) -> Any:
    """Store an enum's *value* ('active') as plain text. SQLModel's default stores the member's
    name ('ACTIVE') and a native PostgreSQL enum type, which SQL written with values (the partial
    index below, reports, other tools) would not match."""
    return Field(
        default=default,
        index=index,
        sa_type=SAEnum(
            enum_cls,
            native_enum=False,
            length=20,
            validate_strings=True,
            values_callable=lambda members: [m.value for m in members],
        ),
    )


# Stored codes are English; the Danish words people read are in `core.labels`.
class CourseStatus(StrEnum):
    STARTING = "starting"
    ACTIVE = "active"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


ACTIVE_STATUSES = (CourseStatus.STARTING, CourseStatus.ACTIVE)


class StageStatus(StrEnum):
    PLANNED = "planned"
    ACTIVE = "active"
    DONE = "done"


class TaskStatus(StrEnum):
    OPEN = "open"
    COMPLETED = "completed"


class MeetingStatus(StrEnum):
    PLANNED = "planned"
    HELD = "held"
    CANCELLED = "cancelled"


class Municipality(SQLModel, table=True):
    code: int = Field(primary_key=True)
    name: str = Field(index=True, unique=True)
    region: str = Field(index=True)


class Course(SQLModel, table=True):
    __table_args__ = (
        # At most one active course per municipality and programme, enforced by the database
        # too, so two consultants starting at once cannot both succeed.
        Index(
            "uq_course_active",
            "municipality_code",
            "programme",
            unique=True,
            sqlite_where=text("status IN ('starting', 'active')"),
            postgresql_where=text("status IN ('starting', 'active')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=lambda: uuid4().hex, unique=True)
    """Stable across databases: the flow run's idempotency key (ids can repeat after a reset)."""
    municipality_code: int = Field(foreign_key="municipality.code", index=True)
    programme: str = Field(index=True)
    programme_version: int
    consultant: str = Field(index=True)
    start_date: date
    status: CourseStatus = _enum(CourseStatus, CourseStatus.STARTING, index=True)
    current_stage: str | None = Field(default=None, index=True)
    current_stage_since: datetime | None = _ts(nullable=True)
    flow_run_id: str | None = Field(default=None, index=True)
    created_at: datetime = _ts(nullable=False, default=now)
    completed_at: datetime | None = _ts(nullable=True)
    wake_at: datetime | None = _ts(nullable=True, index=True)
    """A stage waits on a timer until then (the course flow is suspended meanwhile): the lead runner
    resumes the run when the time has come (`services.recovery`)."""
    application_id: int | None = Field(default=None, index=True)
    """The application the course came from (`Application`), if any."""
    focus: str | None = None
    """The focus the municipality asked for in its application."""
    purged_at: datetime | None = _ts(nullable=True)
    """When the personal data was purged after the retention period (`services.privacy`)."""


class StageRun(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("course_id", "stage_key"),)

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    stage_key: str
    track: str = Field(default="hoved", sa_column_kwargs={"server_default": "hoved"})
    """The programme track the stage belongs to (stages of different tracks run in parallel)."""
    position: int
    """Number within its track."""
    name: str
    status: StageStatus = _enum(StageStatus, StageStatus.PLANNED)
    planned_start: date
    planned_end: date
    actual_start: datetime | None = _ts(nullable=True)
    actual_end: datetime | None = _ts(nullable=True)
    # Kept by `stage_figures` whenever the row is written, so the numbers page groups stored
    # integers instead of turning two timestamps into Copenhagen dates for every stage row.
    days_taken: int | None = None
    """Copenhagen days from the actual start to the actual end (a done stage with both)."""
    planned_days: int | None = None
    """Days from the planned start to the planned end."""
    finished_late: bool | None = None
    """A done stage ended (Copenhagen date) after its planned end."""


class HumanTask(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("course_id", "key"),
        Index("ix_task_status_due", "status", "due_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    stage_key: str
    key: str
    """The pause key of the wait, unique within the course (kebab-case)."""
    kind: str
    """The form's name in `models.forms.FORMS`."""
    title: str
    assignee_role: str
    due_date: date
    status: TaskStatus = _enum(TaskStatus, TaskStatus.OPEN)
    answer: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    completed_by: str | None = None
    completed_at: datetime | None = _ts(nullable=True)
    completed_late: bool | None = None
    """Completed (Copenhagen date) after the due date; kept by `task_figures`."""
    applied: bool = False
    """True once the course flow has acted on the answer (meetings, stage rows)."""
    created_at: datetime = _ts(nullable=False, default=now)


def stage_figures(
    status: StageStatus | str,
    planned_start: date,
    planned_end: date,
    actual_start: datetime | None,
    actual_end: datetime | None,
) -> tuple[int | None, int, bool | None]:
    """(days taken, planned days, finished late) of a stage row, in Copenhagen dates."""
    done = status == StageStatus.DONE and actual_end is not None
    end = local_date(actual_end) if done and actual_end is not None else None
    taken = (end - local_date(actual_start)).days if end is not None and actual_start is not None else None
    return taken, (planned_end - planned_start).days, (end > planned_end) if end is not None else None


def task_figures(completed_at: datetime | None, due_date: date) -> bool | None:
    """Whether a task was completed (Copenhagen date) after its due date; None while open."""
    return None if completed_at is None else local_date(completed_at) > due_date


@event.listens_for(StageRun, "before_insert")
@event.listens_for(StageRun, "before_update")
def _keep_stage_figures(_mapper: Any, _connection: Any, run: StageRun) -> None:
    run.days_taken, run.planned_days, run.finished_late = stage_figures(
        run.status, run.planned_start, run.planned_end, run.actual_start, run.actual_end
    )


@event.listens_for(HumanTask, "before_insert")
@event.listens_for(HumanTask, "before_update")
def _keep_task_figures(_mapper: Any, _connection: Any, task: HumanTask) -> None:
    task.completed_late = task_figures(task.completed_at, task.due_date)


class Meeting(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("course_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    key: str
    kind: str
    title: str
    planned_at: datetime = _ts(nullable=False)
    location: str = ""
    link: str | None = None
    """A virtual meeting's link (into the invitation and the .ics)."""
    status: MeetingStatus = _enum(MeetingStatus, MeetingStatus.PLANNED)
    version: int = 1
    held_on: date | None = None


class Contact(SQLModel, table=True):
    """Municipal staff: name, role and e-mail only (data minimisation)."""

    __table_args__ = (UniqueConstraint("course_id", "email"),)

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    name: str
    role: str
    email: str
    organisation: str = Field(default="kommune", sa_column_kwargs={"server_default": "kommune"})
    """The programme organisation the person belongs to: the municipality, or a partner."""


class FlowMark(SQLModel, table=True):
    """A course flow action that is done (`services.engine`): "begin:workshops", "invite:workshop-2".
    Written last, in the action's own transaction where it can be: an action interrupted before its
    mark runs again, and every action is idempotent on its own."""

    __table_args__ = (UniqueConstraint("course_id", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    key: str = Field(max_length=200)
    at: datetime = _ts(nullable=False, default=now)


class AuditEvent(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    course_id: int | None = Field(default=None, foreign_key="course.id", index=True)
    at: datetime = _ts(nullable=False, default=now)
    actor: str
    action: str
    detail: str = ""
    dedupe_key: str | None = Field(default=None, unique=True)
    """Set by the course flow so a replayed step never writes its event twice."""
    application_id: int | None = Field(default=None, index=True)
    """An event about an application (issue 13): decisions, documents, withdrawal."""


# --- dashboard (issue 5) --------------------------------------------------------------------


class UserRole(StrEnum):
    CONSULTANT = "consultant"
    ADMIN = "admin"


class User(SQLModel, table=True):
    """A dashboard login. `display_name` of a consultant matches `Course.consultant`."""

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True)
    display_name: str
    role: UserRole = _enum(UserRole, UserRole.CONSULTANT)
    password_hash: str
    active: bool = True


# The overview counts open/overdue tasks per course: a partial index holds only the open ones
# (a few per cent of all tasks), so counting and "overdue only" never scan finished work.
Index(
    "ix_humantask_open_course_due",
    HumanTask.__table__.c.course_id,  # type: ignore[attr-defined]
    HumanTask.__table__.c.due_date,  # type: ignore[attr-defined]
    sqlite_where=text("status = 'open'"),
    postgresql_where=text("status = 'open'"),
)
Index(
    "ix_meeting_course_status_at",
    Meeting.__table__.c.course_id,  # type: ignore[attr-defined]
    Meeting.__table__.c.status,  # type: ignore[attr-defined]
    Meeting.__table__.c.planned_at,  # type: ignore[attr-defined]
)
Index("ix_auditevent_course_at", AuditEvent.__table__.c.course_id, AuditEvent.__table__.c.at)  # type: ignore[attr-defined]
Index("ix_course_stage_since", Course.__table__.c.current_stage_since)  # type: ignore[attr-defined]


# --- notifications (issue 4) ----------------------------------------------------------------


class NotificationStatus(StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    """Claimed by one sender (committed before the send): nobody else sends it meanwhile, and a
    crash mid-send leaves it here - perhaps sent - instead of sending it again."""
    SENT = "sent"
    FAILED = "failed"


class Notification(SQLModel, table=True):
    """The outbox: one row per message and recipient. `idempotency_key` makes enqueueing a
    message twice (a replayed flow, a retried reminder run) return the same row, and a row
    that is `sent` is never sent again."""

    id: int | None = Field(default=None, primary_key=True)
    course_id: int | None = Field(default=None, foreign_key="course.id", index=True)
    meeting_id: int | None = Field(default=None, foreign_key="meeting.id", index=True)
    application_id: int | None = Field(default=None, index=True)
    """A message about an application: receipt, decision letter, request for a document."""
    purpose: str = Field(index=True)
    channel: str = "mail"
    """'mail' (recipient is an e-mail address) or 'kanal' (recipient names an extra Apprise URL)."""
    recipient: str
    idempotency_key: str = Field(unique=True)
    subject: str
    body_text: str
    body_html: str = ""
    ics: str | None = None
    status: NotificationStatus = _enum(NotificationStatus, NotificationStatus.PENDING, index=True)
    attempts: int = 0
    last_error: str | None = None
    created_at: datetime = _ts(nullable=False, default=now)
    updated_at: datetime | None = _ts(nullable=True)
    sent_at: datetime | None = _ts(nullable=True)


class ReminderRunStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"


class ReminderRun(SQLModel, table=True):
    """A one-off scheduled Prefect flow run that will send a reminder for one meeting version."""

    __table_args__ = (UniqueConstraint("meeting_id", "kind", "meeting_version"),)

    id: int | None = Field(default=None, primary_key=True)
    meeting_id: int = Field(foreign_key="meeting.id", index=True)
    kind: str
    meeting_version: int
    scheduled_for: datetime = _ts(nullable=False)
    flow_run_id: str | None = None
    status: ReminderRunStatus = _enum(ReminderRunStatus, ReminderRunStatus.SCHEDULED)


class ConsultantPreference(SQLModel, table=True):
    """Per consultant (by display name, as on `Course.consultant`): e-mail and opt-ins."""

    consultant: str = Field(primary_key=True)
    email: str | None = None
    stage_summary: bool = False
    """Send a short mail to the consultant each time one of their courses changes stage."""


# --- operations (issue 10) ------------------------------------------------------------------


class RunnerProcess(SQLModel, table=True):
    """A live runner: renewed every few seconds with the flow runs it executes. A run that is
    Running or Pending in Prefect but held by no live runner was orphaned (its runner was killed)
    and is handed back by the lead runner (`services.recovery`)."""

    id: str = Field(primary_key=True, max_length=100)
    """host-pid-random, new at each start."""
    host: str
    pid: int
    started_at: datetime = _ts(nullable=False)
    seen_at: datetime = _ts(nullable=False)
    running: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """Flow run ids this runner executes right now."""


# --- applications (issue 13) ----------------------------------------------------------------


class ApplicationStatus(StrEnum):
    SUBMITTED = "submitted"
    ASSESSMENT = "assessment"
    ACCEPTED = "accepted"
    DEFERRED = "deferred"
    REJECTED = "rejected"
    WITHDRAWN = "withdrawn"
    STARTED = "started"


OPEN_APPLICATION_STATUSES = (
    ApplicationStatus.SUBMITTED,
    ApplicationStatus.ASSESSMENT,
    ApplicationStatus.ACCEPTED,
    ApplicationStatus.DEFERRED,
)


class ApplicationRound(SQLModel, table=True):
    """One application round of a programme with rounds (`intake.rounds` in its definition), made
    from the definition the first time it is needed: '2026-foraar'."""

    __table_args__ = (UniqueConstraint("programme", "key"),)

    id: int | None = Field(default=None, primary_key=True)
    programme: str = Field(index=True)
    key: str
    name: str
    opens_on: date
    deadline: date
    preferred_start: date


class Application(SQLModel, table=True):
    """A municipality's application for a course. Only municipal staff's name, role and e-mail
    and aggregate numbers: nothing about children."""

    __table_args__ = (
        # One open application per municipality and programme, in the database too.
        Index(
            "uq_application_open",
            "municipality_code",
            "programme",
            unique=True,
            sqlite_where=text("status IN ('submitted', 'assessment', 'accepted', 'deferred')"),
            postgresql_where=text("status IN ('submitted', 'assessment', 'accepted', 'deferred')"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=lambda: uuid4().hex, unique=True)
    municipality_code: int = Field(foreign_key="municipality.code", index=True)
    programme: str = Field(index=True)
    round_id: int | None = Field(default=None, foreign_key="applicationround.id", index=True)
    status: ApplicationStatus = _enum(ApplicationStatus, ApplicationStatus.SUBMITTED, index=True)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    """The form's answers (`models.application_form.ApplicationForm`), without the uploads."""
    preferred_start: date
    submitted_at: datetime = _ts(nullable=False, default=now)
    decision: str | None = None
    """accept, defer or reject: the latest decision."""
    decision_no: int = 0
    """Counts decisions: each gets its own letter."""
    decided_by: str | None = None
    decided_at: datetime | None = _ts(nullable=True)
    reject_reason: str | None = None
    start_date: date | None = None
    """The course's start (accepted, or the slot it was deferred to)."""
    slot: str | None = None
    """The capacity period the start falls in: '2026-H2' or '2026'."""
    consultant: str | None = None
    """Who runs the course: set by the decision."""
    course_id: int | None = Field(default=None, index=True)
    flow_run_id: str | None = Field(default=None, index=True)
    wake_at: datetime | None = _ts(nullable=True, index=True)
    """The application's run waits until then (its start date, or now after a person changed
    something): the lead runner resumes it (`services.recovery`)."""
    done: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    """Done-marks of the application flow's actions ('receipt', 'letter:1', 'start')."""
    purged_at: datetime | None = _ts(nullable=True)
    """When the personal data was purged after the retention period (`services.privacy`)."""


class ApplicationDocument(SQLModel, table=True):
    """An uploaded PDF, stored outside the web root under its content hash."""

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    kind: str
    """'referat' (minutes of a leadership meeting) or 'underskrift' (the signed declaration)."""
    sha256: str = Field(max_length=64)
    filename: str
    """The original name, sanitised."""
    size: int
    uploaded_at: datetime = _ts(nullable=False, default=now)
    uploaded_by: str


class ApplicationScore(SQLModel, table=True):
    """One consultant's score of one criterion (1-5) with a note."""

    __table_args__ = (UniqueConstraint("application_id", "consultant", "criterion"),)

    id: int | None = Field(default=None, primary_key=True)
    application_id: int = Field(foreign_key="application.id", index=True)
    consultant: str
    criterion: str
    score: int
    note: str = ""
    at: datetime = _ts(nullable=False, default=now)


class IntroTalk(SQLModel, table=True):
    """An 'indledende drøftelse' (or a recommended prior meeting) held with a municipality."""

    id: int | None = Field(default=None, primary_key=True)
    municipality_code: int = Field(foreign_key="municipality.code", index=True)
    programme: str = Field(index=True)
    held_on: date
    registered_by: str
    note: str = ""


class EvaluationInvite(SQLModel, table=True):
    """One person's link to a course's evaluation form (issue 15): who was asked (for the reminders)
    and whether they answered, never what. The answer is stored apart, without a name."""

    __table_args__ = (UniqueConstraint("course_id", "email"),)

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    token: str = Field(unique=True, max_length=64)
    email: str
    name: str
    sent_on: date
    answered: bool = False


class EvaluationAnswer(SQLModel, table=True):
    """One anonymous answer to a course's evaluation form: no name, no address, no link to the
    invite; the day only (not the time), so it cannot be matched to a sent link by its moment."""

    id: int | None = Field(default=None, primary_key=True)
    course_id: int = Field(foreign_key="course.id", index=True)
    programme: str = Field(index=True)
    programme_version: int
    submitted_on: date = Field(index=True)
    answers: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    """Question key -> 1-5 (scale) or text (free text, CPR refused)."""


# --- The network (issue 15) -------------------------------------------------------------------


class NetworkMeetingStatus(StrEnum):
    PLANNED = "planned"
    CANCELLED = "cancelled"


class NetworkMember(SQLModel, table=True):
    """A municipality's contact person signed up for the cross-municipal network: name and work
    e-mail only (what the invitations need). `token` is the person's own link to leave."""

    __table_args__ = (
        # One active membership per municipality and address, in the database too.
        Index(
            "uq_networkmember_active",
            "municipality_code",
            "email",
            unique=True,
            sqlite_where=text("left_at IS NULL"),
            postgresql_where=text("left_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    municipality_code: int = Field(foreign_key="municipality.code", index=True)
    name: str
    email: str
    signed_up_at: datetime = _ts(nullable=False, default=now)
    left_at: datetime | None = _ts(nullable=True)
    token: str = Field(unique=True, max_length=64)


class NetworkMeeting(SQLModel, table=True):
    """A meeting of the network, planned by a consultant; every active member is invited. `uid` is
    the calendar event's UID, `sequence` its SEQUENCE (up by one on each move or cancellation)."""

    id: int | None = Field(default=None, primary_key=True)
    uid: str = Field(default_factory=lambda: uuid4().hex, unique=True)
    title: str
    starts_at: datetime = _ts(nullable=False, index=True)
    location: str = ""
    link: str | None = None
    agenda: str = ""
    status: NetworkMeetingStatus = _enum(NetworkMeetingStatus, NetworkMeetingStatus.PLANNED)
    sequence: int = 0
    created_by: str
    created_at: datetime = _ts(nullable=False, default=now)


# --- Privacy (issue 14) -----------------------------------------------------------------------


class AccessKind(StrEnum):
    COURSE = "course"
    APPLICATION = "application"
    DOCUMENT = "document"


class AccessVia(StrEnum):
    PAGE = "page"
    API = "api"
    CLI = "cli"
    LINK = "link"
    """The municipality's own link (no login)."""


class AccessLog(SQLModel, table=True):
    """One read of a course, an application or an uploaded document: who, what, when, from where.
    Never what was shown (`services.access_log`)."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(nullable=False, default=now, index=True)
    actor: str = Field(index=True)
    """The username, `cli:<os user>`, or `kommune: <name> (link)`."""
    kind: AccessKind = _enum(AccessKind, AccessKind.COURSE)
    object_id: int
    """The course's, application's or document's id."""
    via: AccessVia = _enum(AccessVia, AccessVia.PAGE)


Index("ix_accesslog_kind_object", AccessLog.__table__.c.kind, AccessLog.__table__.c.object_id)  # type: ignore[attr-defined]


# --- API tokens (issue 14) --------------------------------------------------------------------


class ApiToken(SQLModel, table=True):
    """A personal access token for scripts and BI tools (`services.api_tokens`): the owner's rights
    narrowed to `scopes`. Only the SHA-256 of the secret is stored; the secret is shown once."""

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    name: str
    scopes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    token_hash: str = Field(max_length=64, unique=True)
    """Hex SHA-256 of the whole token: the secret is 256 random bits, so no slow hash is needed."""
    prefix: str = Field(max_length=16)
    """The token's first characters (`flb_` and 8 more): not secret, to recognise it in a list."""
    created_at: datetime = _ts(nullable=False, default=now)
    created_by: str
    expires_at: datetime | None = _ts(nullable=True)
    last_used_at: datetime | None = _ts(nullable=True)
    revoked_at: datetime | None = _ts(nullable=True)
    revoked_by: str | None = None


class TaskLinkRevocation(SQLModel, table=True):
    """A consultant revoked the links to one task (`services.task_links`): every link to it signed
    before `revoked_at` is refused; a link issued afterwards (a new one, a reminder's) works."""

    task_id: int = Field(foreign_key="humantask.id", primary_key=True)
    revoked_at: datetime = _ts(nullable=False, default=now)
    revoked_by: str
