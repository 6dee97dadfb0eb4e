"""Retention and erasure (issue 14; GDPR art. 5(1)(e) and 17). The processing record, the reasons
for each period and where every kind of personal data lives are in docs/PRIVACY.md.

    purge(day, dry_run)     what is past its retention end goes: contacts' names and e-mails,
                            free text in answers (the structure stays: dates, numbers, choices),
                            uploaded documents (rows and files), rendered mail bodies and
                            recipients in the outbox, link tokens (application links, evaluation
                            links). What stays is anonymous - municipality, programme, dates,
                            stage durations, counts - so the Nøgletal stay the same.
                            The daily `sletning` deployment runs it; `forloeb purge --dry-run`.
    erase_contact(email)    one person on request, wherever the address is (not logins)

Both run as one transaction that a dry run rolls back: a dry run lists exactly what the real run
would do, because it *is* the real run, undone. Files are removed only after the commit. Each real
run is audited with what and how many, never the content; an erasure names the address only by a
keyed hash (HMAC with the installation's secret key), so "was X erased?" can be answered by whoever
holds the key and by nobody reading the audit trail.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any
from uuid import uuid4

from sqlalchemy import JSON, String, Text, cast, delete, func, or_, update
from sqlalchemy import Enum as SAEnum
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel, col, select

from core.clock import as_utc, local_date, now, today
from core.db import get_engine
from core.errors import InvalidInput
from core.links import secret_key
from core.settings import get_settings
from core.workdays import add_months
from models.tables import (
    AccessLog,
    Application,
    ApplicationDocument,
    ApplicationScore,
    ApplicationStatus,
    AuditEvent,
    Contact,
    Course,
    CourseStatus,
    EvaluationAnswer,
    EvaluationInvite,
    HumanTask,
    IntroTalk,
    Meeting,
    NetworkMember,
    Notification,
    NotificationStatus,
)
from services import uploads
from services.access_log import day_start
from services.audit import audit

NOT_SENT = "Ikke sendt: personoplysningerne er slettet."
PSEUDONYM_DOMAIN = "anonym.invalid"
"""`.invalid` (RFC 2606) can never be delivered to."""
ERASED = "[slettet]"

KINDS: dict[str, str] = {
    "contacts": "Kontaktpersoners navn og e-mail",
    "answers": "Opgavesvar med fritekst",
    "meetings": "Mødesteder og mødelinks",
    "applications": "Ansøgningers svar og vurderingsnoter",
    "intro_notes": "Noter fra indledende drøftelser",
    "documents": "Uploadede dokumenter (rækker)",
    "files": "Uploadede dokumenter (filer)",
    "messages": "Beskeder i udbakken (indhold og modtager)",
    "links": "Links (ansøgnings- og evalueringslinks)",
    "evaluation_text": "Evalueringssvar med fritekst",
    "network": "Netværksmedlemmer, der er udtrådt",
    "audit": "Revisionsspor med navne eller adresser",
    "access_log": "Adgangslog ældre end opbevaringstiden",
}
"""What a purge removes, in the order reports show it (Danish labels)."""

EMAIL = re.compile(r"[A-Za-z0-9._%+\-æøåÆØÅ]+@[A-Za-z0-9.\-æøåÆØÅ]+\.[A-Za-z]{2,}")
DATE_LIKE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$")


def pseudonym(ref: str) -> str:
    """An address that stands for a removed one: unique per row, never deliverable."""
    return f"slettet-{ref}@{PSEUDONYM_DOMAIN}"


def is_pseudonym(address: str) -> bool:
    return address.endswith(f"@{PSEUDONYM_DOMAIN}")


# --- what an answer keeps --------------------------------------------------------------------


@cache
def _choices(form_kind: str) -> frozenset[str]:
    """The fixed choices (enums, Literals) anywhere in a form's schema: kept by a purge, since they
    are not anybody's words. Free text, names, e-mails, links and case references are not kept."""
    from models.application_form import ApplicationForm
    from models.forms import FORMS

    model = ApplicationForm if form_kind == "application" else FORMS.get(form_kind)
    if model is None:
        return frozenset()
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "enum" and isinstance(value, list):
                    found.update(v for v in value if isinstance(v, str))
                elif key == "const" and isinstance(value, str):
                    found.add(value)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(model.model_json_schema())
    return frozenset(found)


def scrub_answer(value: Any, form_kind: str) -> Any:
    """The answer with its structure (keys, list lengths, dates, numbers, yes/no, choices) and
    without its text: every other string becomes ''."""
    keep = _choices(form_kind)

    def scrub(node: Any) -> Any:
        if isinstance(node, str):
            return node if node in keep or DATE_LIKE.match(node) else ""
        if isinstance(node, dict):
            return {key: scrub(item) for key, item in node.items()}
        if isinstance(node, list):
            return [scrub(item) for item in node]
        return node

    return scrub(value)


def _scrub_text(text: str, names: set[str]) -> str:
    """Free text (an audit detail) without the given names and without any e-mail address."""
    for name in sorted(names, key=len, reverse=True):
        if len(name) >= 3:
            text = re.sub(re.escape(name), ERASED, text, flags=re.IGNORECASE)
    return EMAIL.sub(lambda m: m.group(0) if is_pseudonym(m.group(0)) else ERASED, text)


# --- retention ends --------------------------------------------------------------------------


def course_retention_end(course: Course) -> date | None:
    """The day a finished course's personal data goes: N months after it finished (the revisit,
    or its last stage). None while it runs."""
    if course.status not in (CourseStatus.COMPLETED, CourseStatus.CANCELLED):
        return None
    finished = course.completed_at or course.created_at
    return add_months(local_date(finished), get_settings().retention_course_months)


def application_retention_end(application: Application, last_event: datetime | None) -> date | None:
    """A rejected or withdrawn application's: N months after the last thing that happened to it
    (the decision letter, the withdrawal). An application that became a course goes with the
    course; an open one stays."""
    if application.status not in (ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN):
        return None
    moments = [m for m in (last_event, application.decided_at, application.submitted_at) if m is not None]
    return add_months(
        local_date(max(as_utc(m) for m in moments)), get_settings().retention_application_months
    )


def _day_text(day: date) -> str:
    return day.strftime("%d.%m.%Y")


def course_retention_note(course: Course) -> str:
    """What the course page says about its personal data (Danish)."""
    months = get_settings().retention_course_months
    if course.purged_at is not None:
        return f"slettet {_day_text(local_date(course.purged_at))} (opbevaringstiden var udløbet)"
    end = course_retention_end(course)
    if end is None:
        return f"slettes {months} måneder efter, at forløbet er afsluttet"
    return f"slettes {_day_text(end)} ({months} måneder efter afslutningen)"


def application_retention_note(application: Application) -> str:
    """What the application page says about its personal data (Danish)."""
    if application.purged_at is not None:
        return f"slettet {_day_text(local_date(application.purged_at))} (opbevaringstiden var udløbet)"
    if application.status == ApplicationStatus.STARTED:
        return "slettes sammen med forløbet"
    with Session(get_engine()) as session:
        last = session.exec(
            select(func.max(AuditEvent.at)).where(AuditEvent.application_id == application.id)
        ).one()
    end = application_retention_end(application, last)
    months = get_settings().retention_application_months
    if end is None:
        return f"slettes {months} måneder efter et afslag eller en tilbagetrækning"
    return f"slettes {_day_text(end)} ({months} måneder efter afgørelsen eller tilbagetrækningen)"


# --- purge -----------------------------------------------------------------------------------


@dataclass
class PurgeReport:
    day: date
    dry_run: bool
    courses: list[int] = field(default_factory=list)
    applications: list[int] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def lines(self) -> list[tuple[str, int]]:
        """(Danish label, count) for every kind, in a fixed order (zeros included)."""
        return [(label, self.counts.get(kind, 0)) for kind, label in KINDS.items()]

    def summary(self) -> str:
        """What and how many (never the content): for the audit trail and logs."""
        parts = [f"{label.lower()} {n}" for label, n in self.lines() if n]
        return f"forløb {ids_text(self.courses)}; ansøgninger {ids_text(self.applications)}; " + ", ".join(
            parts
        )


def ids_text(ids: list[int]) -> str:
    return ", ".join(map(str, ids)) if ids else "ingen"


class _Purge:
    """One purge inside one session; `files` are the documents' content hashes to unlink after the
    commit (none still referenced by another row)."""

    def __init__(self, session: Session, day: date, report: PurgeReport) -> None:
        self.session = session
        self.day = day
        self.report = report
        self.counts = report.counts
        self.files: set[str] = set()
        self.stamp = now()

    def run(self) -> None:
        settings = get_settings()
        for course in self._due_courses():
            self.course(course)
        for application in self._due_applications():
            self.application(application, names=set())
        self.evaluation_text(settings.retention_evaluation_months)
        self.intro_notes(settings.retention_application_months)
        self.network(settings.retention_network_months)
        self.access_log(settings.retention_access_log_months)
        self.session.flush()
        self.files = {
            sha for sha in self.files if not self._still_used(sha) and uploads.path_for(sha).exists()
        }
        self.counts["files"] += len(self.files)

    # What is due
    def _due_courses(self) -> list[Course]:
        candidates = self.session.exec(
            select(Course)
            .where(
                col(Course.purged_at).is_(None),
                col(Course.status).in_((CourseStatus.COMPLETED, CourseStatus.CANCELLED)),
            )
            .order_by(col(Course.id))
        ).all()
        return [c for c in candidates if (end := course_retention_end(c)) is not None and end <= self.day]

    def _due_applications(self) -> list[Application]:
        last = dict(
            self.session.exec(
                select(AuditEvent.application_id, func.max(AuditEvent.at))
                .where(col(AuditEvent.application_id).is_not(None))
                .group_by(col(AuditEvent.application_id))
            ).all()
        )
        candidates = self.session.exec(
            select(Application)
            .where(
                col(Application.purged_at).is_(None),
                col(Application.status).in_((ApplicationStatus.REJECTED, ApplicationStatus.WITHDRAWN)),
            )
            .order_by(col(Application.id))
        ).all()
        return [
            a
            for a in candidates
            if (end := application_retention_end(a, last.get(a.id))) is not None and end <= self.day
        ]

    # One course
    def course(self, course: Course) -> None:
        assert course.id is not None
        names: set[str] = set()
        for contact in self.session.exec(select(Contact).where(Contact.course_id == course.id)):
            if contact.name or not is_pseudonym(contact.email):
                names.add(contact.name)
                contact.name, contact.email = "", pseudonym(f"k{contact.id}")
                self.session.add(contact)
                self.counts["contacts"] += 1
        for task in self.session.exec(select(HumanTask).where(HumanTask.course_id == course.id)):
            if task.answer:
                names |= _names_in(task.answer)
                scrubbed = scrub_answer(task.answer, task.kind)
                if scrubbed != task.answer:
                    task.answer = scrubbed
                    self.session.add(task)
                    self.counts["answers"] += 1
        for meeting in self.session.exec(select(Meeting).where(Meeting.course_id == course.id)):
            if meeting.location or meeting.link:
                meeting.location, meeting.link = "", None
                self.session.add(meeting)
                self.counts["meetings"] += 1
        for invite in self.session.exec(
            select(EvaluationInvite).where(EvaluationInvite.course_id == course.id)
        ):
            if not is_pseudonym(invite.email):
                names.add(invite.name)
                _forget_invite(invite)
                self.session.add(invite)
                self.counts["links"] += 1
        self._evaluation_answers(EvaluationAnswer.course_id == course.id)
        self._messages(Notification.course_id == course.id)
        for application in self.session.exec(
            select(Application).where(
                or_(col(Application.course_id) == course.id, col(Application.id) == course.application_id)
            )
        ):
            if application.purged_at is None:
                self.application(application, names)
        self._audit_details(AuditEvent.course_id == course.id, names)
        course.focus = None
        course.purged_at = self.stamp
        self.session.add(course)
        self.report.courses.append(course.id)
        audit(
            self.session,
            actor="sletning",
            action="personoplysninger slettet",
            course_id=course.id,
            detail="Opbevaringsperioden er udløbet: navne, e-mails, fritekst, beskeder og links er slettet.",
        )

    # One application
    def application(self, application: Application, names: set[str]) -> None:
        assert application.id is not None
        names = names | _names_in(application.answers)
        scrubbed = scrub_answer(application.answers, "application")
        changed = scrubbed != application.answers
        application.answers = scrubbed
        for score in self.session.exec(
            select(ApplicationScore).where(ApplicationScore.application_id == application.id)
        ):
            if score.note:
                score.note = ""
                self.session.add(score)
                changed = True
        if changed:
            self.counts["applications"] += 1
        for document in self.session.exec(
            select(ApplicationDocument).where(ApplicationDocument.application_id == application.id)
        ):
            self.files.add(document.sha256)
            self.session.delete(document)
            self.counts["documents"] += 1
        self._messages(Notification.application_id == application.id)
        self._audit_details(AuditEvent.application_id == application.id, names)
        application.uid = uuid4().hex  # the municipality's /a/<token> links name the old one
        self.counts["links"] += 1
        application.purged_at = self.stamp
        self.session.add(application)
        self.report.applications.append(application.id)
        self.session.add(
            AuditEvent(
                course_id=None,
                application_id=application.id,
                actor="sletning",
                action="personoplysninger slettet",
                detail="Opbevaringsperioden er udløbet: svar, dokumenter, beskeder og link er slettet.",
            )
        )

    def _messages(self, where: Any) -> None:
        for message in self.session.exec(select(Notification).where(where)):
            if _forget_message(message):
                self.session.add(message)
                self.counts["messages"] += 1

    def _audit_details(self, where: Any, names: set[str]) -> None:
        names = {n for n in names if n}
        for event in self.session.exec(select(AuditEvent).where(where)):
            detail = _scrub_text(event.detail, names)
            if detail != event.detail:
                event.detail = detail
                self.session.add(event)
                self.counts["audit"] += 1

    def _evaluation_answers(self, where: Any) -> None:
        for answer in self.session.exec(select(EvaluationAnswer).where(where)):
            scrubbed = {k: ("" if isinstance(v, str) else v) for k, v in answer.answers.items()}
            if scrubbed != answer.answers:
                answer.answers = scrubbed
                self.session.add(answer)
                self.counts["evaluation_text"] += 1

    def evaluation_text(self, months: int) -> None:
        self._evaluation_answers(col(EvaluationAnswer.submitted_on) <= add_months(self.day, -months))

    def intro_notes(self, months: int) -> None:
        """A talk's note (free text); the talk and its day stay (an application's gate asks for it)."""
        for talk in self.session.exec(
            select(IntroTalk).where(
                IntroTalk.note != "", col(IntroTalk.held_on) <= add_months(self.day, -months)
            )
        ):
            talk.note = ""
            self.session.add(talk)
            self.counts["intro_notes"] += 1

    def network(self, months: int) -> None:
        cutoff = day_start(add_months(self.day, -months))
        for member in self.session.exec(
            select(NetworkMember).where(
                col(NetworkMember.left_at).is_not(None), col(NetworkMember.left_at) <= cutoff
            )
        ):
            if not is_pseudonym(member.email):
                # The network's own mails to them (welcome, invitations): no course, no application.
                self._messages(
                    (func.lower(Notification.recipient) == member.email.lower())
                    & col(Notification.course_id).is_(None)
                    & col(Notification.application_id).is_(None)
                )
                _forget_member(member)
                self.session.add(member)
                self.counts["network"] += 1

    def access_log(self, months: int) -> None:
        cutoff = day_start(add_months(self.day, -months))
        result = self.session.execute(delete(AccessLog).where(col(AccessLog.at) < cutoff))
        self.counts["access_log"] += int(getattr(result, "rowcount", 0) or 0)

    def _still_used(self, sha256: str) -> bool:
        return (
            self.session.exec(
                select(ApplicationDocument.id).where(ApplicationDocument.sha256 == sha256)
            ).first()
            is not None
        )


def _names_in(answer: Any) -> set[str]:
    """People's names in an answer: the `navn` of every entry that also holds an e-mail."""
    found: set[str] = set()
    if isinstance(answer, dict):
        if isinstance(answer.get("navn"), str) and answer["navn"]:
            found.add(answer["navn"])
        for key in ("underskriver_navn",):
            if isinstance(answer.get(key), str) and answer[key]:
                found.add(answer[key])
        for value in answer.values():
            found |= _names_in(value)
    elif isinstance(answer, list):
        for item in answer:
            found |= _names_in(item)
    return found


def _forget_invite(invite: EvaluationInvite) -> None:
    invite.name, invite.email = "", pseudonym(f"e{invite.id}")
    invite.token = f"slettet-{secrets.token_hex(16)}"  # never sent: the old link is dead


def _forget_member(member: NetworkMember) -> None:
    member.name, member.email = "", pseudonym(f"m{member.id}")
    member.token = f"slettet-{secrets.token_hex(16)}"
    member.left_at = member.left_at or now()


def _forget_message(message: Notification) -> bool:
    """Body, calendar file and error gone; a mail's recipient pseudonymised (in its key too, which
    names the address); one never sent is not sent now. False when there was nothing to forget."""
    fields = ("body_text", "body_html", "ics", "last_error", "recipient", "idempotency_key", "status")
    before = [getattr(message, name) for name in fields]
    message.body_text, message.body_html, message.ics = "", "", None
    if message.last_error != NOT_SENT:
        message.last_error = None
    if message.status == NotificationStatus.PENDING:
        message.status, message.last_error = NotificationStatus.FAILED, NOT_SENT
    if message.channel == "mail" and not is_pseudonym(message.recipient):
        new = pseudonym(f"n{message.id}")
        message.idempotency_key = _replace(message.idempotency_key, message.recipient, new)
        message.recipient = new
    return [getattr(message, name) for name in fields] != before


def _replace(text: str, old: str, new: str) -> str:
    return re.sub(re.escape(old), new, text, flags=re.IGNORECASE) if old else text


def purge(day: date | None = None, *, dry_run: bool, actor: str = "sletning") -> PurgeReport:
    """Purge what is past its retention end on `day` (default today). `dry_run`: the same work,
    rolled back, nothing written and no file touched. A real purge that removed anything is audited."""
    day = day or today()
    report = PurgeReport(day=day, dry_run=dry_run)
    with Session(get_engine(), expire_on_commit=False) as session:
        work = _Purge(session, day, report)
        work.run()
        if dry_run or not report.total:
            session.rollback()
            return report
        audit(
            session,
            actor=actor,
            action="sletning efter opbevaringstid",
            course_id=None,
            detail=report.summary(),
        )
        session.commit()
    for sha256 in work.files:
        uploads.path_for(sha256).unlink(missing_ok=True)
    return report


# --- erasure on request ----------------------------------------------------------------------

TABLE_LABELS = {
    "contact": "Kontaktpersoner",
    "humantask": "Opgavesvar",
    "notification": "Udbakken",
    "auditevent": "Revisionsspor",
    "application": "Ansøgninger",
    "evaluationinvite": "Evalueringslinks",
    "networkmember": "Netværket",
    "meeting": "Møder",
}
NOT_SWEPT = {"user", "consultantpreference", "apitoken", "alembic_version", "accesslog"}
"""Logins and the staff's own settings are not contacts (a consultant's address stays with their
account); the access log holds usernames only."""


@dataclass
class ErasureReport:
    key: str
    """The keyed hash the audit trail names the address by."""
    dry_run: bool
    found: Counter[str] = field(default_factory=Counter)
    """Where the address was found: Danish place -> rows."""
    courses: set[int] = field(default_factory=set)
    applications: set[int] = field(default_factory=set)

    @property
    def total(self) -> int:
        return sum(self.found.values())

    def lines(self) -> list[tuple[str, int]]:
        return sorted(self.found.items())


def address_key(email: str) -> str:
    """The address as the audit trail names it: HMAC-SHA256 with the secret key, 16 hex digits."""
    digest = hmac.new(secret_key().encode(), email.strip().lower().encode(), hashlib.sha256)
    return digest.hexdigest()[:16]


def _check_address(email: str) -> str:
    address = email.strip()
    if not EMAIL.fullmatch(address) or is_pseudonym(address):
        raise InvalidInput("Skriv personens e-mailadresse, fx navn@kommune.dk. Intet er ændret.")
    return address


def erase_contact(email: str, *, actor: str, dry_run: bool = False) -> ErasureReport:
    """Remove or pseudonymise one person (not a login) wherever the address is: contact rows,
    answers (their name with it), evaluation links, network membership, the outbox (recipient and
    body), the audit trail and any other text. `dry_run`: where it was found, nothing changed.
    Audited without the address."""
    address = _check_address(email)
    report = ErasureReport(key=address_key(address), dry_run=dry_run)
    low = address.lower()
    with Session(get_engine(), expire_on_commit=False) as session:
        names = _erase_known(session, low, report)
        session.flush()
        _sweep(session, address, names, report)
        if dry_run:
            session.rollback()
            return report
        places = ", ".join(f"{where.lower()} {n}" for where, n in report.lines()) or "ingen steder"
        audit(
            session,
            actor=actor,
            action="person slettet efter anmodning",
            course_id=None,
            detail=f"e-mail med nøgle {report.key}: fundet i {places}",
        )
        session.commit()
    return report


def _erase_known(session: Session, low: str, report: ErasureReport) -> set[str]:
    """The rows that are about the person: pseudonymised field by field. Returns their names."""
    names: set[str] = set()
    for contact in session.exec(select(Contact).where(func.lower(Contact.email) == low)):
        names.add(contact.name)
        report.courses.add(contact.course_id)
        contact.name, contact.email = "", pseudonym(f"k{contact.id}")
        session.add(contact)
        report.found[TABLE_LABELS["contact"]] += 1
    for invite in session.exec(select(EvaluationInvite).where(func.lower(EvaluationInvite.email) == low)):
        names.add(invite.name)
        report.courses.add(invite.course_id)
        _forget_invite(invite)
        session.add(invite)
        report.found[TABLE_LABELS["evaluationinvite"]] += 1
    for member in session.exec(select(NetworkMember).where(func.lower(NetworkMember.email) == low)):
        names.add(member.name)
        _forget_member(member)
        session.add(member)
        report.found[TABLE_LABELS["networkmember"]] += 1
    for message in session.exec(select(Notification).where(func.lower(Notification.recipient) == low)):
        if message.course_id is not None:
            report.courses.add(message.course_id)
        if message.application_id is not None:
            report.applications.add(message.application_id)
        _forget_message(message)
        session.add(message)
        report.found[TABLE_LABELS["notification"]] += 1
    for task in session.exec(select(HumanTask).where(_mentions(HumanTask.answer, low))):
        answer, found = _without_person(task.answer, low)
        if found:
            names |= found
            report.courses.add(task.course_id)
            task.answer = answer
            session.add(task)
            report.found[TABLE_LABELS["humantask"]] += 1
    for application in session.exec(select(Application).where(_mentions(Application.answers, low))):
        answers, found = _without_person(application.answers, low)
        if found:
            names |= found
            if application.id is not None:
                report.applications.add(application.id)
            application.answers = answers
            session.add(application)
            report.found[TABLE_LABELS["application"]] += 1
    return {n for n in names if n}


def _mentions(column: Any, low: str) -> Any:
    """`column` (text or JSON) holds the address, in any case; JSON as stored may escape non-ASCII."""
    text = func.lower(cast(column, Text))
    escaped = json.dumps(low)[1:-1]
    return or_(text.contains(low, autoescape=True), text.contains(escaped, autoescape=True))


def _without_person(value: Any, low: str) -> tuple[Any, set[str]]:
    """`value` with every entry that holds the address emptied of its name and address (the entry
    stays, so counts and shapes do). Returns the names removed ('' when an entry had none)."""
    names: set[str] = set()

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            if any(isinstance(v, str) and v.strip().lower() == low for v in node.values()):
                names.add(str(node.get("navn") or node.get("name") or ""))
                return {
                    k: (
                        ""
                        if isinstance(v, str) and (k in ("navn", "name") or v.strip().lower() == low)
                        else walk(v)
                    )
                    for k, v in node.items()
                }
            return {k: walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(item) for item in node]
        return node

    result = walk(value)
    return result, names


def _text_columns(table: Any) -> list[Any]:
    """The columns that hold text: strings (SQLModel's AutoString is a decorator of String) and JSON;
    not enums (codes), not primary keys."""

    def holds_text(column: Any) -> bool:
        kind = column.type.impl_instance if isinstance(column.type, TypeDecorator) else column.type
        return isinstance(kind, String | Text | JSON) and not isinstance(kind, SAEnum)

    return [c for c in table.columns if holds_text(c) and not c.primary_key]


def _sweep(session: Session, address: str, names: set[str], report: ErasureReport) -> None:
    """Every other text the address is in (mail bodies to others, audit details, free text, keys):
    the address is replaced, and in rows of the courses and applications where the person was
    found, their name too. A table's row counts once."""
    low = address.lower()
    replacement = pseudonym(secrets.token_hex(4))
    for table in SQLModel.metadata.sorted_tables:
        if table.name in NOT_SWEPT:
            continue
        columns = _text_columns(table)
        if not columns:
            continue
        (pk,) = table.primary_key.columns
        where = or_(*(_mentions(c, low) for c in columns))
        scoped = _scope(table, report)
        if scoped is not None and names:
            where = or_(where, scoped & or_(*(_mentions(c, n.lower()) for c in columns for n in names)))
        rows = session.execute(select(pk, *columns).where(where)).all()
        for row in rows:
            in_scope = _in_scope(table, session, row[0], report)
            values: dict[str, Any] = {}
            for column, value in zip(columns, row[1:], strict=True):
                new = _replace_deep(value, address, replacement, names if in_scope else set())
                if new != value:
                    values[column.name] = new
            if values:
                session.execute(update(table).where(pk == row[0]).values(**values))
                report.found[TABLE_LABELS.get(table.name, table.name)] += 1


def _scope(table: Any, report: ErasureReport) -> Any:
    clauses = []
    if "course_id" in table.columns and report.courses:
        clauses.append(table.c.course_id.in_(report.courses))
    if "application_id" in table.columns and report.applications:
        clauses.append(table.c.application_id.in_(report.applications))
    return or_(*clauses) if clauses else None


def _in_scope(table: Any, session: Session, pk_value: Any, report: ErasureReport) -> bool:
    scope = _scope(table, report)
    if scope is None:
        return False
    (pk,) = table.primary_key.columns
    return session.execute(select(pk).where(pk == pk_value, scope)).first() is not None


def _replace_deep(value: Any, address: str, replacement: str, names: set[str]) -> Any:
    if isinstance(value, str):
        out = _replace(value, address, replacement)
        for name in sorted(names, key=len, reverse=True):
            if len(name) >= 3:
                out = _replace(out, name, ERASED)
        return out
    if isinstance(value, dict):
        return {k: _replace_deep(v, address, replacement, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_deep(v, address, replacement, names) for v in value]
    return value
