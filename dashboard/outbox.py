"""The notifications outbox as the dashboard and the API show it (rows from `notifications.outbox`).

Pages and API retry through `forloeb.service.retry_notification`, the same code as the CLI: it refuses
sent rows, sends an interrupted ("måske sendt") row only when the person forces it, and audits who asked.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from forloeb.errors import InvalidInput
from models.tables import Notification, NotificationStatus
from notifications import outbox

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
