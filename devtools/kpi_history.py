"""Made-up course history for the Nøgletal page's benchmark (bench/kpi.py) and its screenshot test:
courses of every programme laid out straight in the app database (no Prefect), each unfolding as a
real course does. Every stage takes its planned time times a random factor (most a little late,
some early, a few very late), the next stage of its track begins when it ends; a course whose last
stage ended before today is completed, one still running is active (one per municipality and
programme, as the database demands), a few were cancelled half-way. One task per begun stage, due
on the stage's planned end, done a little before the stage ended; a running stage's task is open
(overdue when its due date has passed). No people, no real case data."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import insert
from sqlmodel import select

from core.clock import today
from core.db import get_engine, session_scope
from models.programmes import latest_version, programme_keys
from models.tables import (
    Course,
    CourseStatus,
    HumanTask,
    Municipality,
    StageRun,
    StageStatus,
    TaskStatus,
    stage_figures,
    task_figures,
)
from services.flow_steps import plan_stages


def _at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), UTC)


def fill_history(
    n: int, *, seed: int = 7, consultants: list[str] | None = None, years: float = 3.0, first_id: int = 1
) -> int:
    """Insert `n` courses with their stages and tasks; returns how many are active."""
    rng = random.Random(seed)
    day = today()
    people = consultants or [f"Konsulent {c}" for c in "ABCDEFGH"]
    programmes = [latest_version(k) for k in programme_keys()]
    with session_scope() as session:
        codes = [m.code for m in session.exec(select(Municipality))]
        taken = {
            (code, prog)
            for code, prog in session.exec(
                select(Course.municipality_code, Course.programme).where(
                    Course.status.in_([CourseStatus.ACTIVE, CourseStatus.STARTING])  # type: ignore[attr-defined]
                )
            )
        }
    courses: list[dict[str, Any]] = []
    stages: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    active = 0
    for i in range(first_id, first_id + n):
        programme = rng.choice(programmes)
        code = rng.choice(codes)
        start = day - timedelta(days=rng.randint(5, int(365 * years)))
        plan = plan_stages(programme, start)
        # Actual dates: each stage its planned length times a factor, after the one before it in its
        # track (the first begins on the course's start); joins wait for the stages they follow.
        ends: dict[str, datetime] = {}
        timeline = []
        slow = rng.lognormvariate(0, 0.15)  # some municipalities are slower throughout
        for key, name, track, position, p_start, p_end in plan:
            before = [ends[k] for k in programme.predecessors(key) if k in ends]
            begun = max([_at(start, 8 + rng.randint(0, 6)), *before])
            planned_days = max((p_end - p_start).days + 1, 1)
            pace = rng.choices(("early", "near", "late"), weights=(35, 45, 20))[0]
            factor = (
                slow
                * {
                    "early": rng.uniform(0.6, 0.95),
                    "near": rng.lognormvariate(0.0, 0.12),
                    "late": rng.uniform(1.3, 2.2),
                }[pace]
            )
            ended = begun + timedelta(days=max(1, round(planned_days * factor)), hours=rng.randint(-3, 3))
            ends[key] = ended
            timeline.append((key, name, track, position, p_start, p_end, begun, ended))
        last_end = max(e for *_rest, e in timeline)
        cancelled = rng.random() < 0.04
        if last_end.date() < day:
            status = CourseStatus.COMPLETED
        elif (code, programme.key) not in taken and not cancelled:
            status = CourseStatus.ACTIVE
            taken.add((code, programme.key))
            active += 1
        else:
            status = CourseStatus.CANCELLED
        cut = _at(day, 6)  # now: what has happened by today
        if status == CourseStatus.CANCELLED:
            cut = _at(start, 8) + (last_end - _at(start, 8)) / 2
        current, since = None, None
        for key, name, track, position, p_start, p_end, begun, ended in timeline:
            done = ended <= cut
            running = begun <= cut < ended
            stages.append(
                {
                    "course_id": i,
                    "stage_key": key,
                    "track": track,
                    "position": position,
                    "name": name,
                    "status": StageStatus.DONE
                    if done
                    else (StageStatus.ACTIVE if running else StageStatus.PLANNED),
                    "planned_start": p_start,
                    "planned_end": p_end,
                    "actual_start": begun if (done or running) else None,
                    "actual_end": ended if done else None,
                }
            )
            if running and track == programme.main_track.key:
                current, since = key, begun
            if done or running:
                due = p_end
                completed = ended - timedelta(hours=rng.randint(1, 30)) if done else None
                tasks.append(
                    {
                        "course_id": i,
                        "stage_key": key,
                        "key": f"{key}-opgave",
                        "kind": "moede-afholdt",
                        "title": f"Opgave i {name}",
                        "assignee_role": rng.choice(("konsulent", "konsulent", "kommune")),
                        "due_date": due,
                        "status": TaskStatus.COMPLETED if done else TaskStatus.OPEN,
                        "answer": {} if done else None,
                        "completed_by": "historik" if done else None,
                        "completed_at": completed,
                        "applied": done,
                        "created_at": begun,
                    }
                )
        courses.append(
            {
                "id": i,
                "municipality_code": code,
                "programme": programme.key,
                "programme_version": programme.version,
                "consultant": rng.choice(people),
                "start_date": start,
                "status": status,
                "current_stage": current,
                "current_stage_since": since,
                "flow_run_id": None,
                "created_at": _at(start, 7),
                "completed_at": last_end if status == CourseStatus.COMPLETED else None,
            }
        )
    # Core inserts skip the ORM's write hooks: the stored figures are set here, by the same rule.
    for stage in stages:
        stage["days_taken"], stage["planned_days"], stage["finished_late"] = stage_figures(
            stage["status"],
            stage["planned_start"],
            stage["planned_end"],
            stage["actual_start"],
            stage["actual_end"],
        )
    for task in tasks:
        task["completed_late"] = task_figures(task["completed_at"], task["due_date"])
    with get_engine().begin() as conn:
        for table, rows in ((Course, courses), (StageRun, stages), (HumanTask, tasks)):
            for at in range(0, len(rows), 20_000):
                conn.execute(insert(table.__table__), rows[at : at + 20_000])  # type: ignore[attr-defined,union-attr]
    return active
