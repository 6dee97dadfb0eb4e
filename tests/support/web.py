"""Helpers for the dashboard tests: users, logged-in clients, courses laid out without Prefect."""

from __future__ import annotations

import re
from datetime import date, timedelta

from fastapi.testclient import TestClient
from sqlmodel import select

from core.clock import today
from core.db import session_scope
from dashboard.app import create_app
from models.tables import Course, CourseStatus, HumanTask, TaskStatus, UserRole
from services import flow_steps
from services.accounts import create_user

PASSWORD = "korrekt-hest-batteri"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_user(username: str, display_name: str, role: UserRole = UserRole.CONSULTANT) -> None:
    create_user(username, display_name, role, PASSWORD, actor="test")


def client() -> TestClient:
    return TestClient(create_app(), base_url="http://testserver", follow_redirects=False)


def csrf_from(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no CSRF token on the page"
    return match.group(1)


def logged_in(
    username: str = "kk", display_name: str = "Konsulent K", role: UserRole = UserRole.CONSULTANT
) -> TestClient:
    make_user(username, display_name, role)
    c = client()
    token = csrf_from(c.get("/login").text)
    response = c.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303, response.text
    return c


def new_course(
    municipality_code: int,
    consultant: str,
    *,
    programme: str = "minoritetsetniske",
    version: int = 1,
    start: date | None = None,
) -> int:
    """An active course without stages begun (the flow's first step done)."""
    with session_scope() as session:
        course = Course(
            municipality_code=municipality_code,
            programme=programme,
            programme_version=version,
            consultant=consultant,
            start_date=start or today(),
            status=CourseStatus.STARTING,
        )
        session.add(course)
        session.flush()
        assert course.id is not None
        course_id = course.id
    flow_steps.activate_course(course_id, None)
    return course_id


def seed_course(
    municipality_code: int,
    consultant: str = "Konsulent K",
    *,
    stages_done: int = 2,
    overdue_tasks: int = 0,
    kommune_task: bool = False,
    start: date | None = None,
) -> int:
    """An active course in its (stages_done + 1)th stage, laid out as the flow would."""
    course_id = new_course(municipality_code, consultant, start=start or today() - timedelta(days=40))
    keys = ["behovsafklaring", "samarbejdsaftale", "arbejdsgruppe", "dataindsamling", "sagsanalyse"]
    for key in keys[:stages_done]:
        flow_steps.begin_stage(course_id, key)
        flow_steps.finish_stage(course_id, key)
    current = keys[stages_done]
    flow_steps.begin_stage(course_id, current)
    if kommune_task:
        _add_task(
            course_id,
            current,
            current,
            current,
            "Nedsæt arbejdsgruppen",
            "kommune",
            today() + timedelta(days=14),
        )
    for n in range(overdue_tasks):
        _add_task(
            course_id,
            current,
            f"ekstra-{n}",
            "moede-afholdt",
            f"Registrér møde {n}",
            "konsulent",
            today() - timedelta(days=3 + n),
        )
    return course_id


def _add_task(course_id: int, stage: str, key: str, kind: str, title: str, role: str, due: date) -> int:
    """An open task row as the flow makes it (the pages do not care which step asked)."""
    with session_scope() as session:
        task = HumanTask(
            course_id=course_id,
            stage_key=stage,
            key=key,
            kind=kind,
            title=title,
            assignee_role=role,
            due_date=due,
        )
        session.add(task)
        session.flush()
        assert task.id is not None
        return task.id


def open_tasks(course_id: int) -> list[HumanTask]:
    with session_scope() as session:
        return list(
            session.exec(
                select(HumanTask).where(HumanTask.course_id == course_id, HumanTask.status == TaskStatus.OPEN)
            )
        )


def seed_two_track_course(municipality_code: int, consultant: str = "Konsulent K") -> int:
    """An active course on the two-track programme (inddragelse v1) with one open task for the
    municipality (main track) and one for Børns Vilkår (the partner's competence track), both
    answered by link, as the flow lays them out."""
    course_id = new_course(
        municipality_code, consultant, programme="inddragelse", start=today() - timedelta(days=120)
    )
    due = today() + timedelta(days=14)
    _add_task(
        course_id,
        "udvikling",
        "udviklingsaktiviteter",
        "udviklingsaktiviteter",
        "Registrér udviklingsaktiviteter",
        "kommune",
        due,
    )
    _add_task(
        course_id,
        "kompetence-opstart",
        "kompetenceplan",
        "kompetenceplan",
        "Registrér plan for kompetenceforløbet",
        "boerns-vilkaar",
        due,
    )
    return course_id


def application_form(**overrides: str) -> dict[str, str]:
    """The public application form (/ansoeg/overgreb) filled in for Kolding: staff contacts only."""
    data = {
        "kommune": "621",  # Kolding
        "motivation": "Vi vil styrke opsporingen.",
        "udfordringer": "Beredskabet er ikke kendt.",
        "forventninger": "Et opdateret beredskab.",
        "forankring": "Direktionen følger forløbet.",
        "fokus": "Beredskab",
        "foretrukken_start": (today() + timedelta(days=40)).isoformat(),
        "kontakt_0_navn": "Fiktiv Leder",
        "kontakt_0_rolle": "Børnechef",
        "kontakt_0_email": "leder@kommune.example",
        "ingen_tidligere_bistand": "on",
        "underretninger": "120",
        "foranstaltninger": "30",
        "underskriver_navn": "Fiktiv Direktør",
        "underskriver_titel": "Direktør",
        "underskrevet_dato": today().isoformat(),
        "direktoerbeslutning": "on",
    }
    data.update(overrides)
    return data
