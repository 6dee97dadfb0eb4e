"""The notifications outbox as people see and act on it (rows from `notifications.outbox`).

The CLI, the pages and the API list rows with `list_notifications` and retry with
`retry_notification`: it refuses sent rows, sends an interrupted ("måske sendt") row only when the
person forces it, and audits who asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.db import session_scope
from core.errors import InvalidInput
from models.tables import Notification, NotificationStatus
from notifications import outbox
from services.audit import audit

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
ATTENTION = "handling"
"""Status filter: failed and interrupted rows, the ones a person should look at."""
STATUS_FILTERS = {
    ATTENTION: "Kræver handling",
    "pending": "Venter",
    "sending": "Sendes",
    "sent": "Sendt",
    "failed": "Fejlet",
}


@dataclass(frozen=True)
class NotificationPage:
    rows: list[dict[str, Any]]
    total: int


def _row(row: Notification) -> dict[str, Any]:
    shown = {name: getattr(row, name) for name in SHOWN_COLUMNS}
    shown["status"] = row.status.value
    shown["status_label"] = outbox.status_label(row)
    shown["needs_attention"] = outbox.needs_attention(row)
    shown["uncertain"] = outbox.is_uncertain(row)
    return shown


def list_notifications(
    *, status: str | None = None, course_id: int | None = None, limit: int = 100, offset: int = 0
) -> NotificationPage:
    if status and status not in STATUS_FILTERS:
        raise InvalidInput(f"Ukendt status '{status}'. Vælg en af: {', '.join(STATUS_FILTERS)}.")
    attention = status == ATTENTION
    only = NotificationStatus(status) if status and not attention else None
    rows = outbox.list_rows(failed=attention, status=only, course_id=course_id, limit=limit, offset=offset)
    total = outbox.count_rows(failed=attention, status=only, course_id=course_id)
    return NotificationPage([_row(row) for row in rows], total)


def retry_notification(notification_id: int, *, actor: str, force: bool = False) -> bool:
    """Send a failed outbox row again; the attempt and its outcome are audited with the person.

    Refused (`Conflict`, nothing sent, nothing audited): a sent row, a row being sent right now,
    and - unless `force` - a row whose earlier send was interrupted and may have arrived."""
    row = outbox.get_row(notification_id)

    def record(outcome: str) -> None:
        with session_scope() as session:
            audit(
                session,
                actor=actor,
                action="notifikation sendt igen" + (" (tvunget)" if force else ""),
                course_id=row.course_id,
                detail=f"#{notification_id} {row.purpose} til {row.recipient}: {outcome}",
            )

    try:
        sent = outbox.retry(notification_id, force=force)
    except outbox.DeliveryFailed:
        record("fejlede igen")
        raise
    record("sendt")
    return sent
