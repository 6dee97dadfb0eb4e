"""Demo courses in different stages, driven through the real service (and so the real flow).

Answers are made up: contacts are fictitious, case references are opaque ("sag-01"), and there
is no personal data about children anywhere.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlmodel import col, select

from forloeb import service
from forloeb.clock import today
from forloeb.course_ops import audit, revisit_date
from forloeb.db import session_scope
from forloeb.errors import ForloebError
from forloeb.workdays import add_working_days, next_working_day
from models.tables import Course, CourseStatus, HumanTask, TaskStatus


def sample_answer(kind: str, base: date) -> dict[str, Any]:
    """A valid answer for each form, with dates around `base` (meetings on working days)."""

    def day(offset_working_days: int) -> str:
        return add_working_days(next_working_day(base), offset_working_days).isoformat()

    def at(offset_working_days: int) -> str:
        return (
            datetime.combine(date.fromisoformat(day(offset_working_days)), datetime.min.time())
            .replace(hour=10)
            .isoformat()
        )

    answers: dict[str, dict[str, Any]] = {
        "behovsafklaring": {"formoede_dato": day(0), "fokus": "Opsporing og håndtering af underretninger"},
        "samarbejdsaftale": {
            "fokus": "Styrket praksis i sager om minoritetsetniske børn og unge",
            "maal": ["Fælles sprog om bekymring", "Bedre samarbejde med skoler og dagtilbud"],
            "tidsplan": "Seks måneder med tre workshops",
            "kontaktpersoner": [
                {
                    "navn": "Demo Kontaktperson",
                    "rolle": "Faglig leder",
                    "email": "faglig.leder@kommune.example",
                }
            ],
            "underskrevet_dato": day(0),
            "antal_workshops": 2,
            "antal_sparringsmoeder": 1,
        },
        "arbejdsgruppe": {
            "medlemmer": [
                {"navn": "Demo Leder", "rolle": "faglig_leder"},
                {"navn": "Demo Rådgiver", "rolle": "myndighed"},
                {"navn": "Demo Skoleleder", "rolle": "almenomraade"},
            ]
        },
        "dataindsamling": {
            "spoergeskema_udsendt": True,
            "spoergeskema_modtaget": True,
            "strategipapirer_modtaget": True,
            "procedurer_modtaget": True,
        },
        "sagsanalyse": {
            "sagsreferencer": ["sag-01", "sag-02", "sag-03", "sag-04"],
            "minianalyse_gennemfoert": True,
        },
        "moedeplan": {"tidspunkt": at(10), "sted": "Rådhuset, mødelokale 2"},
        "moede-afholdt": {"afholdt_dato": day(0), "noter": "God dialog"},
        "afdaekningsworkshop": {"afholdt_dato": day(0), "fokusomraader": ["Underretninger", "Samarbejde"]},
        "proevehandlinger": {
            "proevehandlinger": [{"beskrivelse": "Fast sparring om bekymringer", "ansvarlig": "Faglig leder"}]
        },
        "opsamlingsmoede": {"afholdt_dato": day(0), "konklusioner": "Fortsæt med fast sparring"},
        "evaluering": {"udsendt_dato": day(0), "antal_besvarelser": 12},
        "genbesoeg": {"afholdt_dato": revisit_date(base, 6).isoformat(), "tilmeldt_netvaerk": True},
    }
    return dict(answers[kind])


@dataclass(frozen=True)
class DemoCourse:
    municipality: str
    consultant: str
    weeks_ago: int
    steps: int
    """How many tasks to complete: where in the course it should stand."""
    overdue: bool = False


DEMO_COURSES = [
    DemoCourse("Aarhus", "Mette Konsulent", 1, 0),
    DemoCourse("København", "Mette Konsulent", 6, 3, overdue=True),
    DemoCourse("Odense", "Jonas Konsulent", 10, 5),
    DemoCourse("Aalborg", "Jonas Konsulent", 16, 8),
    DemoCourse("Esbjerg", "Mette Konsulent", 28, 17),
]


def create_demo_courses(timeout_seconds: float = 600) -> list[str]:
    """Start the demo courses that do not exist yet and move each to its stage."""
    created: list[tuple[DemoCourse, int]] = []
    for spec in DEMO_COURSES:
        with session_scope() as session:
            kommune = service.find_municipality(session, spec.municipality)
            exists = session.exec(
                select(Course.id).where(
                    Course.municipality_code == kommune.code, Course.programme == "minoritetsetniske"
                )
            ).first()
        if exists is not None:
            continue
        start = today() - timedelta(weeks=spec.weeks_ago)
        course = service.start_course(
            spec.municipality, "minoritetsetniske", spec.consultant, start, actor="demo"
        )
        assert course.id is not None
        created.append((spec, course.id))
    failed = _advance(created, timeout_seconds)
    return [
        f"{spec.municipality}: forløb {course_id} FEJLEDE undervejs (se Prefect og .forloeb/logs/runner.log)"
        if course_id in failed
        else f"{spec.municipality}: forløb {course_id}, {spec.steps} opgaver udført"
        for spec, course_id in created
    ]


def _has_failed(course_id: int) -> bool:
    with session_scope() as session:
        course = session.get(Course, course_id)
        return course is not None and course.status == CourseStatus.FAILED


def _advance(courses: list[tuple[DemoCourse, int]], timeout_seconds: float) -> set[int]:
    """Complete tasks round-robin as the runner reaches them (each course waits on its flow).
    Returns the courses whose run failed on the way (the others still get their stages)."""
    done = {course_id: 0 for _, course_id in courses}
    failed: set[int] = set()
    deadline = time.monotonic() + timeout_seconds
    pending = [(spec, cid) for spec, cid in courses if spec.steps > 0 or spec.overdue]
    while pending and time.monotonic() < deadline:
        progressed = False
        for spec, course_id in list(pending):
            tasks = service.list_tasks(course_id=course_id)
            if not tasks:
                if _has_failed(course_id):
                    failed.add(course_id)
                    pending.remove((spec, course_id))
                continue  # the runner has not reached the next wait yet
            task = tasks[0][0]
            if done[course_id] >= spec.steps:
                if spec.overdue:
                    _make_overdue(task)
                pending.remove((spec, course_id))
                continue
            assert task.id is not None
            base = today() - timedelta(weeks=max(spec.weeks_ago - 2 * done[course_id], 0))
            try:
                service.complete_task(task.id, sample_answer(task.kind, base), actor="demo")
            except ForloebError:
                continue  # the flow has not suspended on it yet; try again next round
            done[course_id] += 1
            progressed = True
        if not progressed:
            time.sleep(0.5)
    if pending:
        raise TimeoutError("Demoforløbene nåede ikke frem i tide: kører runneren?")
    return failed


def _make_overdue(task: HumanTask) -> None:
    """Demo only: move a task's deadline into the past so the overdue view has something to show."""
    with session_scope() as session:
        row = session.get(HumanTask, task.id)
        if row is None or row.status != TaskStatus.OPEN:
            return
        row.due_date = add_working_days(today(), -3)
        session.add(row)
        audit(session, actor="demo", action="frist rykket (demo)", course_id=row.course_id, detail=row.title)


def demo_consultants() -> list[str]:
    return sorted({spec.consultant for spec in DEMO_COURSES})


def demo_course_ids() -> list[int]:
    with session_scope() as session:
        return [cid for cid in session.exec(select(Course.id).order_by(col(Course.id))) if cid is not None]
