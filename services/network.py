"""The cross-municipal network (issue 15): sign-ups, leaving, and the network's meetings.

A municipality's contact person signs up on the public page `/netvaerk` (the revisit reminder links
to it): municipality, name and work e-mail, nothing else. The confirmation mail carries the person's
own link (`/netvaerk/<token>`) to leave. Consultants plan, move and cancel network meetings: every
active member gets an invitation, update or cancellation with a calendar file (one UID per meeting,
SEQUENCE up on each change, METHOD:CANCEL), through the outbox like every other message, so a failed
send is shown on Notifikationer and can be sent again. Every change is an audit event (no names or
addresses in it: the member's number and municipality).

Bad input changes nothing: every field is checked first, with a Danish message per field.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import load_only
from sqlmodel import Session, col, func, select

from core.clock import as_utc, now
from core.cpr import contains_cpr
from core.db import session_scope
from core.errors import Conflict, InvalidInput, NotFound
from models.forms import CPR_MESSAGE, HTTPS_URL
from models.tables import (
    Municipality,
    NetworkMeeting,
    NetworkMeetingStatus,
    NetworkMember,
    Notification,
    NotificationStatus,
)
from services.audit import audit

EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_NAME = 200
MAX_AGENDA = 4000
MEMBER_ACTOR = "netværksmedlem (eget link)"


class MemberRow(BaseModel):
    id: int
    municipality_code: int
    kommune: str
    name: str
    email: str
    signed_up_at: datetime


class MeetingRow(BaseModel):
    id: int
    title: str
    starts_at: datetime
    location: str
    link: str | None
    agenda: str
    status: NetworkMeetingStatus
    sequence: int
    created_by: str
    sent: int
    """Messages about the meeting sent (every version)."""
    failed: int
    """Messages about the meeting that failed or may have been sent: Notifikationer shows them."""


@dataclass
class MemberPage:
    """What the member's own page shows (nothing the link's holder did not type themselves)."""

    kommune: str
    name: str
    email: str
    signed_up_at: datetime
    left_at: datetime | None


@dataclass
class Sent:
    """A change and its messages: how many were sent, which failed (still in the outbox)."""

    id: int
    sent: int = 0
    failed: list[int] = field(default_factory=list)


def _deliver(result: Sent, ids: list[int]) -> Sent:
    from services.meetings import deliver_now

    result.sent, result.failed = deliver_now(ids)
    return result


def _text(errors: dict[str, str], name: str, value: str, label: str, limit: int, *, required: bool) -> str:
    value = value.strip()
    if required and not value:
        errors[name] = f"Skriv {label}."
    elif len(value) > limit:
        errors[name] = f"Højst {limit} tegn."
    elif contains_cpr(value):
        errors[name] = CPR_MESSAGE
    return value


def _refuse(errors: dict[str, str]) -> None:
    if errors:
        raise InvalidInput("Ret de markerede felter og send igen. Intet er gemt.", details=errors)


# --- signing up and leaving ---------------------------------------------------------------------


def sign_up(kommune: str, name: str, email: str, *, consent: bool) -> Sent:
    """A new active member (the confirmation mail and invitations to the planned meetings sent
    now). `InvalidInput` with `details` {field: message}, or `Conflict` when the address is already
    signed up for the municipality; nothing is stored then."""
    from notifications import compose

    errors: dict[str, str] = {}
    name = _text(errors, "navn", name, "dit navn", MAX_NAME, required=True)
    email = email.strip().lower()
    if not EMAIL.match(email) or len(email) > 254:
        errors["email"] = "Skriv en gyldig e-mailadresse, fx navn@kommune.dk."
    elif contains_cpr(email):  # an address is free text too
        errors["email"] = CPR_MESSAGE
    if not consent:
        errors["samtykke"] = "Sæt kryds, hvis du vil tilmeldes: uden dit samtykke gemmer vi intet."
    with session_scope() as session:
        municipality = (
            session.get(Municipality, int(kommune)) if kommune.isdigit() and len(kommune) < 6 else None
        )
        if municipality is None:
            errors["kommune"] = "Vælg din kommune på listen."
        _refuse(errors)
        assert municipality is not None
        if _active(session, municipality.code, email) is not None:
            raise _already(municipality.name)
        member = NetworkMember(
            municipality_code=municipality.code, name=name, email=email, token=secrets.token_urlsafe(24)
        )
        try:
            with session.begin_nested():
                session.add(member)
        except IntegrityError:  # signed up twice at the same moment
            raise _already(municipality.name) from None
        assert member.id is not None
        audit(
            session,
            actor=MEMBER_ACTOR,
            action="netværk: tilmeldt",
            course_id=None,
            detail=f"medlem {member.id} ({municipality.name})",
        )
        member_id = member.id
    ids = compose.enqueue_network_welcome(member_id)
    for meeting_id in _upcoming_ids():
        ids += compose.enqueue_network_meeting_message(meeting_id, "netvaerk_invitation", member_id=member_id)
    return _deliver(Sent(member_id), ids)


def _already(kommune: str) -> Conflict:
    return Conflict(
        f"I er allerede tilmeldt netværket: e-mailadressen er tilmeldt for {kommune}. "
        "Find linket i bekræftelsesmailen, hvis du vil afmelde dig."
    )


def _active(session: Session, code: int, email: str) -> NetworkMember | None:
    return session.exec(
        select(NetworkMember).where(
            NetworkMember.municipality_code == code,
            NetworkMember.email == email,
            col(NetworkMember.left_at).is_(None),
        )
    ).first()


def _member(session: Session, token: str) -> NetworkMember:
    member = (
        session.exec(select(NetworkMember).where(NetworkMember.token == token)).first() if token else None
    )
    if member is None:
        raise NotFound("Linket til netværket findes ikke.")
    return member


def _kommune(session: Session, code: int) -> str:
    municipality = session.get(Municipality, code)
    return municipality.name if municipality else str(code)


def _page(session: Session, member: NetworkMember) -> MemberPage:
    return MemberPage(
        kommune=_kommune(session, member.municipality_code),
        name=member.name,
        email=member.email,
        signed_up_at=as_utc(member.signed_up_at),
        left_at=as_utc(member.left_at) if member.left_at else None,
    )


def member_page(token: str) -> MemberPage:
    with session_scope() as session:
        return _page(session, _member(session, token))


def leave(token: str) -> MemberPage:
    """The member leaves: no more invitations. Leaving twice changes nothing."""
    with session_scope() as session:
        member = _member(session, token)
        if member.left_at is None:
            member.left_at = now()
            session.add(member)
            audit(
                session,
                actor=MEMBER_ACTOR,
                action="netværk: afmeldt",
                course_id=None,
                detail=f"medlem {member.id} ({_kommune(session, member.municipality_code)})",
            )
        return _page(session, member)


# --- lists --------------------------------------------------------------------------------------


def list_members(municipality_code: int | None = None) -> list[MemberRow]:
    """The active members (of one municipality), by municipality and name."""
    query = (
        select(NetworkMember, Municipality.name)
        .join(Municipality, col(Municipality.code) == col(NetworkMember.municipality_code))
        .where(col(NetworkMember.left_at).is_(None))
        .order_by(col(Municipality.name), col(NetworkMember.name))
    )
    if municipality_code is not None:
        query = query.where(NetworkMember.municipality_code == municipality_code)
    with session_scope() as session:
        rows = session.exec(query)
        return [
            MemberRow(
                id=member.id or 0,
                municipality_code=member.municipality_code,
                kommune=kommune,
                name=member.name,
                email=member.email,
                signed_up_at=as_utc(member.signed_up_at),
            )
            for member, kommune in rows
        ]


def _upcoming_ids() -> list[int]:
    with session_scope() as session:
        return [
            i
            for i in session.exec(
                select(NetworkMeeting.id).where(
                    NetworkMeeting.status == NetworkMeetingStatus.PLANNED,
                    col(NetworkMeeting.starts_at) > now(),
                )
            )
            if i is not None
        ]


_COUNTED: list[Any] = [
    Notification.idempotency_key,
    Notification.status,
    Notification.created_at,
    Notification.updated_at,
]
"""What counting a meeting's messages reads of each outbox row (not the bodies)."""


def _send_counts(session: Session) -> dict[str, tuple[int, int]]:
    """Per meeting uid: (sent, failed or interrupted) of its messages, from the outbox keys."""
    from notifications import outbox

    counts: dict[str, tuple[int, int]] = {}
    rows = session.exec(
        select(Notification)
        .options(load_only(*_COUNTED))
        .where(col(Notification.purpose).in_(("netvaerk_invitation", "netvaerk_flyttet", "netvaerk_aflyst")))
    )
    for row in rows:
        uid = row.idempotency_key.split(":")[1]
        sent, failed = counts.get(uid, (0, 0))
        counts[uid] = (
            sent + (row.status == NotificationStatus.SENT),
            failed + outbox.needs_attention(row),
        )
    return counts


def list_meetings(status: NetworkMeetingStatus | None = None) -> tuple[list[MeetingRow], list[MeetingRow]]:
    """(upcoming, earliest first; past, latest first), of one status or all (a cancelled meeting
    stays in its place)."""
    query = select(NetworkMeeting).order_by(col(NetworkMeeting.starts_at))
    if status is not None:
        query = query.where(NetworkMeeting.status == status)
    with session_scope() as session:
        counts = _send_counts(session)
        meetings = list(session.exec(query))
        rows = [
            MeetingRow(
                id=m.id or 0,
                title=m.title,
                starts_at=as_utc(m.starts_at),
                location=m.location,
                link=m.link,
                agenda=m.agenda,
                status=m.status,
                sequence=m.sequence,
                created_by=m.created_by,
                sent=counts.get(m.uid, (0, 0))[0],
                failed=counts.get(m.uid, (0, 0))[1],
            )
            for m in meetings
        ]
    moment = now()
    return [r for r in rows if r.starts_at > moment], [r for r in reversed(rows) if r.starts_at <= moment]


def member_count() -> int:
    with session_scope() as session:
        return session.exec(
            select(func.count()).select_from(NetworkMember).where(col(NetworkMember.left_at).is_(None))
        ).one()


# --- meetings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class MeetingInput:
    title: str
    at: str
    """As typed: '2026-03-03 10:00' or '2026-03-03T10:00' (Danish time)."""
    location: str = ""
    link: str = ""
    agenda: str = ""


def _when(errors: dict[str, str], typed: str) -> datetime | None:
    from services.meetings import check_meeting_time, parse_local

    try:
        return check_meeting_time(parse_local(typed))
    except InvalidInput as exc:
        errors["tidspunkt"] = exc.message if typed.strip() else "Vælg dato og klokkeslæt."
        return None


def _validated(data: MeetingInput) -> tuple[str, datetime, str, str | None, str]:
    errors: dict[str, str] = {}
    title = _text(errors, "titel", data.title, "en titel", MAX_NAME, required=True)
    location = _text(errors, "sted", data.location, "stedet", MAX_NAME, required=False)
    agenda = _text(errors, "dagsorden", data.agenda, "en dagsorden", MAX_AGENDA, required=False)
    link = data.link.strip()
    if link and (not HTTPS_URL.match(link) or len(link) > 2000):
        errors["link"] = "Linket skal være en https-adresse, fx https://teams.microsoft.com/..."
    at = _when(errors, data.at)
    _refuse(errors)
    assert at is not None
    return title, at, location, link or None, agenda


def plan_meeting(data: MeetingInput, *, actor: str, organizer: str) -> Sent:
    """A new network meeting; every active member is invited (.ics). `organizer`: the consultant's
    display name (the calendar's organizer is their e-mail)."""
    from notifications import compose

    title, at, location, link, agenda = _validated(data)
    with session_scope() as session:
        meeting = NetworkMeeting(
            title=title, starts_at=at, location=location, link=link, agenda=agenda, created_by=organizer
        )
        session.add(meeting)
        session.flush()
        assert meeting.id is not None
        audit(
            session,
            actor=actor,
            action="netværksmøde planlagt",
            course_id=None,
            detail=f"{meeting.id} {title} {data.at.strip()}",
        )
        meeting_id = meeting.id
    return _deliver(
        Sent(meeting_id), compose.enqueue_network_meeting_message(meeting_id, "netvaerk_invitation")
    )


def _planned(session: Session, meeting_id: int) -> NetworkMeeting:
    meeting = session.get(NetworkMeeting, meeting_id)
    if meeting is None:
        raise NotFound(f"Netværksmødet {meeting_id} findes ikke.")
    if meeting.status != NetworkMeetingStatus.PLANNED:
        raise Conflict(f"Netværksmødet '{meeting.title}' er aflyst og kan ikke ændres.")
    if as_utc(meeting.starts_at) <= now():
        raise Conflict(f"Netværksmødet '{meeting.title}' er holdt og kan ikke ændres.")
    return meeting


def move_meeting(meeting_id: int, typed: str, *, actor: str) -> Sent:
    """A new time: every active member gets the update (same UID, SEQUENCE + 1)."""
    from notifications import compose

    errors: dict[str, str] = {}
    with session_scope() as session:
        _planned(session, meeting_id)
    at = _when(errors, typed)
    _refuse(errors)
    assert at is not None
    with session_scope() as session:
        meeting = _planned(session, meeting_id)
        previous = as_utc(meeting.starts_at)
        if previous == at:
            raise Conflict(f"Netværksmødet ligger allerede {typed.strip()}. Intet er ændret.")
        meeting.starts_at = at
        meeting.sequence += 1
        session.add(meeting)
        audit(
            session,
            actor=actor,
            action="netværksmøde flyttet",
            course_id=None,
            detail=f"{meeting_id} {meeting.title} til {typed.strip()} (sekvens {meeting.sequence})",
        )
    ids = compose.enqueue_network_meeting_message(meeting_id, "netvaerk_flyttet", previous=previous)
    return _deliver(Sent(meeting_id), ids)


def cancel_meeting(meeting_id: int, *, actor: str) -> Sent:
    """Cancelled: every active member gets the cancellation (METHOD:CANCEL, SEQUENCE + 1)."""
    from notifications import compose

    with session_scope() as session:
        meeting = _planned(session, meeting_id)
        meeting.status = NetworkMeetingStatus.CANCELLED
        meeting.sequence += 1
        session.add(meeting)
        audit(
            session,
            actor=actor,
            action="netværksmøde aflyst",
            course_id=None,
            detail=f"{meeting_id} {meeting.title}",
        )
    return _deliver(Sent(meeting_id), compose.enqueue_network_meeting_message(meeting_id, "netvaerk_aflyst"))
