"""Prefect tasks of the application flow (issue 13): one per action, around
`services.applications`; each is idempotent and writes its done-mark last (no cache: the flow
skips done work by itself)."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from notifications import outbox
from services import applications
from tasks.course import OUTAGE_RETRIES

_task = task(persist_result=False, cache_policy=NO_CACHE, **OUTAGE_RETRIES)


def _deliver_quietly(ids: list[int]) -> int:
    """A failed letter is recorded and shown (Notifikationer, the application page); it never
    stops the application."""
    failed = 0
    for notification_id in ids:
        try:
            outbox.deliver(notification_id)
        except outbox.DeliveryFailed as exc:
            failed += 1
            get_run_logger().warning("%s", exc.message)
    return failed


@_task
def send_receipt(application_id: int) -> int:
    ids = applications.send_receipt(application_id)
    return len(ids) - _deliver_quietly(ids)


@_task
def send_decision_letter(application_id: int, decision_no: int) -> int:
    ids = applications.send_decision_letter(application_id, decision_no)
    return len(ids) - _deliver_quietly(ids)


@_task
def start_course(application_id: int) -> int:
    return applications.start_course_for(application_id)
