"""The notifications outbox as the dashboard sees it.

The outbox table is being built in parallel (see ARCHITECTURE.md, "Notifications"). Until a table
named `notification`/`outbox`/`notificationoutbox` is registered in `models.tables`, `available()`
is False and the pages say so. Once it exists the rows are read generically (columns the
architecture names: status, attempts, last_error, purpose, recipient, course_id, ...). A retry goes
to `forloeb.service.retry_notification(id, actor=...)` when that exists, else to
`notifications.outbox.retry(id)`; the dashboard records the audit event with the user.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, func, select
from sqlmodel import SQLModel

from forloeb.course_ops import audit
from forloeb.db import session_scope
from forloeb.errors import Conflict, ForloebError, InvalidInput, NotFound

TABLE_NAMES = ("notification", "outbox", "notificationoutbox", "outboxmessage")
SHOWN_COLUMNS = (
    "id",
    "course_id",
    "purpose",
    "channel",
    "recipient",
    "subject",
    "status",
    "attempts",
    "last_error",
    "created_at",
    "sent_at",
)
FAILED = ("failed", "fejlet")


@dataclass(frozen=True)
class NotificationPage:
    available: bool
    rows: list[dict[str, Any]]
    total: int


def _table() -> Table | None:
    import models.tables  # noqa: F401  (registers tables)

    for name in TABLE_NAMES:
        table = SQLModel.metadata.tables.get(name)
        if table is not None:
            return table
    return None


def available() -> bool:
    return _table() is not None


def list_notifications(
    *, status: str | None = None, course_id: int | None = None, limit: int = 100, offset: int = 0
) -> NotificationPage:
    table = _table()
    if table is None:
        return NotificationPage(False, [], 0)
    conds = []
    if status and "status" in table.c:
        allowed = getattr(table.c.status.type, "enums", None)
        if allowed and status not in allowed:
            raise InvalidInput(f"Ukendt status '{status}'. Vælg en af: {', '.join(allowed)}.")
        conds.append(table.c.status == status)
    if course_id is not None and "course_id" in table.c:
        conds.append(table.c.course_id == course_id)
    order = table.c.id.desc() if "id" in table.c else None
    with session_scope() as session:
        total = session.execute(select(func.count()).select_from(table).where(*conds)).scalar_one()
        query = select(table).where(*conds).limit(limit).offset(offset)
        if order is not None:
            query = query.order_by(order)
        rows = [
            {k: v for k, v in row._mapping.items() if k in SHOWN_COLUMNS} for row in session.execute(query)
        ]
    return NotificationPage(True, rows, int(total))


def is_failed(row: dict[str, Any]) -> bool:
    return str(row.get("status", "")).lower() in FAILED


def retry_notification(notification_id: int, *, actor: str) -> None:
    """Send a failed notification again (the outbox refuses sent ones) and audit who asked."""
    from forloeb import service

    table = _table()
    if table is None:
        raise NotFound(f"Notifikation {notification_id} findes ikke (udbakken er ikke bygget endnu).")
    with session_scope() as session:
        row = session.execute(select(table).where(table.c.id == notification_id)).first()
    if row is None:
        raise NotFound(f"Notifikation {notification_id} findes ikke.")
    course_id = row._mapping.get("course_id")
    by_service = getattr(service, "retry_notification", None)
    if callable(by_service):
        by_service(notification_id, actor=actor)
        return
    from notifications import outbox as real_outbox

    try:
        sent = real_outbox.retry(notification_id)
    except (Conflict, NotFound):
        raise  # refused before anything was sent: nothing to audit
    except ForloebError:
        sent = False
        raise
    finally:
        if "sent" in locals():
            with session_scope() as session:
                audit(
                    session,
                    actor=actor,
                    action="notifikation sendt igen",
                    course_id=course_id,
                    detail=f"notifikation {notification_id}: {'sendt' if sent else 'fejlede igen'}",
                )
