"""The app database on real PostgreSQL (127.0.0.1:5432, trust auth) where the machine has it."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, select

from core import db
from core.errors import Conflict
from core.settings import get_settings
from models import schema
from models.tables import Course, CourseStatus
from services import courses, municipalities, read_model
from tests.conftest import KOMMUNER
from tests.support.drive import answer_for, open_tasks, run_until_wait, state_of

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
    schema.create_tables()
    municipalities.seed_municipalities(KOMMUNER)
    yield url
    db.get_engine().dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


def test_course_on_postgresql(prefect_server: str, postgres_db: str) -> None:
    assert db.get_engine().dialect.name == "postgresql"
    course = courses.start_course("Aalborg", "minoritetsetniske", "K", date(2026, 1, 5))
    assert course.id is not None and course.flow_run_id is not None
    run_until_wait(course.flow_run_id)
    for _ in range(3):
        [task] = open_tasks(course.id)
        courses.complete_task(task.id or 0, answer_for(task.kind), actor="test")
        run_until_wait(course.flow_run_id)
    assert state_of(course.flow_run_id) == ("Suspended", "dataindsamling")
    [summary] = read_model.overview(read_model.OverviewFilters(course_id=course.id)).rows
    assert summary.stage_key == "dataindsamling" and summary.open_tasks == 1
    with pytest.raises(Conflict):
        courses.start_course("aalborg", "minoritetsetniske", "K2")


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
    with Session(db.get_engine()) as session:
        rows = session.exec(select(Course).where(Course.municipality_code == 101)).all()
        statuses = sorted((c.consultant, c.status) for c in rows)
    assert statuses == [("A", CourseStatus.COMPLETED), ("B", CourseStatus.STARTING)]
    # ... and the partial unique index still refuses a second active one beside B.
    with pytest.raises(IntegrityError), Session(db.get_engine()) as session:
        session.add(
            Course(
                municipality_code=101,
                programme="minoritetsetniske",
                programme_version=1,
                consultant="C",
                start_date=date(2026, 2, 2),
            )
        )
        session.commit()
