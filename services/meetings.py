"""Meetings and their reminder runs.

Meetings by hand: plan, move, cancel (`forloeb meeting ...`, the course page).

Each checks everything first and changes nothing on bad input. A move or cancel raises the
meeting's version: old reminder runs are set Cancelled, a reminder that fires anyway sends
nothing, and the new invitation/cancellation (.ics with the same UID, higher SEQUENCE) goes out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlmodel import select

from core import names
from core.clock import as_utc, local_to_utc, now
from core.cpr import refuse_cpr
from core.db import session_scope
from core.errors import Conflict, InvalidInput, NotFound
from core.labels import label
from core.workdays import holiday_name, is_working_day
from models.programmes import find_programme
from models.tables import ACTIVE_STATUSES, Course, Meeting, MeetingStatus, ReminderRun, ReminderRunStatus
from services.audit import audit
from services.flow_steps import meeting_title


@dataclass
class MeetingChange:
    meeting: Meeting
    sent: int = 0
    failed: list[int] = field(default_factory=list)
    scheduled: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)


def parse_local(text: str) -> datetime:
    """'2026-03-03 10:00' (Copenhagen time) → naive local datetime, or a clear Danish error."""
    try:
        return datetime.fromisoformat(text.strip().replace("T", " "))
    except ValueError:
        raise InvalidInput(f"'{text}' er ikke et tidspunkt. Skriv det som '2026-03-03 10:00'.") from None


def check_meeting_time(at: datetime) -> datetime:
    """A meeting time typed in Danish time: on a working day and ahead, as aware UTC; else a clear
    Danish error."""
    if at.tzinfo is not None:
        raise InvalidInput("Angiv tidspunktet i dansk tid uden tidszone, fx '2026-03-03 10:00'.")
    day = at.date()
    if not is_working_day(day):
        why = holiday_name(day) or ("en lørdag" if day.weekday() == 5 else "en søndag")
        raise InvalidInput(
            f"{day.isoformat()} er ikke en arbejdsdag ({why}). Vælg en hverdag. Intet er ændret."
        )
    planned = local_to_utc(at)
    if planned <= now():
        raise InvalidInput(f"{at:%Y-%m-%d %H:%M} er allerede passeret. Vælg et tidspunkt i fremtiden.")
    return planned


def _planned(meeting: Meeting | None, meeting_id: int) -> Meeting:
    if meeting is None:
        raise NotFound(f"Mødet {meeting_id} findes ikke.")
    if meeting.status != MeetingStatus.PLANNED:
        raise Conflict(
            f"Mødet {meeting_id} ('{meeting.title}') er {label(meeting.status).lower()} og kan ikke ændres."
        )
    return meeting


def deliver_now(ids: list[int]) -> tuple[int, list[int]]:
    """Send enqueued messages while a person waits: (how many sent, the ids that failed). A failed
    row stays in the outbox, shown on Notifikationer to be sent again. Once one has failed every
    attempt, the rest get one attempt each: the mail server is likely down, and a list of many
    recipients should not keep the person waiting on every backoff."""
    from notifications import outbox

    sent = 0
    failed: list[int] = []
    for notification_id in ids:
        try:
            outbox.deliver(notification_id, attempts=1 if failed else None)
            sent += 1
        except outbox.DeliveryFailed:
            failed.append(notification_id)
    return sent, failed


def _send(change: MeetingChange, ids: list[int]) -> None:
    sent, failed = deliver_now(ids)
    change.sent += sent
    change.failed += failed


def plan_meeting(course_id: int, kind: str, at: datetime, place: str, *, actor: str) -> MeetingChange:
    from notifications import compose
    from services import prefect_gateway

    refuse_cpr(place)
    planned = check_meeting_time(at)
    prefect_gateway.ensure_reachable()
    with session_scope() as session:
        course = session.get(Course, course_id)
        if course is None:
            raise NotFound(f"Forløb {course_id} findes ikke.")
        if course.status not in ACTIVE_STATUSES:
            raise Conflict(
                f"Forløb {course_id} er {label(course.status).lower()}; der kan ikke planlægges møder."
            )
        programme = find_programme(course.programme, course.programme_version)
        kinds = [k.key for k in programme.meeting_kinds] if programme else []
        if kind not in kinds:
            raise InvalidInput(f"Ukendt mødetype '{kind}'. Vælg en af: {', '.join(kinds)}.")
        count = len(list(session.exec(select(Meeting.id).where(Meeting.course_id == course_id))))
        key = f"{kind}-m{count + 1}"
        meeting = Meeting(
            course_id=course_id,
            key=key,
            kind=kind,
            title=meeting_title(programme, kind, kind),
            planned_at=planned,
            location=place.strip() or "Aftales nærmere",
        )
        session.add(meeting)
        session.flush()
        audit(
            session, actor=actor, action="møde planlagt", course_id=course_id, detail=f"{meeting.title} {at}"
        )
    assert meeting.id is not None
    change = MeetingChange(meeting)
    change.scheduled = schedule_meeting_reminders(meeting.id)
    _send(change, compose.enqueue_meeting_message(meeting.id, "moede_invitation"))
    return change


def move_meeting(meeting_id: int, at: datetime, *, actor: str) -> MeetingChange:
    from notifications import compose
    from services import prefect_gateway

    planned = check_meeting_time(at)
    with session_scope() as session:
        _planned(session.get(Meeting, meeting_id), meeting_id)
    prefect_gateway.ensure_reachable()
    with session_scope() as session:
        meeting = _planned(session.get(Meeting, meeting_id), meeting_id)
        previous = as_utc(meeting.planned_at)
        if previous == planned:
            raise Conflict(f"Mødet {meeting_id} ligger allerede {at:%Y-%m-%d %H:%M}. Intet er ændret.")
        meeting.planned_at = planned
        meeting.version += 1
        session.add(meeting)
        audit(
            session,
            actor=actor,
            action="møde flyttet",
            course_id=meeting.course_id,
            detail=f"{meeting.title} til {at:%Y-%m-%d %H:%M} (version {meeting.version})",
        )
    change = MeetingChange(meeting)
    change.cancelled = cancel_stale_reminders(meeting_id, meeting.version)
    change.scheduled = schedule_meeting_reminders(meeting_id)
    _send(change, compose.enqueue_meeting_message(meeting_id, "moede_flyttet", previous=previous))
    return change


def cancel_meeting(meeting_id: int, *, actor: str) -> MeetingChange:
    from notifications import compose
    from services import prefect_gateway

    with session_scope() as session:
        _planned(session.get(Meeting, meeting_id), meeting_id)
    prefect_gateway.ensure_reachable()
    with session_scope() as session:
        meeting = _planned(session.get(Meeting, meeting_id), meeting_id)
        meeting.status = MeetingStatus.CANCELLED
        meeting.version += 1
        session.add(meeting)
        audit(session, actor=actor, action="møde aflyst", course_id=meeting.course_id, detail=meeting.title)
    change = MeetingChange(meeting)
    change.cancelled = cancel_stale_reminders(meeting_id, None)
    _send(change, compose.enqueue_meeting_message(meeting_id, "moede_aflyst"))
    return change


# --- reminder runs ----------------------------------------------------------------------------


def schedule_meeting_reminders(meeting_id: int) -> list[str]:
    """Schedule the current version's reminders that are still ahead; returns the flow run ids."""
    from notifications.compose import planned_reminders
    from services import prefect_gateway

    run_ids = []
    for planned in planned_reminders(meeting_id):
        with session_scope() as session:
            existing = session.exec(
                select(ReminderRun).where(
                    ReminderRun.meeting_id == meeting_id,
                    ReminderRun.kind == planned.kind,
                    ReminderRun.meeting_version == planned.meeting_version,
                )
            ).one_or_none()
            if existing is not None and existing.flow_run_id:
                run_ids.append(existing.flow_run_id)
                continue
        flow_run_id = prefect_gateway.schedule_run(
            names.REMINDER,
            parameters={
                "meeting_id": meeting_id,
                "kind": planned.kind,
                "version": planned.meeting_version,
                "template": planned.template,
            },
            scheduled_time=planned.at,
            idempotency_key=planned.idempotency_key,
        )
        with session_scope() as session:
            session.add(
                ReminderRun(
                    meeting_id=meeting_id,
                    kind=planned.kind,
                    meeting_version=planned.meeting_version,
                    scheduled_for=planned.at,
                    flow_run_id=flow_run_id,
                )
            )
        run_ids.append(flow_run_id)
    return run_ids


def cancel_stale_reminders(meeting_id: int, current_version: int | None) -> list[str]:
    """Cancel scheduled reminder runs of every version but `current_version` (None: all)."""
    from services import prefect_gateway

    with session_scope() as session:
        stale = [
            run
            for run in session.exec(
                select(ReminderRun).where(
                    ReminderRun.meeting_id == meeting_id, ReminderRun.status == ReminderRunStatus.SCHEDULED
                )
            )
            if run.meeting_version != current_version
        ]
    ids = [run.flow_run_id for run in stale if run.flow_run_id]
    if ids:
        prefect_gateway.cancel_scheduled_runs(ids)
    with session_scope() as session:
        for run in stale:
            run.status = ReminderRunStatus.CANCELLED
            session.add(run)
    return ids


def reminder_runs(meeting_id: int) -> list[ReminderRun]:
    with session_scope() as session:
        return list(
            session.exec(
                select(ReminderRun)
                .where(ReminderRun.meeting_id == meeting_id)
                .order_by(ReminderRun.meeting_version, ReminderRun.scheduled_for)  # type: ignore[arg-type]
            )
        )
