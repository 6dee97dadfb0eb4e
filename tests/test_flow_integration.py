"""The course flow against a real Prefect server: all 11 stages, suspend/resume, replays."""

from __future__ import annotations

from datetime import date

import pytest
from sqlmodel import select

from forloeb import course_ops, service
from forloeb.db import session_scope
from models.tables import AuditEvent, Course, HumanTask, Meeting, StageRun
from tests.drive import answer_for, run_until_wait, state_of

pytestmark = pytest.mark.usefixtures("prefect_server")


def _open_task(course_id: int) -> HumanTask:
    tasks = service.list_tasks(course_id=course_id)
    assert len(tasks) == 1, [t.key for t, _ in tasks]
    return tasks[0][0]


def test_course_runs_through_all_stages() -> None:
    course = service.start_course("Aarhus", "minoritetsetniske", "Konsulent K", date(2026, 1, 5))
    assert course.flow_run_id
    run = run_until_wait(course.flow_run_id)
    assert run.state is not None and run.state.name == "Suspended"
    seen_keys = []
    for _ in range(40):
        name, pause_key = state_of(course.flow_run_id)
        if name == "Completed":
            break
        assert name == "Suspended"
        task = _open_task(course.id)
        assert task.key == pause_key
        seen_keys.append(task.key)
        service.complete_task(task.id, answer_for(task.kind), actor="test")
        run_until_wait(course.flow_run_id)
    assert state_of(course.flow_run_id)[0] == "Completed"
    # 2 workshops and 1 sparring meeting were chosen in the agreement.
    assert "workshop-planlaegning-2" in seen_keys and "workshop-planlaegning-3" not in seen_keys
    assert "ledersparring-afholdt-1" in seen_keys and "ledersparring-afholdt-2" not in seen_keys
    with session_scope() as session:
        stages = list(session.exec(select(StageRun).where(StageRun.course_id == course.id)))
        assert len(stages) == 11 and all(s.status == "afsluttet" for s in stages)
        assert all(s.actual_start and s.actual_end for s in stages)
        final = session.get(Course, course.id)
        assert final is not None and final.status == "afsluttet"
        revisit = session.exec(select(Meeting).where(Meeting.kind == "genbesoeg")).one()
        # Closing meeting 2 June 2026 + 6 months = 2 December 2026 (a Wednesday).
        assert revisit.planned_at.date() == date(2026, 12, 2)
        assert revisit.status == "afholdt"
        events = list(session.exec(select(AuditEvent).where(AuditEvent.course_id == course.id)))
        stage_begins = [e for e in events if e.action == "fase startet"]
        assert len(stage_begins) == 11
        tasks = list(session.exec(select(HumanTask).where(HumanTask.course_id == course.id)))
        assert len(tasks) == len(seen_keys) and all(t.applied for t in tasks)
