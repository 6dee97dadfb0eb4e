"""The app database on real PostgreSQL (127.0.0.1:5432, trust auth) where the machine has it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session

from forloeb import db, service
from forloeb.errors import Conflict
from forloeb.settings import get_settings
from models.tables import Course, CourseStatus
from tests.conftest import KOMMUNER
from tests.drive import answer_for, run_until_wait, state_of

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def postgres_db(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("select 1"))
    except OperationalError:
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432 on this machine")
    name = f"forloeb_test_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    monkeypatch.setenv("FORLOEB_DATABASE_URL", url)
    get_settings.cache_clear()
    db.create_tables()
    service.seed_municipalities(KOMMUNER)
    yield url
    db.get_engine().dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_course_on_postgresql(prefect_server: str, postgres_db: str) -> None:
    assert db.get_engine().dialect.name == "postgresql"
    course = service.start_course("Aalborg", "minoritetsetniske", "K", date(2026, 1, 5))
    assert course.id is not None and course.flow_run_id is not None
    run_until_wait(course.flow_run_id)
    for _ in range(3):
        [(task, _)] = service.list_tasks(course_id=course.id)
        service.complete_task(task.id or 0, answer_for(task.kind), actor="test")
        run_until_wait(course.flow_run_id)
    assert state_of(course.flow_run_id) == ("Suspended", "dataindsamling")
    [summary] = service.course_summaries(course.id)
    assert summary.stage_key == "dataindsamling" and summary.open_tasks == 1
    with pytest.raises(Conflict):
        service.start_course("aalborg", "minoritetsetniske", "K2")


def _insert_two_active_courses() -> None:
    with Session(db.get_engine()) as session:
        for consultant in ("A", "B"):
            session.add(
                Course(
                    municipality_code=101,
                    programme="minoritetsetniske",
                    programme_version=1,
                    consultant=consultant,
                    start_date=date(2026, 1, 5),
                )
            )
            session.commit()


def test_postgresql_refuses_a_second_active_course_too(postgres_db: str) -> None:
    """Even if two starts race past the service's check, the partial unique index holds."""
    with pytest.raises(IntegrityError):
        _insert_two_active_courses()


def test_sqlite_refuses_a_second_active_course_too() -> None:
    assert db.get_engine().dialect.name == "sqlite"
    with pytest.raises(IntegrityError):
        _insert_two_active_courses()


def test_a_finished_course_does_not_block_a_new_one() -> None:
    with Session(db.get_engine()) as session:
        session.add(
            Course(
                municipality_code=101,
                programme="minoritetsetniske",
                programme_version=1,
                consultant="A",
                start_date=date(2025, 1, 6),
                status=CourseStatus.COMPLETED,
            )
        )
        session.add(
            Course(
                municipality_code=101,
                programme="minoritetsetniske",
                programme_version=1,
                consultant="B",
                start_date=date(2026, 1, 5),
            )
        )
        session.commit()
