"""Prefect tasks that send messages and schedule reminder runs.

Same cache policy as the course tasks (`ONCE_PER_RUN`): a replayed flow returns finished sends from the
cache, and the outbox keys make each message once even when a task runs again. Delivery retries
with backoff inside `outbox.deliver` (a failed mail is recorded, never a course failure); the
tasks retry on outages (`OUTAGE_RETRIES`: the Prefect API scheduling reminder runs, the database).
"""

from __future__ import annotations

from datetime import date

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from notifications import compose, outbox
from services.flow_steps import mark_done
from tasks.course import ONCE_PER_RUN, OUTAGE_RETRIES

_task = task(persist_result=True, cache_policy=ONCE_PER_RUN, **OUTAGE_RETRIES)
_course_task = task(persist_result=False, cache_policy=NO_CACHE, **OUTAGE_RETRIES)
"""The course flow's sends: the engine calls them once, and their done-mark is written last."""


def deliver_quietly(ids: list[int]) -> int:
    """Course and application flow sends: a failed row is recorded and shown (Notifikationer), but
    never stops the course or the application. Returns how many failed."""
    failed = 0
    for notification_id in ids:
        try:
            outbox.deliver(notification_id)
        except outbox.DeliveryFailed as exc:
            failed += 1
            get_run_logger().warning("%s", exc.message)
    return failed


@_course_task
def announce_meeting(course_id: int, meeting_key: str) -> int:
    """Invitation (with .ics) to a newly planned meeting, and its reminder runs."""
    from services.meetings import schedule_meeting_reminders

    meeting_id = compose.meeting_id_for(course_id, meeting_key)
    sent = 0
    if meeting_id is not None:
        ids = compose.enqueue_meeting_message(meeting_id, "moede_invitation")
        schedule_meeting_reminders(meeting_id)
        sent = len(ids) - deliver_quietly(ids)
    mark_done(course_id, f"invite:{meeting_key}")
    return sent


@_course_task
def announce_task(course_id: int, task_key: str) -> int:
    """A new task for a role that answers by link: its people get a link to answer it without an
    account."""
    ids = compose.enqueue_task_opened(course_id, task_key)
    sent = len(ids) - deliver_quietly(ids)
    mark_done(course_id, f"announce:{task_key}")
    return sent


@_course_task
def stage_messages(course_id: int, stage_key: str, when: str = "on_start") -> int:
    ids = compose.enqueue_stage_messages(course_id, stage_key, when)
    return len(ids) - deliver_quietly(ids)


@_task
def enqueue_meeting_reminder(meeting_id: int, kind: str, version: int, template: str) -> list[int]:
    return compose.enqueue_meeting_reminder(meeting_id, kind, version, template)


@_task
def enqueue_overdue_task_reminders(day: date) -> list[int]:
    return compose.enqueue_overdue_task_reminders(day)


@_task
def enqueue_evaluation_reminders(day: date) -> list[int]:
    return compose.enqueue_evaluation_reminders(day)


@_task
def deliver_notification(notification_id: int) -> bool:
    """Raises `DeliveryFailed` after the last attempt: the task, and so the run, is Failed."""
    return outbox.deliver(notification_id)
