"""The outbox: every message is a row first, then delivered; a `sent` row is never sent again.

    enqueue()  insert a rendered message under its idempotency key (or return the existing row)
    deliver()  send a pending/failed row with attempts and exponential backoff
    retry()    send a failed row again (refuses rows that are sent)

The row is committed before the send and after each attempt, so a crash never loses a message.
The one gap no outbox closes: a crash between the SMTP server accepting a mail and the commit
that marks the row sent means that row is sent once more on the rerun.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from forloeb.clock import now
from forloeb.db import session_scope
from forloeb.errors import Conflict, ForloebError, NotFound
from forloeb.settings import get_settings
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


def deliver(notification_id: int, *, attempts: int | None = None, backoff: float | None = None) -> bool:
    """Send one row. True if it is sent (now or before); `DeliveryFailed` after the last attempt."""
    from notifications.send import SendError, send_message  # Apprise: imported only to send

    settings = get_settings()
    attempts = attempts or settings.send_attempts
    backoff = settings.send_backoff_seconds if backoff is None else backoff
    with session_scope() as session:
        row = session.get(Notification, notification_id)
        if row is None:
            raise NotFound(f"Notifikation {notification_id} findes ikke.")
        if row.status == NotificationStatus.SENT:
            return True
        message = dict(
            channel=row.channel,
            recipient=row.recipient,
            subject=row.subject,
            text=row.body_text,
            html=row.body_html,
            ics=row.ics,
        )
    error = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            send_message(**message)  # type: ignore[arg-type]
        except SendError as exc:
            error = str(exc)
            _record(notification_id, error=error, final=attempt == attempts - 1)
        else:
            _record(notification_id, error=None, final=True)
            return True
    raise DeliveryFailed(f"Notifikation {notification_id} kunne ikke sendes efter {attempts} forsøg: {error}")


def _record(notification_id: int, *, error: str | None, final: bool) -> None:
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


def retry(notification_id: int) -> bool:
    """Send a failed row again. A sent row is refused (it is never sent twice)."""
    with session_scope() as session:
        row = session.get(Notification, notification_id)
        if row is None:
            raise NotFound(f"Notifikation {notification_id} findes ikke.")
        if row.status == NotificationStatus.SENT:
            raise Conflict(
                f"Notifikation {notification_id} er allerede sendt til {row.recipient}; den sendes ikke igen."
            )
        if row.status != NotificationStatus.FAILED:
            raise Conflict(f"Notifikation {notification_id} er ikke fejlet (status {row.status.value}).")
    return deliver(notification_id)


def failed_ids(course_id: int | None = None) -> list[int]:
    with session_scope() as session:
        query = select(Notification.id).where(Notification.status == NotificationStatus.FAILED)
        if course_id is not None:
            query = query.where(Notification.course_id == course_id)
        return [i for i in session.exec(query.order_by(col(Notification.id))) if i is not None]


def list_rows(*, failed: bool = False, course_id: int | None = None, limit: int = 200) -> list[Notification]:
    with session_scope() as session:
        query = select(Notification)
        if failed:
            query = query.where(Notification.status == NotificationStatus.FAILED)
        if course_id is not None:
            query = query.where(Notification.course_id == course_id)
        return list(session.exec(query.order_by(col(Notification.id).desc()).limit(limit)))


def get_row(notification_id: int) -> Notification:
    with session_scope() as session:
        row = session.get(Notification, notification_id)
        if row is None:
            raise NotFound(f"Notifikation {notification_id} findes ikke.")
        return row
