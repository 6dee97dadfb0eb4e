"""`make run`'s demo courses get a history spread over the months since their start
(devtools/demo_history.py): finished stages end near their planned end (some early, some late),
before today, in the order the flow wrote them; tasks and audit events move with them."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import col, select

from core.clock import COPENHAGEN, as_utc, now, today
from core.db import session_scope
from devtools.demo_history import PACE_DAYS, unfold
from models.tables import AuditEvent, Course, HumanTask, StageRun, StageStatus, TaskStatus
from tests.support.web import seed_course


def test_a_demo_course_unfolds_over_the_months_since_its_start() -> None:
    course_id = seed_course(751, stages_done=4, start=today() - timedelta(weeks=14))
    with session_scope() as session:
        runs = list(
            session.exec(
                select(StageRun).where(StageRun.course_id == course_id).order_by(col(StageRun.position))
            )
        )
        for run in (r for r in runs if r.status == StageStatus.DONE):
            assert run.actual_start is not None and run.actual_end is not None
            begun, ended = as_utc(run.actual_start), as_utc(run.actual_end)
            for k in range(2):  # two tasks per stage, done just before the stage ended (as the flow does)
                session.add(
                    HumanTask(
                        course_id=course_id,
                        stage_key=run.stage_key,
                        key=f"{run.stage_key}-{k}",
                        kind="moede-afholdt",
                        title="t",
                        assignee_role="konsulent",
                        due_date=today() + timedelta(days=10),
                        status=TaskStatus.COMPLETED,
                        completed_at=begun + (ended - begun) * (k + 1) / 3,
                        created_at=begun + (ended - begun) * k / 3,
                    )
                )
    unfold([course_id])
    with session_scope() as session:
        course = session.get(Course, course_id)
        assert course is not None
        runs = list(
            session.exec(
                select(StageRun).where(StageRun.course_id == course_id).order_by(col(StageRun.position))
            )
        )
        tasks = list(
            session.exec(
                select(HumanTask).where(HumanTask.course_id == course_id).order_by(col(HumanTask.id))
            )
        )
        events = list(session.exec(select(AuditEvent).where(AuditEvent.course_id == course_id)))
    done = [r for r in runs if r.status == StageStatus.DONE]
    assert len(done) == 4
    ends = []
    for run in done:
        assert run.actual_start is not None and run.actual_end is not None
        end_day = as_utc(run.actual_end).astimezone(COPENHAGEN).date()
        assert min(PACE_DAYS) <= (end_day - run.planned_end).days <= max(PACE_DAYS)
        ends.append(as_utc(run.actual_end))
    assert ends == sorted(ends) and ends[-1] < now()
    assert as_utc(done[0].actual_start).astimezone(COPENHAGEN).date() == course.start_date  # type: ignore[arg-type]
    active = next(r for r in runs if r.status == StageStatus.ACTIVE)
    assert active.actual_start is not None and ends[-1] <= as_utc(active.actual_start) < now()
    assert course.current_stage_since is not None and as_utc(course.current_stage_since) < now() - timedelta(
        hours=1
    )
    done_at = [as_utc(t.completed_at) for t in tasks]  # type: ignore[arg-type]
    assert done_at == sorted(done_at) and done_at[0] > as_utc(course.created_at)
    assert all(as_utc(t.created_at) <= as_utc(t.completed_at) for t in tasks)  # type: ignore[arg-type]
    assert (today() - as_utc(course.created_at).astimezone(COPENHAGEN).date()).days == 14 * 7
    assert min(as_utc(e.at) for e in events) < now() - timedelta(weeks=13)  # the course's first events
    assert len({(as_utc(r.actual_end).date()) for r in done}) == 4  # type: ignore[arg-type]
