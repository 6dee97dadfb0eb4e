"""JSON API for applications (issue 13), under /api like the rest: rounds, applications (ranked),
one application, decisions, scores and capacity. Same service functions as the CLI and the pages;
errors are `application/problem+json` with a Danish `detail`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query, Request
from pydantic import BaseModel, Field, StringConstraints

from dashboard.access import api_reader
from dashboard.api_schema import COMMON, NO_CPR, WRITE, IsoDate, JsonInt, ProgrammeKey, problems
from dashboard.deps import ApplicationsWriter, Reader, api_user
from models.forms import SPACE, VISIBLE
from models.tables import AccessKind, AccessVia, ApplicationStatus
from services import access_log, applications

MAX_ID = 2**31 - 1
ApplicationId = Annotated[int, Path(ge=1, le=MAX_ID)]
router = APIRouter(prefix="/api", tags=["ansøgninger"], dependencies=[Depends(api_user)], responses=COMMON)


class RoundOut(BaseModel):
    programme: str
    key: str
    name: str
    opens_on: date
    deadline: date
    preferred_start: date
    is_open: bool
    applications: int


class ApplicationOut(BaseModel):
    id: int
    municipality: str
    municipality_code: int
    programme: str
    round_key: str | None
    status: str
    status_text: str
    preferred_start: date
    gate_ok: bool
    missing: list[str]
    score: float | None
    priority: int
    recent_help: list[str]
    rank: int
    start_date: date | None
    slot: str | None
    course_id: int | None


class ScoreOut(BaseModel):
    consultant: str
    criterion: str
    score: int
    note: str


class LetterOut(BaseModel):
    id: int
    purpose: str
    recipient: str
    status: str


class ApplicationDetailOut(BaseModel):
    application: ApplicationOut
    answers: dict[str, object]
    documents: list[dict[str, object]]
    scores: list[ScoreOut]
    letters: list[LetterOut]
    decision: str | None
    reject_reason: str | None
    flow_run_id: str | None


DecisionConsultant = Annotated[
    str,
    StringConstraints(max_length=200, pattern=rf"^$|{VISIBLE}"),
    Field(description="The consultant who gets the course; empty: you. " + NO_CPR),
]
StartDate = Annotated[
    IsoDate | None, Field(description="Not before today (422 otherwise). Default: see the decision.")
]


class AcceptIn(BaseModel):
    """Accept: the course starts on `start_date` (default: the preferred start, or today)."""

    decision: Literal["accept"]
    start_date: StartDate = None
    consultant: DecisionConsultant = ""


class DeferIn(BaseModel):
    """Defer to a later slot (default: the first period with room)."""

    decision: Literal["defer"]
    slot: Annotated[
        str | None,
        Field(
            pattern=rf"^[{SPACE}]*[1-9][0-9]{{3}}(-[Hh][12])?[{SPACE}]*$",
            description="A period of the programme's kind: 2027-H1 (half-years) or 2027 (years); "
            "another kind, or a period before today, is refused (422).",
        ),
    ] = None
    start_date: StartDate = None
    consultant: DecisionConsultant = ""


class RejectIn(BaseModel):
    """Reject, with one of the seeds' reasons."""

    decision: Literal["reject"]
    reason: Literal["minimum", "udenfor", "ledelse"]


DecisionIn = Annotated[AcceptIn | DeferIn | RejectIn, Field(discriminator="decision")]
Criterion = Literal["motivation", "udfordring", "moenstre", "ledelse"]


class ScoreIn(BaseModel):
    scores: dict[Criterion, Annotated[int, Field(ge=1, le=5), JsonInt]] = Field(
        min_length=1, description="criterion -> 1..5 (at least one)"
    )
    notes: dict[Criterion, Annotated[str, Field(max_length=2000)]] = Field(
        default_factory=dict, description="criterion -> a note. " + NO_CPR
    )


class CapacityOut(BaseModel):
    programme: str
    period: str
    period_name: str
    capacity: int
    used: int
    free: int
    waiting: int


def _out(row: applications.ApplicationRow) -> ApplicationOut:
    return ApplicationOut(
        **{k: getattr(row, k) for k in ApplicationOut.model_fields if k not in ("status", "status_text")},
        status=row.status.value,
        status_text=row.status_text,
    )


@router.get("/rounds", response_model=list[RoundOut], summary="Application rounds")
def api_rounds(reader: Reader) -> list[RoundOut]:
    return [RoundOut(**vars(r)) for r in applications.list_rounds()]


@router.get(
    "/applications",
    response_model=list[ApplicationOut],
    responses=problems(422),
    summary="Applications, ranked per round",
)
def api_applications(
    reader: Reader,
    round_key: Annotated[str | None, Query(alias="round")] = None,
    status: ApplicationStatus | None = None,
    programme: ProgrammeKey | None = None,
) -> list[ApplicationOut]:
    rows = applications.list_applications(
        round_key=round_key, status=status.value if status else None, programme=programme
    )
    return [_out(r) for r in rows]


def _detail(application_id: int) -> ApplicationDetailOut:
    d = applications.application_detail(application_id)
    return ApplicationDetailOut(
        application=_out(d.row),
        answers=d.application.answers,
        documents=[
            {"id": doc.id, "kind": doc.kind, "filename": doc.filename, "size": doc.size}
            for doc in d.documents
        ],
        scores=[
            ScoreOut(consultant=s.consultant, criterion=s.criterion, score=s.score, note=s.note)
            for s in d.scores
        ],
        letters=[
            LetterOut(id=n.id or 0, purpose=n.purpose, recipient=n.recipient, status=n.status.value)
            for n in d.letters
        ],
        decision=d.application.decision,
        reject_reason=d.application.reject_reason,
        flow_run_id=d.application.flow_run_id,
    )


@router.get(
    "/applications/{application_id}",
    response_model=ApplicationDetailOut,
    responses=problems(404, 422),
    summary="One application",
)
def api_application(
    application_id: ApplicationId, reader: Reader, request: Request, background: BackgroundTasks
) -> ApplicationDetailOut:
    detail = _detail(application_id)
    actor = api_reader(request, reader)
    background.add_task(access_log.record_read, AccessKind.APPLICATION, application_id, actor, AccessVia.API)
    return detail


@router.post(
    "/applications/{application_id}/decision",
    response_model=ApplicationDetailOut,
    responses={**WRITE, **problems(404, 409)},
    summary="Decide",
)
def api_decide(
    application_id: ApplicationId, body: DecisionIn, user: ApplicationsWriter
) -> ApplicationDetailOut:
    applications.decide(
        application_id,
        body.decision,
        actor=user.username,
        consultant=getattr(body, "consultant", "") or user.display_name,
        start_date=getattr(body, "start_date", None),
        slot=getattr(body, "slot", None),
        reason=getattr(body, "reason", None),
    )
    return _detail(application_id)


@router.post(
    "/applications/{application_id}/scores",
    response_model=ApplicationDetailOut,
    responses={**WRITE, **problems(404, 409)},
    summary="Score",
)
def api_score(application_id: ApplicationId, body: ScoreIn, user: ApplicationsWriter) -> ApplicationDetailOut:
    scores: dict[str, tuple[int, str]] = {k: (v, body.notes.get(k, "")) for k, v in body.scores.items()}
    applications.score(application_id, user.display_name, scores, actor=user.username)
    return _detail(application_id)


@router.get("/capacity", response_model=list[CapacityOut], summary="Slots per period per programme")
def api_capacity(reader: Reader) -> list[CapacityOut]:
    return [
        CapacityOut(
            programme=r.programme,
            period=r.period,
            period_name=r.period_name,
            capacity=r.capacity,
            used=r.used,
            free=r.free,
            waiting=r.waiting,
        )
        for r in applications.capacity_view()
    ]
