"""One-off reminder runs and the daily overdue-task run. Nobody waits for them: they are
scheduled flow runs that the runner picks up when they are due.

A failed send fails the run (visible in Prefect); retrying the run sends only what was not sent.
"""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger

from core.names import OVERDUE_FLOW, REMINDER_FLOW
from tasks.notifications import (
    deliver_notification,
    enqueue_evaluation_reminders,
    enqueue_meeting_reminder,
    enqueue_overdue_task_reminders,
)


def _deliver_all(ids: list[int]) -> int:
    # One failed recipient must not stop the others; the run fails afterwards if any failed.
    states = [deliver_notification(notification_id, return_state=True) for notification_id in ids]
    failed = [state for state in states if not state.is_completed()]
    if failed:
        raise RuntimeError(
            f"{len(failed)} af {len(ids)} beskeder kunne ikke sendes; se 'forloeb notifications --failed'"
        )
    return len(ids)


@flow(name=REMINDER_FLOW, persist_result=True)
def reminder_flow(meeting_id: int, kind: str, version: int, template: str = "moede_paamindelse") -> int:
    """Send one reminder for one version of a meeting; nothing if the meeting moved or was cancelled."""
    ids = enqueue_meeting_reminder(meeting_id, kind, version, template)
    if not ids:
        get_run_logger().info("Mødet %s er flyttet eller aflyst siden; ingen påmindelse sendt", meeting_id)
        return 0
    return _deliver_all(ids)


@flow(name=OVERDUE_FLOW, persist_result=True)
def overdue_flow(day: date | None = None) -> int:
    """Daily: reminders for overdue tasks (first after the due date, then weekly, at most 3), and
    to those who have not answered an open evaluation (5 and 10 working days after, at most 2)."""
    from core.clock import today

    day = day or today()
    return _deliver_all(enqueue_overdue_task_reminders(day) + enqueue_evaluation_reminders(day))
