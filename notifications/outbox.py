"""The outbox: every message is a row first, then delivered; a `sent` row is never sent again.

    enqueue()  insert a rendered message under its idempotency key (or return the existing row)
    deliver()  send a pending/failed row with attempts and exponential backoff
    retry()    send a failed row again (refuses rows that are sent)

The row is committed before the send and after each attempt, so a crash never loses a message.
Each attempt first *claims* the row (pending/failed -> sending, one UPDATE, committed), so two
senders never send the same row. A crash between the SMTP server accepting a mail and the commit
that marks it sent leaves the row `sending`: it may have been sent, so no rerun sends it again on
its own; it is shown as "måske sendt" and a person decides (`retry --force`). At most once, and
never silently lost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from core.clock import as_utc, format_local, now
from core.db import session_scope
from core.errors import Conflict, ForloebError, NotFound
from core.labels import label
from core.settings import get_settings
from models.tables import Notification, NotificationStatus
from notifications.render import Rendered


class DeliveryFailed(ForloebError):
    """Every attempt failed; the row is `failed` with the last error."""

    exit_code = 6
    http_status = 502


@dataclass(frozen=True)
class Message:
    course_id: int | None
    purpose: str
    channel: str
    recipient: str
    key: str
    rendered: Rendered
    meeting_id: int | None = None
    application_id: int | None = None


def enqueue(session: Session, message: Message) -> int:
    """The row's id; a second call with the same key changes nothing and returns the same id."""
    existing = session.exec(
        select(Notification.id).where(Notification.idempotency_key == message.key)
    ).first()
    if existing is not None:
        return existing
    row = Notification(
        course_id=message.course_id,
        meeting_id=message.meeting_id,
        application_id=message.application_id,
        purpose=message.purpose,
        channel=message.channel,
        recipient=message.recipient,
        idempotency_key=message.key,
        subject=message.rendered.subject,
        body_text=message.rendered.text,
        body_html=message.rendered.html,
        ics=message.rendered.ics,
    )
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # enqueued concurrently under the same key
        found = session.exec(select(Notification.id).where(Notification.idempotency_key == message.key)).one()
        assert found is not None
        return found
    assert row.id is not None
    return row.id


class DeliveryUncertain(DeliveryFailed):
    """The row is claimed for sending but was never marked sent or failed: perhaps sent."""


_SENT = object()
_WAIT_FOR_OTHER_SENDER = 30.0
"""Seconds to wait for another sender's claim on the same row to end before giving up."""


def _claim_cutoff() -> datetime:
    return now() - timedelta(seconds=get_settings().send_claim_stale_seconds)


def is_uncertain(row: Notification) -> bool:
    """Claimed for sending so long ago that the sender must have stopped mid-send."""
    claimed = row.updated_at or row.created_at
    return row.status == NotificationStatus.SENDING and as_utc(claimed) < _claim_cutoff()


def _claim(notification_id: int, *, force: bool = False) -> dict[str, str | None] | object:
    """Make this caller the row's only sender: pending/failed -> sending, committed before the
    send (one UPDATE, so two senders can't both win). The message to send, or `_SENT`.

    A row another sender holds is waited on briefly. A row whose claim went stale (a crash
    mid-send) is never taken automatically: it may have reached the recipient (`DeliveryUncertain`);
    `force` takes it after a person has checked."""
    deadline = time.monotonic() + _WAIT_FOR_OTHER_SENDER
    while True:
        takeable = [NotificationStatus.PENDING, NotificationStatus.FAILED]
        with session_scope() as session:
            claim = update(Notification).where(col(Notification.id) == notification_id)
            if force:
                stale = and_(
                    col(Notification.status) == NotificationStatus.SENDING,
                    col(Notification.updated_at) < _claim_cutoff(),
                )
                claim = claim.where(or_(col(Notification.status).in_(takeable), stale))
            else:
                claim = claim.where(col(Notification.status).in_(takeable))
            claimed = session.execute(claim.values(status=NotificationStatus.SENDING, updated_at=now()))
            row = session.get(Notification, notification_id)
            if row is None:
                raise NotFound(f"Notifikation {notification_id} findes ikke.")
            if claimed.rowcount == 1:  # type: ignore[attr-defined]
                return dict(
                    channel=row.channel,
                    recipient=row.recipient,
                    subject=row.subject,
                    text=row.body_text,
                    html=row.body_html,
                    ics=row.ics,
                )
            if row.status == NotificationStatus.SENT:
                return _SENT
            if is_uncertain(row):
                raise DeliveryUncertain(_uncertain_message(row))
            if time.monotonic() > deadline:
                raise DeliveryUncertain(
                    f"Notifikation {row.id} til {row.recipient} sendes lige nu af en anden proces "
                    f"(siden {format_local(row.updated_at)}); den sendes ikke to gange."
                )
        time.sleep(0.5)  # another sender holds it right now: see how that ends


def _uncertain_message(row: Notification) -> str:
    return (
        f"Notifikation {row.id} til {row.recipient} blev måske sendt: afsendelsen blev afbrudt "
        f"({format_local(row.updated_at)}), før den blev registreret som sendt eller fejlet. Den sendes "
        "ikke automatisk igen. Tjek om modtageren har fået den; hvis ikke: "
        f"'forloeb notifications retry {row.id} --force' eller 'Send alligevel' i dashboardet."
    )


def deliver(
    notification_id: int, *, attempts: int | None = None, backoff: float | None = None, force: bool = False
) -> bool:
    """Send one row. True if it is sent (now or before); `DeliveryFailed` after the last attempt,
    `DeliveryUncertain` if an earlier send was interrupted (see `_claim`)."""
    from notifications.send import SendError, send_message  # Apprise: imported only to send

    settings = get_settings()
    attempts = attempts or settings.send_attempts
    backoff = settings.send_backoff_seconds if backoff is None else backoff
    error = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        message = _claim(notification_id, force=force and attempt == 0)
        if message is _SENT:
            return True
        assert isinstance(message, dict)
        try:
            send_message(**message)
        except Exception as exc:
            # (a process that dies mid-send leaves the claim instead: "måske sendt")
            error = str(exc) if isinstance(exc, SendError) else f"{type(exc).__name__}: {exc}"
            _record(notification_id, error=error, final=attempt == attempts - 1)
        else:
            _record(notification_id, error=None, final=True)
            return True
    raise DeliveryFailed(f"Notifikation {notification_id} kunne ikke sendes efter {attempts} forsøg: {error}")


def _record(notification_id: int, *, error: str | None, final: bool) -> None:
    """End this sender's claim: sent, or failed/pending again with the error."""
    with session_scope() as session:
        row = session.get(Notification, notification_id)
        assert row is not None
        row.attempts += 1
        row.updated_at = now()
        if error is None:
            row.status = NotificationStatus.SENT
            row.sent_at = now()
            row.last_error = None
        else:
            row.last_error = error
            row.status = NotificationStatus.FAILED if final else NotificationStatus.PENDING
        session.add(row)


def retry(notification_id: int, *, force: bool = False) -> bool:
    """Send a failed row again. A sent row is refused (it is never sent twice); a row whose send
    was interrupted (perhaps sent) only with `force`, after a person has checked."""
    with session_scope() as session:
        row = session.get(Notification, notification_id)
        if row is None:
            raise NotFound(f"Notifikation {notification_id} findes ikke.")
        if row.status == NotificationStatus.SENT:
            raise Conflict(
                f"Notifikation {notification_id} er allerede sendt til {row.recipient}; den sendes ikke igen."
            )
        if row.status == NotificationStatus.SENDING:
            if not is_uncertain(row):
                raise Conflict(f"Notifikation {notification_id} er ved at blive sendt lige nu.")
            if not force:
                raise Conflict(_uncertain_message(row))
        elif row.status != NotificationStatus.FAILED:
            raise Conflict(f"Notifikation {notification_id} er ikke fejlet (status {row.status.value}).")
    return deliver(notification_id, force=force)


def status_label(row: Notification) -> str:
    """Danish status for people ('Sendt'); an interrupted send is 'Måske sendt'."""
    return "Måske sendt" if is_uncertain(row) else label(row.status)


def needs_attention(row: Notification) -> bool:
    """Failed, or interrupted mid-send: a person should look at it."""
    return row.status == NotificationStatus.FAILED or is_uncertain(row)


def _needing_attention() -> ColumnElement[bool]:
    return or_(
        col(Notification.status) == NotificationStatus.FAILED,
        and_(
            col(Notification.status) == NotificationStatus.SENDING,
            col(Notification.updated_at) < _claim_cutoff(),
        ),
    )


def failed_ids(course_id: int | None = None) -> list[int]:
    """Failed rows only (`retry --all-failed`); interrupted ones need `--force` one by one."""
    with session_scope() as session:
        query = select(Notification.id).where(Notification.status == NotificationStatus.FAILED)
        if course_id is not None:
            query = query.where(Notification.course_id == course_id)
        return [i for i in session.exec(query.order_by(col(Notification.id))) if i is not None]


def list_rows(
    *,
    failed: bool = False,
    status: NotificationStatus | None = None,
    course_id: int | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[Notification]:
    """Newest first. `failed`: failed and interrupted rows (those needing a person)."""
    with session_scope() as session:
        return list(
            session.exec(
                _filtered(select(Notification), failed, status, course_id)
                .order_by(col(Notification.id).desc())
                .limit(limit)
                .offset(offset)
            )
        )


def count_rows(
    *, failed: bool = False, status: NotificationStatus | None = None, course_id: int | None = None
) -> int:
    with session_scope() as session:
        return session.exec(
            _filtered(select(func.count()).select_from(Notification), failed, status, course_id)
        ).one()


def _filtered(query: Any, failed: bool, status: NotificationStatus | None, course_id: int | None) -> Any:
    if failed:
        query = query.where(_needing_attention())
    if status is not None:
        query = query.where(Notification.status == status)
    if course_id is not None:
        query = query.where(Notification.course_id == course_id)
    return query


def get_row(notification_id: int) -> Notification:
    with session_scope() as session:
        row = session.get(Notification, notification_id)
        if row is None:
            raise NotFound(f"Notifikation {notification_id} findes ikke.")
        return row
