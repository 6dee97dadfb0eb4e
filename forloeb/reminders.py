"""Reminder runs for meetings: one-off scheduled Prefect flow runs, recorded in `ReminderRun`.

Each planned reminder of a meeting version becomes one run (idempotency key
`<course uid>-<meeting key>-<kind>-v<version>`). Moving or cancelling a meeting raises its version:
the old runs are set Cancelled here, and a run that fires anyway finds the version changed and
sends nothing.
"""

from __future__ import annotations

from sqlmodel import select

from forloeb.db import session_scope
from models.tables import ReminderRun, ReminderRunStatus

REMINDER_DEPLOYMENT = "paamindelse/paamindelse"


def schedule_meeting_reminders(meeting_id: int) -> list[str]:
    """Schedule the current version's reminders that are still ahead; returns the flow run ids."""
    from forloeb import orchestrator
    from notifications.compose import planned_reminders

    run_ids = []
    for planned in planned_reminders(meeting_id):
        with session_scope() as session:
            existing = session.exec(
                select(ReminderRun).where(
                    ReminderRun.meeting_id == meeting_id,
                    ReminderRun.kind == planned.kind,
                    ReminderRun.meeting_version == planned.meeting_version,
                )
            ).one_or_none()
            if existing is not None and existing.flow_run_id:
                run_ids.append(existing.flow_run_id)
                continue
        flow_run_id = orchestrator.schedule_run(
            REMINDER_DEPLOYMENT,
            parameters={
                "meeting_id": meeting_id,
                "kind": planned.kind,
                "version": planned.meeting_version,
                "template": planned.template,
            },
            scheduled_time=planned.at,
            idempotency_key=planned.idempotency_key,
        )
        with session_scope() as session:
            session.add(
                ReminderRun(
                    meeting_id=meeting_id,
                    kind=planned.kind,
                    meeting_version=planned.meeting_version,
                    scheduled_for=planned.at,
                    flow_run_id=flow_run_id,
                )
            )
        run_ids.append(flow_run_id)
    return run_ids


def cancel_stale_reminders(meeting_id: int, current_version: int | None) -> list[str]:
    """Cancel scheduled reminder runs of every version but `current_version` (None: all)."""
    from forloeb import orchestrator

    with session_scope() as session:
        stale = [
            run
            for run in session.exec(
                select(ReminderRun).where(
                    ReminderRun.meeting_id == meeting_id, ReminderRun.status == ReminderRunStatus.SCHEDULED
                )
            )
            if run.meeting_version != current_version
        ]
    ids = [run.flow_run_id for run in stale if run.flow_run_id]
    if ids:
        orchestrator.cancel_scheduled_runs(ids)
    with session_scope() as session:
        for run in stale:
            run.status = ReminderRunStatus.CANCELLED
            session.add(run)
    return ids


def reminder_runs(meeting_id: int) -> list[ReminderRun]:
    with session_scope() as session:
        return list(
            session.exec(
                select(ReminderRun)
                .where(ReminderRun.meeting_id == meeting_id)
                .order_by(ReminderRun.meeting_version, ReminderRun.scheduled_for)  # type: ignore[arg-type]
            )
        )
