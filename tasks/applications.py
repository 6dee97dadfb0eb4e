"""Prefect tasks of the application flow (issue 13): one per action, around
`services.applications`; each is idempotent and writes its done-mark last (no cache: the flow
skips done work by itself)."""

from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE

from services import applications
from tasks.course import OUTAGE_RETRIES
from tasks.notifications import deliver_quietly

_task = task(persist_result=False, cache_policy=NO_CACHE, **OUTAGE_RETRIES)


@_task
def send_receipt(application_id: int) -> int:
    ids = applications.send_receipt(application_id)
    return len(ids) - deliver_quietly(ids)


@_task
def send_decision_letter(application_id: int, decision_no: int) -> int:
    ids = applications.send_decision_letter(application_id, decision_no)
    return len(ids) - deliver_quietly(ids)


@_task
def start_course(application_id: int) -> int:
    return applications.start_course_for(application_id)
