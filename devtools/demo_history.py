"""Demo only: spread a demo course's history over the months since its start, as a real course
unfolds. `make run` drives the demo courses through the real flow in a minute, so every stage,
task and audit event happened "today"; the timeline, "dage i fasen" and Nøgletal then mean
nothing. Called at the end of `devtools.demo.create_demo_courses` for the courses it made.

Each stage that finished ends near its planned end date, some days early or late (a made-up,
repeatable pace per municipality and stage); the tasks that finished a stage are placed there, the
others in between, and every stored moment of the course (stage begins and ends, tasks made and
done, audit events, the current stage's start) moves with the task completion it followed, so the
order of events stays as the flow wrote it. Completed tasks keep their time to deadline (the due
date moves with the task). Open tasks keep their due dates. Nothing about real people."""

from __future__ import annotations

import bisect
import random
from datetime import UTC, date, datetime, time, timedelta

from sqlmodel import select

from core.clock import COPENHAGEN, as_utc, now
from core.db import session_scope
from models.tables import AuditEvent, Course, HumanTask, Municipality, StageRun, StageStatus, TaskStatus

PACE_DAYS = (-5, -3, -2, -1, 0, 0, 1, 2, 4, 6, 9, 14)
"""How many days before (-) or after its planned end a demo stage ends."""


def _local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), COPENHAGEN).astimezone(UTC)


def unfold(course_ids: list[int]) -> None:
    for course_id in course_ids:
        _unfold_one(course_id)


def _unfold_one(course_id: int) -> None:
    with session_scope() as session:
        course = session.get(Course, course_id)
        if course is None:
            return
        kommune = session.get(Municipality, course.municipality_code)
        runs = list(session.exec(select(StageRun).where(StageRun.course_id == course_id)))
        tasks = list(session.exec(select(HumanTask).where(HumanTask.course_id == course_id)))
        events = list(session.exec(select(AuditEvent).where(AuditEvent.course_id == course_id)))
        rng_name = kommune.name if kommune else str(course_id)
        moment = now()
        done = sorted(
            (t for t in tasks if t.status == TaskStatus.COMPLETED and t.completed_at is not None),
            key=lambda t: as_utc(t.completed_at),  # type: ignore[arg-type]
        )
        # Targets: a task that finished its stage lands near the stage's planned end.
        finished = {r.stage_key: r for r in runs if r.status == StageStatus.DONE}
        last_of_stage = {t.stage_key: t.id for t in done}  # the latest wins
        start = _local(course.start_date, 9)
        targets: list[datetime | None] = []
        for t in done:
            run = finished.get(t.stage_key)
            if run is not None and last_of_stage[t.stage_key] == t.id:
                pace = random.Random(f"{rng_name}:{t.stage_key}").choice(PACE_DAYS)
                hour = random.Random(f"{rng_name}:{t.key}").randint(9, 15)
                targets.append(_local(run.planned_end + timedelta(days=pace), hour, 17))
            else:
                targets.append(None)
        # The others in between; those after the last finished stage (the running stage's) up to
        # a few days ago. Then in order, after the start and before now.
        end_of_known = moment - timedelta(days=2)
        filled: list[datetime] = []
        i = 0
        while i < len(targets):
            known = targets[i]
            if known is not None:
                filled.append(known)
                i += 1
                continue
            j = i  # targets[i:j] are unknown: evenly between the known moments around them
            while j < len(targets) and targets[j] is None:
                j += 1
            before = filled[-1] if filled else start
            after = targets[j] if j < len(targets) else None
            step = (max(after or end_of_known, before) - before) / (j - i + 1)
            filled += [before + step * (k + 1) for k in range(j - i)]
            i = j
        latest = moment - timedelta(hours=6)
        for i, target in enumerate(filled):
            floor = (filled[i - 1] if i else start) + timedelta(minutes=20)
            filled[i] = max(target, floor)
        if filled and filled[-1] > latest:  # ahead of the plan: squeeze into start..now
            span = (filled[-1] - start).total_seconds()
            room = (latest - start).total_seconds()
            filled = [start + (t - start) * (room / span) for t in filled]
        anchors_old = [as_utc(course.created_at)] + [as_utc(t.completed_at) for t in done]  # type: ignore[arg-type]
        anchors_new = [start, *filled]

        def move(value: datetime | None) -> datetime | None:
            if value is None:
                return None
            old = as_utc(value)
            i = max(bisect.bisect_right(anchors_old, old) - 1, 0)
            moved = anchors_new[i] + (old - anchors_old[i])
            ceiling = anchors_new[i + 1] - timedelta(seconds=1) if i + 1 < len(anchors_new) else moment
            return min(moved, ceiling)

        for run in runs:
            run.actual_start, run.actual_end = move(run.actual_start), move(run.actual_end)
            session.add(run)
        for t in tasks:
            created = move(t.created_at)
            assert created is not None
            if t.status == TaskStatus.COMPLETED:
                shift = (
                    as_utc(t.created_at).astimezone(COPENHAGEN).date() - created.astimezone(COPENHAGEN).date()
                )
                t.due_date -= shift
            t.created_at, t.completed_at = created, move(t.completed_at)
            session.add(t)
        for event in events:
            event.at = move(event.at) or event.at
            session.add(event)
        course.created_at = start
        course.current_stage_since = move(course.current_stage_since)
        if course.completed_at is not None:
            course.completed_at = move(course.completed_at)
        session.add(course)
