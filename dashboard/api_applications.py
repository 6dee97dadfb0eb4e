"""JSON API for applications (issue 13), under /api like the rest: rounds, applications (ranked),
one application, decisions, scores and capacity. Same service functions as the CLI and the pages;
errors are `application/problem+json` with a Danish `detail`."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Depends, Path, Query
from pydantic import BaseModel, Field

from dashboard.deps import ApplicationsWriter, Reader, api_user
from models.tables import AccessKind, AccessVia, ApplicationStatus
from services import access_log, applications

MAX_ID = 2**31 - 1
ApplicationId = Annotated[int, Path(ge=1, le=MAX_ID)]
router = APIRouter(prefix="/api", tags=["ansøgninger"], dependencies=[Depends(api_user)])


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


class DecisionIn(BaseModel):
    decision: Literal["accept", "defer", "reject"]
    start_date: date | None = None
    slot: str | None = Field(None, description="defer: a period such as 2027-H1 or 2027")
    reason: Literal["minimum", "udenfor", "ledelse"] | None = None
    consultant: str = ""


class ScoreIn(BaseModel):
    scores: dict[str, int] = Field(
        description="criterion -> 1..5 (motivation, udfordring, moenstre, ledelse)"
    )
    notes: dict[str, str] = Field(default_factory=dict)


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


@router.get("/applications", response_model=list[ApplicationOut], summary="Applications, ranked per round")
def api_applications(
    reader: Reader,
    round_key: Annotated[str | None, Query(alias="round")] = None,
    status: ApplicationStatus | None = None,
    programme: str | None = None,
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


@router.get("/applications/{application_id}", response_model=ApplicationDetailOut, summary="One application")
def api_application(
    application_id: ApplicationId, reader: Reader, background: BackgroundTasks
) -> ApplicationDetailOut:
    detail = _detail(application_id)
    background.add_task(
        access_log.record_read, AccessKind.APPLICATION, application_id, reader.username, AccessVia.API
    )
    return detail


@router.post("/applications/{application_id}/decision", response_model=ApplicationDetailOut, summary="Decide")
def api_decide(
    application_id: ApplicationId, body: DecisionIn, user: ApplicationsWriter
) -> ApplicationDetailOut:
    applications.decide(
        application_id,
        body.decision,
        actor=user.username,
        consultant=body.consultant or user.display_name,
        start_date=body.start_date,
        slot=body.slot,
        reason=body.reason,
    )
    return _detail(application_id)


@router.post("/applications/{application_id}/scores", response_model=ApplicationDetailOut, summary="Score")
def api_score(application_id: ApplicationId, body: ScoreIn, user: ApplicationsWriter) -> ApplicationDetailOut:
    scores = {k: (v, body.notes.get(k, "")) for k, v in body.scores.items()}
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
