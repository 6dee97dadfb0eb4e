"""Applications (issue 13): a municipality applies, consultants assess and decide within capacity,
and the course starts by itself on its date.

Every function that changes something either does all of it or raises a `ForloebError` and stores
nothing (bad input: a Danish message; uploads are checked before anything is written). Every change
is audited. The application is a durable flow (`flows.application`): a person's change is stored
first, the application's `wake_at` set to now, then its run is woken; when the run cannot be woken
right now, the lead runner's repair loop does it (`services.recovery`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal

from pydantic import ValidationError
from sqlalchemy import func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.clock import COPENHAGEN, as_utc, now, today
from core.cpr import refuse_cpr
from core.db import session_scope
from core.errors import (
    Conflict,
    ForloebError,
    InvalidInput,
    NotFound,
    validation_messages,
)
from core.labels import label
from core.settings import get_settings
from models.application_form import ApplicationForm
from models.programmes import IntakeDef, ProgrammeDef, latest_version, programme_keys
from models.tables import (
    OPEN_APPLICATION_STATUSES,
    Application,
    ApplicationDocument,
    ApplicationRound,
    ApplicationScore,
    ApplicationStatus,
    AuditEvent,
    Course,
    CourseStatus,
    IntroTalk,
    Municipality,
    Notification,
)
from services import intake, uploads
from services.courses import active_course
from services.flow_steps import add_contacts
from services.municipalities import find_municipality

log = logging.getLogger(__name__)
INTRO_TALK_VALID_DAYS = 365
Decision = Literal["accept", "defer", "reject"]
START_HOUR = time(7, 0)
"""A course due on a day starts at 07.00 Copenhagen time (the repair loop wakes the run then)."""


# --- programmes and rounds -------------------------------------------------------------------


def intake_programmes() -> list[ProgrammeDef]:
    """The programmes that take applications (their newest version has `intake:`)."""
    return [p for p in (latest_version(k) for k in programme_keys()) if p.intake is not None]


def programme_intake(programme: str) -> tuple[ProgrammeDef, IntakeDef]:
    if programme not in programme_keys():
        raise NotFound(f"Ukendt program '{programme}'. Programmerne er: {', '.join(programme_keys())}.")
    definition = latest_version(programme)
    if definition.intake is None:
        raise NotFound(f"Programmet '{programme}' tager ikke imod ansøgninger.")
    return definition, definition.intake


def _round_row(session: Session, programme: str, found: intake.Round) -> ApplicationRound:
    row = session.exec(
        select(ApplicationRound).where(
            ApplicationRound.programme == programme, ApplicationRound.key == found.key
        )
    ).first()
    if row is None:
        row = ApplicationRound(
            programme=programme,
            key=found.key,
            name=found.name,
            opens_on=found.opens_on,
            deadline=found.deadline,
            preferred_start=found.preferred_start,
        )
        try:
            with session.begin_nested():
                session.add(row)
        except IntegrityError:  # made by someone else a moment ago
            row = session.exec(
                select(ApplicationRound).where(
                    ApplicationRound.programme == programme, ApplicationRound.key == found.key
                )
            ).one()
    return row


@dataclass(frozen=True)
class RoundRow:
    programme: str
    key: str
    name: str
    opens_on: date
    deadline: date
    preferred_start: date
    is_open: bool
    applications: int


def list_rounds(day: date | None = None) -> list[RoundRow]:
    """Every programme's rounds around today (last year, this year, next year) and how many
    applications each has; programmes with continuous intake have none."""
    day = day or today()
    rows = []
    with session_scope() as session:
        for definition in intake_programmes():
            assert definition.intake is not None
            for found in intake.rounds_around(definition.intake, day):
                row = _round_row(session, definition.key, found)
                count = session.exec(
                    select(func.count()).select_from(Application).where(Application.round_id == row.id)
                ).one()
                rows.append(
                    RoundRow(
                        definition.key,
                        found.key,
                        found.name,
                        found.opens_on,
                        found.deadline,
                        found.preferred_start,
                        found.is_open(day),
                        int(count),
                    )
                )
    return rows


@dataclass(frozen=True)
class IntakeState:
    programme: ProgrammeDef
    settings: IntakeDef
    open: bool
    round: intake.Round | None
    message: str
    """What the public page says: which round is open until when, or when the next one opens."""


def intake_state(programme: str, day: date | None = None) -> IntakeState:
    day = day or today()
    definition, settings = programme_intake(programme)
    if settings.mode == "continuous":
        return IntakeState(definition, settings, True, None, "Der er løbende optag: I kan søge hele året.")
    found = intake.open_round(settings, day)
    if found is not None:
        return IntakeState(
            definition,
            settings,
            True,
            found,
            f"{found.name} er åben. Fristen er {_d(found.deadline)}; "
            f"forløbene starter fra {_d(found.preferred_start)}.",
        )
    upcoming = intake.next_round(settings, day)
    when = (
        f" Næste ansøgningsrunde ({upcoming.name}) åbner {_d(upcoming.opens_on)} "
        f"med frist {_d(upcoming.deadline)}."
        if upcoming
        else ""
    )
    return IntakeState(definition, settings, False, None, f"Der er ingen åben ansøgningsrunde lige nu.{when}")


def _d(day: date) -> str:
    months = [
        "januar",
        "februar",
        "marts",
        "april",
        "maj",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "december",
    ]
    return f"{day.day}. {months[day.month - 1]} {day.year}"


# --- submitting ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    kind: str
    """'referat' or 'underskrift' (`services.intake.DOCUMENT_KINDS`)."""
    filename: str
    content: bytes


def validate_form(
    definition: ProgrammeDef, settings: IntakeDef, data: dict[str, Any], day: date
) -> dict[str, Any]:
    """The answers as JSON-ready data, or `InvalidInput` with every problem (never the input)."""
    refuse_cpr(data)
    try:
        form = ApplicationForm.model_validate(data)
    except ValidationError as exc:
        messages = validation_messages(exc.errors(include_input=False, include_url=False))
        raise InvalidInput(
            "Ansøgningen er ikke gyldig:\n- " + "\n- ".join(messages), details=messages
        ) from None
    problems = []
    if settings.asks_organisation and not form.organisering:
        problems.append("organisering: skal udfyldes (kommunens organisering på børne- og ungeområdet)")
    if settings.mode == "continuous" and form.foretrukken_start is None:
        problems.append("foretrukken_start: skal udfyldes (en dato som 2026-09-01)")
    if form.foretrukken_start is not None and form.foretrukken_start < day:
        problems.append("foretrukken_start: skal ligge efter i dag")
    if settings.director_decision and not form.direktoerbeslutning:
        problems.append(
            "direktoerbeslutning: beslutningen om at søge skal være truffet på direktørniveau; bekræft det"
        )
    if not form.tidligere_bistand and not form.ingen_tidligere_bistand:
        problems.append("tidligere_bistand: angiv tidligere bistand fra styrelserne, eller vælg 'ingen'")
    if problems:
        raise InvalidInput("Ansøgningen er ikke gyldig:\n- " + "\n- ".join(problems), details=problems)
    return form.model_dump(mode="json")


def check_uploads(files: list[Upload]) -> list[tuple[str, uploads.CheckedPdf]]:
    checked = []
    for upload in files:
        if upload.kind not in intake.DOCUMENT_KINDS:
            raise InvalidInput(f"Ukendt dokumenttype '{upload.kind}'.")
        checked.append(
            (
                upload.kind,
                uploads.check_pdf(upload.content, upload.filename, intake.DOCUMENT_KINDS[upload.kind]),
            )
        )
    return checked


def _refuse_open_or_active(session: Session, kommune: Municipality, programme: str, name: str) -> None:
    existing = session.exec(
        select(Application).where(
            Application.municipality_code == kommune.code,
            Application.programme == programme,
            col(Application.status).in_(OPEN_APPLICATION_STATUSES),
        )
    ).first()
    if existing is not None:
        raise Conflict(
            f"{kommune.name} har allerede en åben ansøgning til '{name}' (nummer {existing.id}, "
            f"{label(existing.status.value).lower()}). Der kan kun være én åben ansøgning pr. kommune "
            "og program; "
            "brug linket fra kvitteringen for at følge eller trække den tilbage."
        )
    course = active_course(session, kommune.code, programme)
    if course is not None:
        raise Conflict(
            f"{kommune.name} har allerede et igangværende forløb i '{name}' "
            f"(startet {_d(course.start_date)}). "
            "I kan søge igen, når det er afsluttet."
        )


def _intro_talk(session: Session, code: int, programme: str, day: date) -> IntroTalk | None:
    since = day - timedelta(days=INTRO_TALK_VALID_DAYS)
    return session.exec(
        select(IntroTalk).where(
            IntroTalk.municipality_code == code,
            IntroTalk.programme == programme,
            col(IntroTalk.held_on) >= since,
        )
    ).first()


def submit(
    programme: str,
    municipality: str,
    data: dict[str, Any],
    files: list[Upload] | None = None,
    *,
    actor: str = "",
) -> Application:
    """A municipality's application: checked in full (round open, introductory talk, the form, the
    PDFs, one open application, no active course), then stored with its documents and its flow run.
    Nothing is kept when anything is refused."""
    from services import prefect_gateway

    day = today()
    definition, settings = programme_intake(programme)
    state = intake_state(programme, day)
    if not state.open:
        raise InvalidInput(f"Ansøgningsrunden er lukket. {state.message}")
    if not str(municipality).strip():
        raise InvalidInput("Vælg kommunen.")
    answers = validate_form(definition, settings, data, day)
    checked = check_uploads(files or [])
    if answers.get("foretrukken_start") is None and state.round is not None:
        answers["foretrukken_start"] = state.round.preferred_start.isoformat()
    preferred = date.fromisoformat(answers["foretrukken_start"])
    prefect_gateway.ensure_reachable()  # Prefect down: refuse before anything is stored
    with session_scope() as session:
        kommune = find_municipality(session, municipality)
        if settings.requires_intro_talk and _intro_talk(session, kommune.code, programme, day) is None:
            raise InvalidInput(
                f"Før {kommune.name} kan søge om '{definition.name}', skal der holdes en "
                "indledende drøftelse "
                "med Socialstyrelsen. Kontakt os for at aftale den; når den er registreret, kan I søge."
            )
        _refuse_open_or_active(session, kommune, programme, definition.name)
        round_row = _round_row(session, programme, state.round) if state.round else None
        application = Application(
            municipality_code=kommune.code,
            programme=programme,
            round_id=round_row.id if round_row else None,
            answers=answers,
            preferred_start=preferred,
            wake_at=now(),
        )
        session.add(application)
        try:
            session.flush()
        except IntegrityError:
            raise Conflict(
                f"{kommune.name} har allerede en åben ansøgning til '{definition.name}'."
            ) from None
        assert application.id is not None
        who = actor or f"kommune: {kommune.name}"
        _audit(
            session,
            application.id,
            who,
            "ansøgning modtaget",
            f"{kommune.name}, {definition.name}",
        )
        for kind, pdf in checked:
            _add_document_row(session, application.id, kind, pdf, who)
        application.flow_run_id = prefect_gateway.create_application_run(
            application.id,
            application.uid,
            run_name=f"Ansøgning {application.id} · {kommune.name} · {definition.key}",
            tags=["ansoegning", f"programme:{programme}", f"kommune:{kommune.code}"],
        )
        session.add(application)
        for _kind, pdf in checked:  # last: a refusal above leaves no file behind
            uploads.store(pdf)
        session.flush()
        session.expunge(application)
    return application


def _add_document_row(
    session: Session, application_id: int, kind: str, pdf: uploads.CheckedPdf, actor: str
) -> None:
    session.add(
        ApplicationDocument(
            application_id=application_id,
            kind=kind,
            sha256=pdf.sha256,
            filename=pdf.filename,
            size=len(pdf.content),
            uploaded_by=actor,
        )
    )
    _audit(
        session,
        application_id,
        actor,
        "dokument tilføjet",
        f"{intake.DOCUMENT_KINDS[kind]}: {pdf.filename}",
    )


def _audit(session: Session, application_id: int, actor: str, action: str, detail: str = "") -> None:
    refuse_cpr(actor)  # `--as` on the CLI is free text
    session.add(
        AuditEvent(
            course_id=None,
            application_id=application_id,
            actor=actor,
            action=action,
            detail=detail,
        )
    )


def add_document(application_id: int, upload: Upload, *, actor: str) -> None:
    """A missing document added later (through the municipality's link, or by a consultant)."""
    ((kind, pdf),) = check_uploads([upload])
    with session_scope() as session:
        application = _get(session, application_id, lock=True)
        if application.status not in (
            ApplicationStatus.SUBMITTED,
            ApplicationStatus.ASSESSMENT,
        ):
            raise Conflict(
                f"Ansøgning {application_id} er {label(application.status.value).lower()}; "
                "der kan ikke tilføjes dokumenter."
            )
        _add_document_row(session, application_id, kind, pdf, actor)
        uploads.store(pdf)


def register_intro_talk(
    municipality: str, programme: str, held_on: date, *, actor: str, note: str = ""
) -> IntroTalk:
    """An 'indledende drøftelse' (or a recommended prior meeting) was held with the municipality."""
    programme_intake(programme)
    if held_on > today():
        raise InvalidInput("Datoen for drøftelsen kan ikke ligge i fremtiden.")
    refuse_cpr(note)
    with session_scope() as session:
        kommune = find_municipality(session, municipality)
        talk = IntroTalk(
            municipality_code=kommune.code,
            programme=programme,
            held_on=held_on,
            registered_by=actor,
            note=note[:500],
        )
        session.add(talk)
        session.add(
            AuditEvent(
                actor=actor,
                action="indledende drøftelse registreret",
                detail=f"{kommune.name}, {programme}, {held_on}",
            )
        )
        session.flush()
        session.expunge(talk)
    return talk


# --- reading ---------------------------------------------------------------------------------


def _get(session: Session, application_id: int, *, lock: bool = False) -> Application:
    application = session.get(Application, application_id, with_for_update=lock)
    if application is None:
        raise NotFound(f"Ansøgning {application_id} findes ikke.")
    return application


@dataclass
class ApplicationRow:
    id: int
    municipality: str
    municipality_code: int
    programme: str
    round_key: str | None
    status: ApplicationStatus
    submitted_at: datetime
    preferred_start: date
    gate_ok: bool
    missing: list[str]
    score: float | None
    scorers: int
    priority: int
    recent_help: list[str]
    start_date: date | None
    slot: str | None
    course_id: int | None
    rank: int = 0
    flow_run_id: str | None = None

    @property
    def status_text(self) -> str:
        return label(self.status.value)


def _had_course_recently(session: Session, code: int, day: date) -> bool:
    since = date(day.year - get_settings().application_help_lookback_years, 1, 1)
    return (
        session.exec(
            select(Course.id).where(Course.municipality_code == code, col(Course.start_date) >= since)
        ).first()
        is not None
    )


def _rows(session: Session, applications: list[Application]) -> list[ApplicationRow]:
    ids = [a.id for a in applications if a.id is not None]
    documents: dict[int, set[str]] = {}
    for doc in session.exec(
        select(ApplicationDocument).where(col(ApplicationDocument.application_id).in_(ids))
    ):
        documents.setdefault(doc.application_id, set()).add(doc.kind)
    scores: dict[int, list[ApplicationScore]] = {}
    for score in session.exec(select(ApplicationScore).where(col(ApplicationScore.application_id).in_(ids))):
        scores.setdefault(score.application_id, []).append(score)
    rounds = {r.id: r.key for r in session.exec(select(ApplicationRound))}
    names = {m.code: m.name for m in session.exec(select(Municipality))}
    day = today()
    lookback = get_settings().application_help_lookback_years
    rows = []
    for a in applications:
        assert a.id is not None
        missing = intake.missing_minimum(documents.get(a.id, set()), a.answers)
        recent = intake.recent_help(a.answers.get("tidligere_bistand") or [], day, lookback)
        own = scores.get(a.id, [])
        rows.append(
            ApplicationRow(
                id=a.id,
                municipality=names.get(a.municipality_code, str(a.municipality_code)),
                municipality_code=a.municipality_code,
                programme=a.programme,
                round_key=rounds.get(a.round_id) if a.round_id else None,
                status=a.status,
                submitted_at=a.submitted_at,
                preferred_start=a.preferred_start,
                gate_ok=not missing,
                missing=missing,
                score=intake.mean_score(s.score for s in own),
                scorers=len({s.consultant for s in own}),
                priority=intake.priority(recent, _had_course_recently(session, a.municipality_code, day)),
                recent_help=recent,
                start_date=a.start_date,
                slot=a.slot,
                course_id=a.course_id,
                flow_run_id=a.flow_run_id,
            )
        )
    return rows


def list_applications(
    *, round_key: str | None = None, status: str | None = None, programme: str | None = None
) -> list[ApplicationRow]:
    """Applications ranked within each programme and round (the gate passed, priority, score,
    the earliest): the Ansøgninger page, `forloeb applications` and the API."""
    if status is not None and status not in {s.value for s in ApplicationStatus}:
        choices = ", ".join(f"{s.value} ({label(s.value)})" for s in ApplicationStatus)
        raise InvalidInput(f"Ukendt status '{status}'. Vælg en af: {choices}.")
    with session_scope() as session:
        query = select(Application)
        if programme:
            query = query.where(Application.programme == programme)
        if status:
            query = query.where(Application.status == ApplicationStatus(status))
        if round_key:
            round_ids = list(
                session.exec(select(ApplicationRound.id).where(ApplicationRound.key == round_key))
            )
            # 'loebende': continuous intake; a round nobody applied in (or no round) gives no rows.
            query = query.where(
                col(Application.round_id).is_(None)
                if round_key == "loebende"
                else col(Application.round_id).in_(round_ids)
            )
        rows = _rows(session, list(session.exec(query)))
    groups: dict[tuple[str, str | None], list[ApplicationRow]] = {}
    for row in rows:
        groups.setdefault((row.programme, row.round_key), []).append(row)
    ranked = []
    for key in sorted(groups, key=lambda k: (k[0], k[1] or "")):
        group = sorted(
            groups[key],
            key=lambda r: intake.rank_key(r.gate_ok, r.priority, r.score, r.submitted_at.timestamp()),
        )
        for position, row in enumerate(group, start=1):
            row.rank = position
        ranked += group
    return ranked


@dataclass
class ApplicationDetail:
    row: ApplicationRow
    application: Application
    programme_name: str
    documents: list[ApplicationDocument]
    scores: list[ApplicationScore]
    letters: list[Notification]
    events: list[AuditEvent]
    allocation: intake.Allocation | None
    """Where capacity would place the application now (open applications)."""
    criteria: dict[str, str] = field(default_factory=lambda: dict(intake.CRITERIA))


def application_detail(application_id: int) -> ApplicationDetail:
    with session_scope() as session:
        application = _get(session, application_id)
        row = _rows(session, [application])[0]
        documents = list(
            session.exec(
                select(ApplicationDocument)
                .where(ApplicationDocument.application_id == application_id)
                .order_by(col(ApplicationDocument.id))
            )
        )
        scores = list(
            session.exec(
                select(ApplicationScore)
                .where(ApplicationScore.application_id == application_id)
                .order_by(col(ApplicationScore.consultant), col(ApplicationScore.criterion))
            )
        )
        letters = list(
            session.exec(
                select(Notification)
                .where(Notification.application_id == application_id)
                .order_by(col(Notification.id))
            )
        )
        events = list(
            session.exec(
                select(AuditEvent)
                .where(AuditEvent.application_id == application_id)
                .order_by(col(AuditEvent.id))
            )
        )
        definition, settings = programme_intake(application.programme)
        allocation = None
        if application.status in OPEN_APPLICATION_STATUSES and application.status not in (
            ApplicationStatus.ACCEPTED,
            ApplicationStatus.DEFERRED,
        ):
            allocation = intake.allocate(
                max(application.preferred_start, today()),
                _used(session, application.programme),
                settings.capacity,
            )
        for item in (application, *documents, *scores, *letters, *events):
            session.expunge(item)
    return ApplicationDetail(
        row, application, definition.name, documents, scores, letters, events, allocation
    )


def document(application_id: int, document_id: int) -> tuple[ApplicationDocument, bytes]:
    """A stored PDF of an application (the caller checked who may read it)."""
    with session_scope() as session:
        doc = session.get(ApplicationDocument, document_id)
        if doc is None or doc.application_id != application_id:
            raise NotFound("Dokumentet findes ikke.")
        session.expunge(doc)
    return doc, uploads.read(doc.sha256)


def note_document_read(application_id: int, document_id: int, actor: str) -> None:
    with session_scope() as session:
        _audit(session, application_id, actor, "dokument læst", f"dokument {document_id}")


# --- capacity --------------------------------------------------------------------------------

TAKES_SLOT = (ApplicationStatus.ACCEPTED, ApplicationStatus.DEFERRED, ApplicationStatus.STARTED)


def _used(session: Session, programme: str, *, leave_out: int | None = None) -> dict[str, int]:
    """Slots used per period: decided applications by their start, and courses started without an
    application (by hand) by their start date."""
    _definition, settings = programme_intake(programme)
    used: dict[str, int] = {}
    for app_id, start in session.exec(
        select(col(Application.id), col(Application.start_date)).where(
            Application.programme == programme, col(Application.status).in_(TAKES_SLOT)
        )
    ):
        if start is not None and app_id != leave_out:
            key = intake.period_of(start, settings.capacity.per).key
            used[key] = used.get(key, 0) + 1
    for course_start in session.exec(
        select(col(Course.start_date)).where(
            Course.programme == programme,
            col(Course.application_id).is_(None),
            Course.status != CourseStatus.CANCELLED,
        )
    ):
        key = intake.period_of(course_start, settings.capacity.per).key
        used[key] = used.get(key, 0) + 1
    return used


@dataclass(frozen=True)
class CapacityRow:
    programme: str
    programme_name: str
    period: str
    period_name: str
    capacity: int
    used: int
    waiting: int
    """Open applications (not decided yet) that wish to start in the period."""

    @property
    def free(self) -> int:
        return max(self.capacity - self.used, 0)


def capacity_view(periods: int = 4, day: date | None = None) -> list[CapacityRow]:
    """Per programme, the current period and the next ones: capacity, slots used and free."""
    day = day or today()
    rows = []
    with session_scope() as session:
        for definition in intake_programmes():
            assert definition.intake is not None
            per = definition.intake.capacity.per
            used = _used(session, definition.key)
            wishes: dict[str, int] = {}
            for preferred in session.exec(
                select(col(Application.preferred_start)).where(
                    Application.programme == definition.key,
                    col(Application.status).in_([ApplicationStatus.SUBMITTED, ApplicationStatus.ASSESSMENT]),
                )
            ):
                key = intake.period_of(max(preferred, day), per).key
                wishes[key] = wishes.get(key, 0) + 1
            period = intake.period_of(day, per)
            for _ in range(periods):
                rows.append(
                    CapacityRow(
                        definition.key,
                        definition.name,
                        period.key,
                        period.name,
                        definition.intake.capacity.courses,
                        used.get(period.key, 0),
                        wishes.get(period.key, 0),
                    )
                )
                period = intake.following(period, per)
    return rows


# --- assessment and decisions ----------------------------------------------------------------


def score(application_id: int, consultant: str, scores: dict[str, tuple[int, str]], *, actor: str) -> None:
    """One consultant's scores (1-5) with notes for the seeds' criteria; a new score replaces the
    consultant's earlier one for that criterion."""
    consultant = consultant.strip()
    if not consultant:
        raise InvalidInput("Angiv konsulentens navn.")
    problems = []
    for criterion, (value, note) in scores.items():
        if criterion not in intake.CRITERIA:
            problems.append(f"{criterion}: ukendt kriterium (vælg {', '.join(intake.CRITERIA)})")
        elif not intake.SCORE_MIN <= value <= intake.SCORE_MAX:
            problems.append(f"{criterion}: point skal være fra {intake.SCORE_MIN} til {intake.SCORE_MAX}")
        if len(note) > 2000:
            problems.append(f"{criterion}: noten er for lang")
    if not scores:
        problems.append("angiv point for mindst ét kriterium")
    if problems:
        raise InvalidInput("Vurderingen er ikke gyldig:\n- " + "\n- ".join(problems), details=problems)
    refuse_cpr(consultant, [n for _, n in scores.values()])
    with session_scope() as session:
        application = _get(session, application_id, lock=True)
        if application.status not in (
            ApplicationStatus.SUBMITTED,
            ApplicationStatus.ASSESSMENT,
        ):
            raise Conflict(
                f"Ansøgning {application_id} er {label(application.status.value).lower()}; "
                "den vurderes ikke mere."
            )
        for criterion, (value, note) in scores.items():
            row = session.exec(
                select(ApplicationScore).where(
                    ApplicationScore.application_id == application_id,
                    ApplicationScore.consultant == consultant,
                    ApplicationScore.criterion == criterion,
                )
            ).first() or ApplicationScore(
                application_id=application_id,
                consultant=consultant,
                criterion=criterion,
                score=value,
            )
            row.score, row.note, row.at = value, note.strip(), now()
            session.add(row)
        detail = ", ".join(f"{intake.CRITERIA[c]} {v}" for c, (v, _) in scores.items())
        _audit(session, application_id, actor, "ansøgning vurderet", f"{consultant}: {detail}")


def decide(
    application_id: int,
    decision: str,
    *,
    actor: str,
    consultant: str = "",
    start_date: date | None = None,
    slot: str | None = None,
    reason: str | None = None,
) -> Application:
    """accept (with a start date: default the preferred start), defer (to a later slot: default the
    first period with room) or reject (with one of the seeds' reasons). Accepting and deferring
    need the minimum criteria and a free slot; refused otherwise, with what to do instead."""
    if decision not in ("accept", "defer", "reject"):
        raise InvalidInput(f"Ukendt afgørelse '{decision}'. Vælg accept, defer eller reject.")
    refuse_cpr(consultant)
    with session_scope() as session:
        application = _get(session, application_id, lock=True)
        if application.status not in (
            ApplicationStatus.SUBMITTED,
            ApplicationStatus.ASSESSMENT,
        ):
            raise Conflict(
                f"Ansøgning {application_id} er allerede {label(application.status.value).lower()}; "
                "der kan ikke træffes en ny afgørelse."
            )
        row = _rows(session, [application])[0]
        _definition, settings = programme_intake(application.programme)
        per = settings.capacity.per
        if decision == "reject":
            if reason not in intake.REJECT_REASONS:
                choices = "; ".join(f"{k} ({v})" for k, v in intake.REJECT_REASONS.items())
                raise InvalidInput(f"Vælg en begrundelse for afslaget: {choices}.")
            application.status = ApplicationStatus.REJECTED
            application.reject_reason = reason
            detail = intake.REJECT_REASONS[reason]
        else:
            if not row.gate_ok:
                raise Conflict(
                    "Ansøgningen opfylder ikke minimumskriterierne og kan ikke imødekommes. Der mangler: "
                    + "; ".join(row.missing)
                    + ". Send kommunen et link til at tilføje det, eller giv afslag."
                )
            if not consultant.strip():
                raise InvalidInput("Angiv konsulenten, der skal have forløbet.")
            used = _used(session, application.programme)
            if decision == "accept":
                start = start_date or max(application.preferred_start, today())
                if start < today():
                    raise InvalidInput("Startdatoen kan ikke ligge før i dag.")
                period = intake.period_of(start, per)
                if used.get(period.key, 0) >= settings.capacity.courses:
                    later = intake.allocate(start, used, settings.capacity)
                    raise Conflict(
                        f"Kapaciteten i {period.name} er brugt ({used.get(period.key, 0)} af "
                        f"{settings.capacity.courses} forløb). Udskyd ansøgningen til {later.period.name} "
                        f"(forloeb decide {application_id} defer --slot {later.period.key}), så starter den "
                        f"{later.start.isoformat()}."
                    )
                application.status = ApplicationStatus.ACCEPTED
            else:
                if slot:
                    period_or_none = intake.parse_period(slot, per)
                    if period_or_none is None:
                        example = "2026-H2" if per == "half-year" else "2027"
                        raise InvalidInput(
                            f"'{slot}' er ikke en periode for dette program; skriv fx {example}."
                        )
                    period = period_or_none
                    if used.get(period.key, 0) >= settings.capacity.courses:
                        later = intake.allocate(period.first_day, used, settings.capacity)
                        raise Conflict(
                            f"Kapaciteten i {period.name} er også brugt. Første periode med plads er "
                            f"{later.period.name} ({later.period.key})."
                        )
                    start = start_date or intake.slot_start(period)
                else:
                    wished = intake.period_of(max(application.preferred_start, today()), per)
                    found = intake.allocate(intake.following(wished, per).first_day, used, settings.capacity)
                    period, start = found.period, start_date or found.start
                if start < today() or intake.period_of(start, per).key != period.key:
                    raise InvalidInput(f"Startdatoen skal ligge i {period.name} og ikke før i dag.")
                application.status = ApplicationStatus.DEFERRED
            application.start_date = start
            application.slot = period.key
            application.consultant = consultant.strip()
            detail = f"start {start.isoformat()} ({period.name}), konsulent {application.consultant}"
        application.decision = decision
        application.decision_no += 1
        application.decided_by = actor
        application.decided_at = now()
        application.wake_at = now()
        session.add(application)
        _audit(session, application_id, actor, f"afgørelse: {label(decision).lower()}", detail)
        session.flush()
        session.expunge(application)
    _wake(application)
    return application


def withdraw(application_id: int, *, actor: str) -> Application:
    """The municipality withdraws (through its link) before the course has started."""
    with session_scope() as session:
        application = _get(session, application_id, lock=True)
        if application.status not in OPEN_APPLICATION_STATUSES:
            raise Conflict(
                f"Ansøgning {application_id} er {label(application.status.value).lower()} "
                "og kan ikke trækkes tilbage."
            )
        application.status = ApplicationStatus.WITHDRAWN
        application.wake_at = now()
        session.add(application)
        _audit(session, application_id, actor, "ansøgning trukket tilbage")
        session.flush()
        session.expunge(application)
    _wake(application)
    return application


def start_now(application_id: int, *, actor: str) -> Application:
    """A consultant starts an accepted course before its date: the run starts it at once."""
    with session_scope() as session:
        application = _get(session, application_id, lock=True)
        if application.status not in (ApplicationStatus.ACCEPTED, ApplicationStatus.DEFERRED):
            raise Conflict(
                f"Ansøgning {application_id} er {label(application.status.value).lower()}; kun en optaget "
                "ansøgning kan startes."
            )
        _definition, settings = programme_intake(application.programme)
        application.start_date = today()
        application.slot = intake.period_of(today(), settings.capacity.per).key
        application.wake_at = now()
        session.add(application)
        _audit(
            session,
            application_id,
            actor,
            "forløbet startet før tid",
            f"start {today().isoformat()}",
        )
        session.flush()
        session.expunge(application)
    _wake(application)
    return application


def request_missing(application_id: int, *, actor: str) -> int:
    """Mail the municipality's contacts a link to add what the gate misses. Returns mails sent."""
    from notifications import compose, outbox

    detail = application_detail(application_id)
    if detail.row.gate_ok:
        raise Conflict("Ansøgningen mangler ingen dokumenter.")
    if detail.application.status not in (
        ApplicationStatus.SUBMITTED,
        ApplicationStatus.ASSESSMENT,
    ):
        raise Conflict(f"Ansøgning {application_id} er {detail.row.status_text.lower()}.")
    with session_scope() as session:
        count = session.exec(
            select(func.count())
            .select_from(Notification)
            .where(
                Notification.application_id == application_id,
                Notification.purpose == "ansoegning_mangler",
            )
        ).one()
        _audit(
            session,
            application_id,
            actor,
            "manglende dokument efterspurgt",
            "; ".join(detail.row.missing),
        )
    ids = compose.enqueue_application_message(
        application_id,
        "ansoegning_mangler",
        f"mangler:{int(count) + 1}",
        {"mangler": detail.row.missing},
    )
    sent = 0
    for notification_id in ids:
        try:
            outbox.deliver(notification_id)
            sent += 1
        except outbox.DeliveryFailed as exc:
            log.warning("%s", exc.message)
    return sent


def _wake(application: Application) -> None:
    """Let the application's run act on what was stored; if it cannot be woken now, the lead
    runner's repair loop does it (`wake_at` is now)."""
    from services import prefect_gateway

    if not application.flow_run_id:
        return
    try:
        prefect_gateway.wake_course_run(application.flow_run_id, settle_seconds=0)
    except ForloebError as exc:
        log.warning(
            "Ansøgning %s er gemt, men kørslen kunne ikke vækkes nu: %s",
            application.id,
            exc.message,
        )


# --- the application flow's steps (`flows.application`) --------------------------------------


@dataclass(frozen=True)
class Snapshot:
    id: int
    status: ApplicationStatus
    done: tuple[str, ...]
    decision: str | None
    decision_no: int
    start_date: date | None
    course_id: int | None


def snapshot(application_id: int) -> Snapshot | None:
    with session_scope() as session:
        a = session.get(Application, application_id)
        if a is None:
            return None
        assert a.id is not None
        return Snapshot(a.id, a.status, tuple(a.done), a.decision, a.decision_no, a.start_date, a.course_id)


Step = Literal["receipt", "letter", "start", "wait", "done"]


def start_time(day: date) -> datetime:
    return datetime.combine(day, START_HOUR, tzinfo=COPENHAGEN).astimezone(UTC)


def next_step(snap: Snapshot, at: datetime) -> tuple[Step, datetime | None]:
    """What the application's run does now, from what is stored (pure): send the receipt, send
    the letter of the latest decision, start the course on its day, or wait (until a time, or
    for a person); 'done' when nothing is left."""
    if "receipt" not in snap.done and snap.status != ApplicationStatus.WITHDRAWN:
        return "receipt", None
    if (
        snap.decision_no
        and f"letter:{snap.decision_no}" not in snap.done
        and snap.status != ApplicationStatus.WITHDRAWN
    ):
        return "letter", None
    if (
        snap.status in (ApplicationStatus.ACCEPTED, ApplicationStatus.DEFERRED)
        and snap.start_date is not None
    ):
        due = start_time(snap.start_date)
        return ("start", None) if due <= at else ("wait", due)
    if snap.status in (ApplicationStatus.SUBMITTED, ApplicationStatus.ASSESSMENT):
        return "wait", None
    return "done", None


def _mark(session: Session, application: Application, mark: str) -> None:
    if mark not in application.done:
        application.done = [*application.done, mark]
    session.add(application)


def send_receipt(application_id: int) -> list[int]:
    """Enqueue the receipt (once per recipient: the outbox keys) and move to assessment."""
    from notifications import compose

    detail = application_detail(application_id)
    ids = compose.enqueue_application_message(
        application_id,
        "ansoegning_kvittering",
        "kvittering",
        {"modtaget": as_utc(detail.application.submitted_at), "mangler": detail.row.missing},
    )
    with session_scope() as session:
        application = _get(session, application_id, lock=True)
        if application.status == ApplicationStatus.SUBMITTED:
            application.status = ApplicationStatus.ASSESSMENT
        _mark(session, application, "receipt")
    return ids


LETTERS = {
    "accept": "ansoegning_optaget",
    "defer": "ansoegning_udskudt",
    "reject": "ansoegning_afslag",
}


def send_decision_letter(application_id: int, decision_no: int) -> list[int]:
    from notifications import compose

    with session_scope() as session:
        application = _get(session, application_id)
        decision = application.decision or "reject"
        _definition, settings = programme_intake(application.programme)
        extra: dict[str, Any] = {
            "start": application.start_date,
            "periode": intake.parse_period(application.slot, settings.capacity.per).name  # type: ignore[union-attr]
            if application.slot and intake.parse_period(application.slot, settings.capacity.per)
            else "",
            "begrundelse": intake.REJECT_REASONS.get(application.reject_reason or "", ""),
        }
    ids = compose.enqueue_application_message(
        application_id, LETTERS[decision], f"afgoerelse:{decision_no}", extra
    )
    with session_scope() as session:
        _mark(session, _get(session, application_id, lock=True), f"letter:{decision_no}")
    return ids


def start_course_for(application_id: int) -> int:
    """Start the application's course (idempotent: a course made from it before is found by its
    `application_id`), carrying its contacts and focus; the application is then 'started'."""
    from services import courses

    with session_scope() as session:
        application = _get(session, application_id)
        existing = session.exec(select(Course.id).where(Course.application_id == application_id)).first()
        kommune = str(application.municipality_code)
        contacts = list(application.answers.get("kontaktpersoner") or [])
        focus = str(application.answers.get("fokus") or "")
        consultant = application.consultant or "Ikke tildelt"
        start = application.start_date or today()
        programme = application.programme
    course_id = existing
    if course_id is None:
        course = courses.start_course(
            kommune,
            programme,
            consultant,
            start,
            actor="ansøgning",
            application_id=application_id,
            focus=focus,
        )
        course_id = course.id
    assert course_id is not None
    with session_scope() as session:
        add_contacts(session, course_id, contacts, "kommune")
        application = _get(session, application_id, lock=True)
        application.course_id = course_id
        application.status = ApplicationStatus.STARTED
        application.wake_at = None
        _mark(session, application, "start")
        dedupe = f"application-{application.uid}-started"
        if session.exec(select(AuditEvent.id).where(AuditEvent.dedupe_key == dedupe)).first() is None:
            session.add(
                AuditEvent(
                    course_id=course_id,
                    application_id=application_id,
                    actor="ansøgning",
                    action="forløb startet fra ansøgning",
                    detail=f"ansøgning {application_id}, forløb {course_id}",
                    dedupe_key=dedupe,
                )
            )
    return course_id


def set_wake(application_id: int, when: datetime | None) -> None:
    with session_scope() as session:
        application = session.get(Application, application_id)
        if application is not None:
            application.wake_at = when
            session.add(application)


def due_applications(at: datetime | None = None) -> list[tuple[int, str]]:
    """(id, flow run id) of applications whose run should act now: the start date has come, or a
    person changed something and the run may not have been woken (the repair loop)."""
    at = at or now()
    with session_scope() as session:
        rows = session.exec(
            select(Application.id, Application.flow_run_id, Application.wake_at).where(
                col(Application.wake_at).is_not(None), col(Application.flow_run_id).is_not(None)
            )
        ).all()
    return [
        (a_id, run_id)
        for a_id, run_id, wake_at in rows
        if a_id is not None and run_id is not None and wake_at is not None and as_utc(wake_at) <= at
    ]
