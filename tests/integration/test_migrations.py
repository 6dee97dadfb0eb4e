"""Schema migrations (models/migrations), on SQLite and on PostgreSQL (127.0.0.1:5432, a throw-away
database per test, skipped where the machine has none):

(a) a database at the baseline, filled with every kind of row, upgraded to head: every row intact,
    status and role codes translated; and back down again;
(b) the models and the migrations agree (autogenerate finds nothing; same index definitions);
(c) a database stamped by a newer forloeb is refused with a clear message and left untouched.
"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, SQLModel, select
from typer.testing import CliRunner

from core import db
from core.errors import DatabaseTooNew
from core.settings import get_settings
from forloeb.cli import app
from models import schema
from models.migrations.versions.r0001_baseline import baseline
from models.tables import (
    Course,
    CourseStatus,
    HumanTask,
    Meeting,
    MeetingStatus,
    ReminderRun,
    ReminderRunStatus,
    StageRun,
    StageStatus,
    TaskStatus,
    User,
    UserRole,
)
from services import read_model

ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ROOT = Path(__file__).resolve().parents[2]
FUTURE = "9999_from_a_newer_forloeb"

# What 0002_english_codes must do to each stored code (written out here, not imported).
TRANSLATED = {
    "course": {
        "status": {
            "starter": "starting",
            "aktiv": "active",
            "afsluttet": "completed",
            "fejlet": "failed",
            "annulleret": "cancelled",
        }
    },
    "stagerun": {"status": {"planlagt": "planned", "igang": "active", "afsluttet": "done"}},
    "humantask": {"status": {"aaben": "open", "udfoert": "completed"}},
    "meeting": {"status": {"planlagt": "planned", "afholdt": "held", "aflyst": "cancelled"}},
    "reminderrun": {"status": {"planlagt": "scheduled", "annulleret": "cancelled"}},
    "user": {"role": {"CONSULTANT": "consultant", "ADMIN": "admin"}},
}

runner = CliRunner(env={"COLUMNS": "200"})


def forloeb(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


# --- databases ------------------------------------------------------------------------------


def _use(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORLOEB_DATABASE_URL", url)
    get_settings.cache_clear()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A new, empty PostgreSQL database, dropped afterwards."""
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("select 1"))
    except OperationalError:
        pytest.skip("no PostgreSQL server on 127.0.0.1:5432 on this machine")
    name = f"forloeb_migrations_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    yield url
    db._engine_for(url).dispose()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """An empty app database (SQLite file or PostgreSQL), made the current one."""
    url = (
        f"sqlite:///{tmp_path / 'migrations.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    _use(url, monkeypatch)
    return url


def _at_baseline(how: str) -> None:
    """The schema of the last release without migrations: stamped by running the baseline
    revision only, or made by that release's `create_all` (no alembic_version: to be adopted)."""
    with db.get_engine().connect() as connection:
        if how == "stamped":
            command.upgrade(schema.alembic_config(connection), schema.BASELINE)
        else:
            baseline.create_all(connection)
        connection.commit()


def _fill_at_baseline(connection: Connection) -> None:
    """One of every kind of row, with the codes the baseline stored. Made-up people and case refs."""
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    t = baseline.tables

    def insert(table: str, *rows: dict[str, Any]) -> None:
        for row in rows:
            connection.execute(t[table].insert().values(row))

    insert(
        "municipality",
        {"code": 101, "name": "København", "region": "Hovedstaden"},
        {"code": 751, "name": "Aarhus", "region": "Midtjylland"},
    )
    course = {"programme_version": 1, "start_date": date(2026, 1, 5), "created_at": at}
    insert(
        "course",
        {**course, "id": 1, "uid": "u1", "municipality_code": 101, "programme": "p", "consultant": "K A",
         "status": "starter"},
        {**course, "id": 2, "uid": "u2", "municipality_code": 751, "programme": "p", "consultant": "K B",
         "status": "aktiv", "current_stage": "arbejdsgruppe", "current_stage_since": at,
         "flow_run_id": "run-2"},
        {**course, "id": 3, "uid": "u3", "municipality_code": 101, "programme": "p", "consultant": "K A",
         "status": "afsluttet", "completed_at": at},
        {**course, "id": 4, "uid": "u4", "municipality_code": 751, "programme": "p", "consultant": "K B",
         "status": "fejlet"},
        {**course, "id": 5, "uid": "u5", "municipality_code": 101, "programme": "q", "consultant": "K A",
         "status": "annulleret"},
    )  # fmt: skip
    stage = {"course_id": 2, "planned_start": date(2026, 1, 5), "planned_end": date(2026, 2, 5)}
    insert(
        "stagerun",
        {**stage, "id": 1, "stage_key": "behov", "position": 1, "name": "Behov", "status": "afsluttet",
         "actual_start": at, "actual_end": at},
        {**stage, "id": 2, "stage_key": "arbejdsgruppe", "position": 2, "name": "Arbejdsgruppe",
         "status": "igang", "actual_start": at},
        {**stage, "id": 3, "stage_key": "data", "position": 3, "name": "Data", "status": "planlagt"},
    )  # fmt: skip
    task = {"course_id": 2, "stage_key": "behov", "due_date": date(2026, 1, 19), "created_at": at}
    answer = {"fokus": "Samarbejde på tværs", "deltagere": [{"navn": "A Leder", "rolle": "leder"}],
              "sag": "sag-01", "antal": 3, "dato": "2026-03-02", "ja": True}  # fmt: skip
    insert(
        "humantask",
        {**task, "id": 1, "key": "behovsafklaring", "kind": "behovsafklaring", "title": "Afklar behov",
         "assignee_role": "konsulent", "status": "udfoert", "answer": answer, "completed_by": "kk",
         "completed_at": at, "applied": True},
        {**task, "id": 2, "key": "arbejdsgruppe", "kind": "arbejdsgruppe", "title": "Nedsæt gruppe",
         "assignee_role": "kommune", "status": "aaben", "answer": None, "applied": False},
    )  # fmt: skip
    meeting = {"course_id": 2, "kind": "workshop", "planned_at": at, "location": "Rådhuset"}
    insert(
        "meeting",
        {**meeting, "id": 1, "key": "workshop-1", "title": "Workshop 1", "status": "planlagt", "version": 2},
        {**meeting, "id": 2, "key": "workshop-2", "title": "Workshop 2", "status": "afholdt", "version": 1,
         "held_on": date(2026, 3, 2)},
        {**meeting, "id": 3, "key": "workshop-3", "title": "Workshop 3", "status": "aflyst", "version": 1},
    )  # fmt: skip
    insert(
        "reminderrun",
        {"id": 1, "meeting_id": 1, "kind": "dag-foer", "meeting_version": 2, "scheduled_for": at,
         "flow_run_id": "rem-1", "status": "planlagt"},
        {"id": 2, "meeting_id": 1, "kind": "dag-foer", "meeting_version": 1, "scheduled_for": at,
         "status": "annulleret"},
    )  # fmt: skip
    insert("contact", {"id": 1, "course_id": 2, "name": "Fiktiv Leder", "role": "Leder",
                       "email": "leder@kommune.example"})  # fmt: skip
    note = {"channel": "mail", "recipient": "leder@kommune.example", "body_html": "<p>Hej</p>",
            "created_at": at, "attempts": 0}  # fmt: skip
    insert(
        "notification",
        {**note, "id": 1, "course_id": 2, "meeting_id": 1, "purpose": "moede_invitation",
         "idempotency_key": "k1", "subject": "Invitation", "body_text": "Hej", "status": "pending",
         "ics": "BEGIN:VCALENDAR"},
        {**note, "id": 2, "course_id": 2, "purpose": "opgave_ny", "idempotency_key": "k2",
         "subject": "Ny opgave", "body_text": "Hej", "status": "sent", "attempts": 1, "sent_at": at},
        {**note, "id": 3, "course_id": 2, "purpose": "opgave_rykker", "idempotency_key": "k3",
         "subject": "Rykker", "body_text": "Hej", "status": "failed", "attempts": 3,
         "last_error": "550 ukendt modtager", "updated_at": at},
        {**note, "id": 4, "purpose": "faseskift", "idempotency_key": "k4", "subject": "Ny fase",
         "body_text": "Hej", "status": "sending", "attempts": 1, "updated_at": at},
    )  # fmt: skip
    insert(
        "auditevent",
        {"id": 1, "course_id": 2, "at": at, "actor": "kk", "action": "forløb startet", "detail": "sag-01"},
        {"id": 2, "course_id": 2, "at": at, "actor": "flow", "action": "fase startet", "detail": "behov",
         "dedupe_key": "2:behov:start"},
        {"id": 3, "course_id": None, "at": at, "actor": "admin", "action": "bruger oprettet",
         "detail": "kk (konsulent)"},
    )  # fmt: skip
    user = {"password_hash": "$argon2id$made-up", "active": True}
    insert(
        "user",
        {**user, "id": 1, "username": "kk", "display_name": "K A", "role": "CONSULTANT"},
        {**user, "id": 2, "username": "chef", "display_name": "Chef C", "role": "ADMIN"},
        {**user, "id": 3, "username": "gl", "display_name": "K G", "role": "CONSULTANT", "active": False},
    )
    insert(
        "consultantpreference", {"consultant": "K A", "email": "ka@styrelsen.example", "stage_summary": True}
    )


def _rows(connection: Connection) -> dict[str, list[dict[str, Any]]]:
    """Every row of every app table, as the driver returns it (no model types in between)."""
    return {
        name: [dict(row) for row in connection.execute(text(f'SELECT * FROM "{name}" ORDER BY 1')).mappings()]
        for name in sorted(baseline.tables)
    }


ADDED: dict[str, dict[str, Any]] = {
    # 0004_tracks: what existing rows mean in the new columns.
    "stagerun": {"track": "hoved"},
    "contact": {"organisation": "kommune"},
    "meeting": {"link": None},
    # 0008_privacy: no existing course has been purged.
    "course": {"wake_at": None, "application_id": None, "focus": None, "purged_at": None},
    # 0005_applications: no existing row came from an application.
    "auditevent": {"application_id": None},
    "notification": {"application_id": None},
}


# 0010_stage_figures: figures computed from each row's own dates (the done stage began and ended on
# 2.3, planned 5.1-5.2: 0 days, 31 planned, late; the task done 2.3, due 19.1: late).
ADDED_PER_ROW: dict[str, dict[int, dict[str, Any]]] = {
    "stagerun": {
        1: {"days_taken": 0, "planned_days": 31, "finished_late": True},
        2: {"days_taken": None, "planned_days": 31, "finished_late": None},
        3: {"days_taken": None, "planned_days": 31, "finished_late": None},
    },
    "humantask": {1: {"completed_late": True}, 2: {"completed_late": None}},
}


def _translated(rows: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    out = {}
    for table, table_rows in rows.items():
        codes = TRANSLATED.get(table, {})
        out[table] = [
            {
                **{k: codes[k][v] if k in codes else v for k, v in row.items()},
                **ADDED.get(table, {}),
                **ADDED_PER_ROW.get(table, {}).get(row.get("id", 0), {}),
            }
            for row in table_rows
        ]
    return out


def _index_names(table: str) -> set[str]:
    with db.get_engine().connect() as connection:
        return {str(index["name"]) for index in inspect(connection).get_indexes(table)}


# --- (a) a filled baseline database upgraded to head ------------------------------------------


@pytest.mark.parametrize("how", ["stamped", "adopted"])
def test_filled_baseline_database_is_upgraded_with_every_row_intact(empty_db: str, how: str) -> None:
    _at_baseline(how)
    engine = db.get_engine()
    with engine.begin() as connection:
        _fill_at_baseline(connection)
        if how == "adopted":  # an older database: made before this index was added to the models
            connection.execute(text("DROP INDEX ix_course_stage_since"))
        before = _rows(connection)
    assert all(before.values()) and sum(len(rows) for rows in before.values()) == 29  # every table

    done = schema.upgrade_to_head()

    assert (done.before, done.after, done.adopted) == (
        (schema.BASELINE, schema.HEAD, False) if how == "stamped" else (None, schema.HEAD, True)
    )
    assert schema.current_revision() == schema.HEAD
    with engine.connect() as connection:
        after = _rows(connection)
    assert after == _translated(before)
    assert "ix_course_stage_since" in _index_names("course")

    # The models read every row back, as the enums the code compares with.
    with Session(engine) as session:
        statuses = {c.id: c.status for c in session.exec(select(Course))}
        assert statuses == {
            1: CourseStatus.STARTING,
            2: CourseStatus.ACTIVE,
            3: CourseStatus.COMPLETED,
            4: CourseStatus.FAILED,
            5: CourseStatus.CANCELLED,
        }
        assert [s.status for s in session.exec(select(StageRun).order_by(StageRun.id))] == [  # type: ignore[arg-type]
            StageStatus.DONE,
            StageStatus.ACTIVE,
            StageStatus.PLANNED,
        ]
        done_task, open_task = session.exec(select(HumanTask).order_by(HumanTask.id)).all()  # type: ignore[arg-type]
        assert (done_task.status, open_task.status) == (TaskStatus.COMPLETED, TaskStatus.OPEN)
        assert done_task.answer is not None and done_task.answer["deltagere"][0]["navn"] == "A Leder"
        assert (done_task.assignee_role, open_task.assignee_role) == ("konsulent", "kommune")  # not a status
        assert [m.status for m in session.exec(select(Meeting).order_by(Meeting.id))] == [  # type: ignore[arg-type]
            MeetingStatus.PLANNED,
            MeetingStatus.HELD,
            MeetingStatus.CANCELLED,
        ]
        assert {r.status for r in session.exec(select(ReminderRun))} == {
            ReminderRunStatus.SCHEDULED,
            ReminderRunStatus.CANCELLED,
        }
        roles = {u.username: u.role for u in session.exec(select(User))}
        assert roles == {"kk": UserRole.CONSULTANT, "chef": UserRole.ADMIN, "gl": UserRole.CONSULTANT}
    # The read model counts the open task through the recreated partial index's codes.
    [row] = read_model.overview(read_model.OverviewFilters(course_id=2)).rows
    assert (row.status, row.open_tasks, row.stage_key) == (CourseStatus.ACTIVE, 1, "arbejdsgruppe")
    # ... and the recreated unique index still allows one active course per municipality/programme.
    with pytest.raises(IntegrityError), Session(engine) as session:
        session.add(
            Course(municipality_code=751, programme="p", programme_version=1, consultant="K C",
                   start_date=date(2026, 4, 6))
        )  # fmt: skip
        session.commit()

    # And back: the downgrade restores exactly what the baseline held.
    with engine.connect() as connection:
        command.downgrade(schema.alembic_config(connection), schema.BASELINE)
        connection.commit()
    with engine.connect() as connection:
        assert _rows(connection) == before
    assert schema.current_revision() == schema.BASELINE


# --- (b) the models and the migrations agree ------------------------------------------------


def _index_definitions(connection: Connection) -> dict[str, str]:
    """Each index's definition as the database holds it (the WHERE of a partial index too, which
    autogenerate does not compare)."""
    if connection.dialect.name == "sqlite":
        query = "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
    else:
        query = "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'"
    return {
        name: " ".join(sql.split()) for name, sql in connection.execute(text(query)) if "alembic" not in name
    }


def test_migrations_and_models_agree(empty_db: str, tmp_path: Path) -> None:
    done = schema.upgrade_to_head()
    assert (done.before, done.after, done.adopted) == (None, schema.HEAD, False)
    with db.get_engine().connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, SQLModel.metadata) == []
        migrated = _index_definitions(connection)

    # The quick way tests make their databases (create_all + stamp) gives the same indexes.
    if empty_db.startswith("sqlite"):
        other = create_engine(f"sqlite:///{tmp_path / 'create_all.db'}")
        schema.create_tables(other)
        with other.connect() as connection:
            created = _index_definitions(connection)
        other.dispose()
    else:
        with db.get_engine().begin() as connection:
            connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        schema.create_tables()
        with db.get_engine().connect() as connection:
            created = _index_definitions(connection)
    assert migrated == created
    open_tasks, active_courses = migrated["ix_humantask_open_course_due"], migrated["uq_course_active"]
    assert "WHERE" in open_tasks and "'open'" in open_tasks
    assert "'starting'" in active_courses and "'active'" in active_courses
    assert schema.current_revision() == schema.HEAD


def test_head_constant_is_the_newest_revision() -> None:
    """`HEAD` lets every CLI command skip importing Alembic; it must name the newest migration."""
    scripts = ScriptDirectory.from_config(schema.alembic_config())
    assert scripts.get_heads() == [schema.HEAD]
    assert [s.revision for s in scripts.walk_revisions()][-1] == schema.BASELINE


def test_a_database_at_head_costs_one_query_and_no_alembic_import(app_db: Path) -> None:
    code = (
        "import sys; from forloeb.output import ready; ready(); "
        "print('alembic' in sys.modules, 'prefect' in sys.modules)"
    )
    env = {**os.environ, "FORLOEB_DATABASE_URL": f"sqlite:///{app_db / 'app.db'}"}
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]


# --- (c) a database newer than the code -----------------------------------------------------


def _stamp_future() -> None:
    with db.get_engine().begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": FUTURE})


def _counts() -> dict[str, int]:
    with db.get_engine().connect() as connection:
        return {
            name: int(connection.execute(text(f'SELECT count(*) FROM "{name}"')).scalar_one())
            for name in sorted(SQLModel.metadata.tables)
        }


def test_a_database_from_a_newer_forloeb_is_refused_and_left_untouched(empty_db: str) -> None:
    schema.create_tables()
    with db.get_engine().begin() as connection:
        _fill_at_head(connection)
    _stamp_future()
    counts = _counts()
    sqlite_file = Path(empty_db.removeprefix("sqlite:///")) if empty_db.startswith("sqlite") else None
    db.get_engine().dispose()
    file_before = sqlite_file.read_bytes() if sqlite_file else b""

    with pytest.raises(DatabaseTooNew) as refused:
        schema.upgrade_to_head()
    assert refused.value.message.startswith(f"Databasen er på skemaversion {FUTURE}")
    assert "nyere forloeb" in refused.value.message and "databasen er ikke ændret" in refused.value.message
    for args in (["status"], ["db", "upgrade"], ["db", "current"], ["kommuner"]):
        code, out = forloeb(*args)
        assert code == 7 and f"Fejl: Databasen er på skemaversion {FUTURE}" in out, (args, out)

    assert schema.current_revision() == FUTURE
    assert _counts() == counts
    db.get_engine().dispose()
    if sqlite_file:
        assert sqlite_file.read_bytes() == file_before


def _fill_at_head(connection: Connection) -> None:
    connection.execute(
        text("INSERT INTO municipality (code, name, region) VALUES (101, 'København', 'Hovedstaden')")
    )
    connection.execute(
        text(
            "INSERT INTO course (uid, municipality_code, programme, programme_version, consultant, "
            "start_date, status, created_at) VALUES ('u1', 101, 'p', 1, 'K A', '2026-01-05', 'active', "
            "'2026-01-05 09:00:00+00:00')"
        )
    )


# --- the CLI --------------------------------------------------------------------------------


def test_cli_db_current_and_upgrade(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # The test's own database was made at head.
    code, out = forloeb("db", "current")
    assert code == 0 and f"Skemaversion: {schema.HEAD} (den nyeste)" in out
    code, out = forloeb("db", "upgrade")
    assert code == 0 and f"allerede på den nyeste skemaversion ({schema.HEAD})" in out

    # A database at the baseline: behind, then upgraded.
    _use(f"sqlite:///{tmp_path / 'old.db'}", monkeypatch)
    _at_baseline("stamped")
    code, out = forloeb("db", "current")
    assert code == 0 and f"Skemaversion: {schema.BASELINE}; den nyeste er {schema.HEAD}" in out
    code, out = forloeb("db", "upgrade")
    assert code == 0 and f"Databasen er opdateret fra {schema.BASELINE} til {schema.HEAD}" in out
    assert forloeb("db", "current")[1].count("(den nyeste)") == 1

    # One made by create_all before migrations: adopted, and any command does it by itself.
    _use(f"sqlite:///{tmp_path / 'unversioned.db'}", monkeypatch)
    _at_baseline("adopted")
    code, out = forloeb("db", "current")
    assert code == 0 and "Skemaversion: ingen" in out and "forloeb db upgrade" in out
    code, out = forloeb("kommuner")
    assert code == 0 and "Kommuner (98)" in out
    assert f"Databasen er opdateret til skemaversion {schema.HEAD}" in out
    assert schema.current_revision() == schema.HEAD

    # A new, empty database.
    _use(f"sqlite:///{tmp_path / 'new.db'}", monkeypatch)
    code, out = forloeb("db", "upgrade")
    assert code == 0 and f"Databasen er oprettet på skemaversion {schema.HEAD}" in out
    assert "Database: sqlite:///" in out
