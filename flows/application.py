"""The application flow (issue 13): one flow run per application, from submitted through the
receipt, assessment and decision to the start slot and the started course.

It works like the course flow: read what is stored (`services.applications.next_step`, pure), act
(one Prefect task per action, each idempotent with a done-mark), repeat; when only waiting is left
it suspends with no process held (`suspend_flow_run(key='vent-...', timeout=None)`). A decision,
a withdrawal or "start now" is stored first and the run woken; the start date is a timer: the run
suspends with `application.wake_at` set, and the lead runner's repair loop resumes it on the day
(`services.recovery.wake_due_applications`), also when the day passed while no runner ran.
"""

from __future__ import annotations

from uuid import uuid4

from prefect import flow, get_run_logger, suspend_flow_run

from core.clock import now
from core.names import APPLICATION_FLOW
from services import applications
from tasks.applications import send_decision_letter, send_receipt, start_course

MAX_PASSES = 20


@flow(name=APPLICATION_FLOW, persist_result=True)
def application_flow(application_id: int) -> str:
    """Follow one application until its course has started (or it is rejected or withdrawn)."""
    for _ in range(MAX_PASSES):
        snap = applications.snapshot(application_id)
        if snap is None:
            return "findes ikke"
        step, wake = applications.next_step(snap, now())
        if step == "receipt":
            send_receipt(application_id)
        elif step == "letter":
            send_decision_letter(application_id, snap.decision_no)
        elif step == "start":
            course_id = start_course(application_id)
            get_run_logger().info("Ansøgning %s: forløb %s er startet", application_id, course_id)
            return "forløb startet"
        elif step == "wait":
            applications.set_wake(application_id, wake)
            # timeout=None: an application may wait months for its start slot.
            suspend_flow_run(key=f"vent-{uuid4().hex[:12]}", timeout=None)
            return "venter"  # pragma: no cover - suspending ends this execution
        else:
            applications.set_wake(application_id, None)
            return snap.status.value
    raise RuntimeError(f"Ansøgning {application_id} kommer ikke videre efter {MAX_PASSES} skridt.")
