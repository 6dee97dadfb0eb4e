"""Shared fixtures. One Prefect test harness per session (it takes ~15 s to start).

With `FORLOEB_TEST_POSTGRES=postgresql://postgres@127.0.0.1:5432` (what `make test` sets for its
second run of the integration tier) both databases are on that PostgreSQL server, through the one
production setting `FORLOEB_POSTGRES_URL`: the session's Prefect server gets a throw-away Prefect
database, and every test its own throw-away app database (a copy of a template made once per
session, with the schema and the 98 municipalities). All of them are dropped at the end.
"""

from __future__ import annotations

import inspect
import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

# Before prefect is imported anywhere: no telemetry from tests, quiet logs.
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

# Real SMTP server and webhook receiver fixtures (`smtp`, `webhook`) for the notification tests.
pytest_plugins = ["tests.support.mail"]

ROOT = Path(__file__).resolve().parent.parent
KOMMUNER = ROOT / "data" / "kommuner.csv"

POSTGRES = os.environ.get("FORLOEB_TEST_POSTGRES", "")
"""A PostgreSQL server URL: run on it (both databases) instead of SQLite."""
PG_PREFIX = f"forloeb_t{uuid.uuid4().hex[:8]}"
"""This session's throw-away databases on POSTGRES: <prefix>_prefect, <prefix>_template, <prefix>_<n>."""


def _pg_admin() -> Engine:
    from sqlalchemy import create_engine
    from sqlalchemy.engine import make_url

    url = make_url(POSTGRES).set(drivername="postgresql+psycopg", database="postgres")
    return create_engine(url, isolation_level="AUTOCOMMIT")


def _pg_execute(*statements: str) -> None:
    from sqlalchemy import text

    admin = _pg_admin()
    try:
        with admin.connect() as connection:
            for statement in statements:
                connection.execute(text(statement))
    finally:
        admin.dispose()


@pytest.fixture(scope="session")
def pg_session() -> Iterator[str]:
    """This session's PostgreSQL databases: the app database template (schema + municipalities),
    and the Prefect database, created by `core.postgres` from the production setting."""
    from sqlalchemy import text

    from core import db
    from core.postgres import ensure_databases
    from core.settings import Settings
    from models import schema
    from services import municipalities

    try:
        _pg_execute("SELECT 1")
    except Exception as exc:
        pytest.skip(f"FORLOEB_TEST_POSTGRES is set, but PostgreSQL does not answer: {exc}")
    template = f"{PG_PREFIX}_template"
    settings = Settings(
        postgres_url=POSTGRES,
        postgres_app_database=template,
        postgres_prefect_database=f"{PG_PREFIX}_prefect",
        database_url=None,
    )
    created = ensure_databases(settings, environ={})
    assert sorted(created) == sorted([template, f"{PG_PREFIX}_prefect"])
    engine = db._engine_for(settings.resolved_database_url)
    schema.create_tables(engine)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FORLOEB_DATABASE_URL", settings.resolved_database_url)
        from core.settings import get_settings

        get_settings.cache_clear()
        municipalities.seed_municipalities(KOMMUNER)
        get_settings.cache_clear()
    engine.dispose()
    db._engine_for.cache_clear()
    yield POSTGRES
    admin = _pg_admin()
    with admin.connect() as connection:
        names = connection.execute(
            text("SELECT datname FROM pg_database WHERE datname LIKE :p"), {"p": f"{PG_PREFIX}%"}
        ).scalars()
        for name in list(names):
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


_pg_count = iter(range(1, 1_000_000))

SQLITE_ONLY = {
    "tests/integration/test_postgres.py::test_sqlite_refuses_a_second_active_course_too",
    "tests/integration/test_migrations.py::test_a_database_at_head_costs_one_query_and_no_alembic_import",
}
"""Tests about the SQLite app database file itself: they run in the SQLite pass, not on PostgreSQL."""
OWN_DATABASES = {
    "tests/integration/test_migrations.py",  # on SQLite and PostgreSQL by itself
    "tests/integration/test_postgres.py",  # on PostgreSQL by itself
    "tests/integration/test_launcher.py",  # `make run`'s embedded defaults, SQLite
    "tests/integration/test_multiprocess.py",  # the production shape, PostgreSQL
}
"""Test files that pick their databases themselves: the same in both passes, so run once."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not POSTGRES:
        return
    for item in items:
        if item.nodeid in SQLITE_ONLY:
            item.add_marker(pytest.mark.skip(reason="about the SQLite app database: the SQLite pass runs it"))
        elif item.nodeid.split("::")[0] in OWN_DATABASES:
            item.add_marker(pytest.mark.skip(reason="chooses its own databases: the first pass runs it"))


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("forloeb")


@pytest.fixture(autouse=True)
def app_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> Iterator[Path]:
    """Every test gets its own app database with the 98 municipalities: a SQLite file, or with
    FORLOEB_TEST_POSTGRES a PostgreSQL database (through FORLOEB_POSTGRES_URL)."""
    from core import db
    from core.settings import get_settings
    from models import schema
    from services import municipalities

    monkeypatch.setenv("FORLOEB_DATA_DIR", str(tmp_path / "data"))
    # Mail goes nowhere unless a test starts its own SMTP server (never to a dev mailbox on 8025).
    monkeypatch.setenv("FORLOEB_SMTP_URL", "mailto://127.0.0.1:9?from=forloeb@localhost")
    monkeypatch.setenv("FORLOEB_SEND_BACKOFF_SECONDS", "0")
    pg_name = None
    if POSTGRES:
        request.getfixturevalue("pg_session")
        pg_name = f"{PG_PREFIX}_{next(_pg_count)}"
        _pg_execute(f'CREATE DATABASE "{pg_name}" TEMPLATE "{PG_PREFIX}_template"')
        monkeypatch.delenv("FORLOEB_DATABASE_URL", raising=False)
        monkeypatch.setenv("FORLOEB_POSTGRES_URL", POSTGRES)
        monkeypatch.setenv("FORLOEB_POSTGRES_APP_DATABASE", pg_name)
        get_settings.cache_clear()
    else:
        monkeypatch.setenv("FORLOEB_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
        get_settings.cache_clear()
        # The quick way: create_all + stamped at head (test_migrations.py proves the migrations agree).
        schema.create_tables()
        municipalities.seed_municipalities(KOMMUNER)
    yield tmp_path
    db.get_engine().dispose()
    get_settings.cache_clear()
    if pg_name is not None:
        db._engine_for.cache_clear()
        _pg_execute(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


@contextmanager
def _prefect_on_postgres(url: str) -> Iterator[None]:
    """`prefect_test_harness`, with the server's database on PostgreSQL instead of a SQLite file."""
    import prefect.context
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_DATABASE_CONNECTION_URL, temporary_settings
    from prefect.utilities.asyncutils import run_coro_as_sync

    from tests.support.mail import free_port

    with temporary_settings(updates={PREFECT_SERVER_DATABASE_CONNECTION_URL: url}):
        server = SubprocessASGIServer(port=free_port())
        prior = SubprocessASGIServer._instances.get(None)
        SubprocessASGIServer._instances[None] = server  # flows in this process find this server
        server.start(timeout=90)
        try:
            with (
                temporary_settings(updates={PREFECT_API_URL: server.api_url}),
                prefect.context._temporary_global_settings_context(prefect.context.get_settings_context()),
            ):
                yield

                async def drain() -> None:  # as the harness does, before the server stops
                    with suppress(RuntimeError):  # the log worker was never started
                        result = APILogWorker.instance().drain()
                        if inspect.isawaitable(result):
                            await result
                    result = EventsWorker.drain_all()
                    if inspect.isawaitable(result):
                        await result

                run_coro_as_sync(drain())
        finally:
            server.stop()
            if prior is not None:
                SubprocessASGIServer._instances[None] = prior
            else:
                SubprocessASGIServer._instances.pop(None, None)


@pytest.fixture(scope="session")
def prefect_server(tmp_root: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A real Prefect server (the test harness) with the course deployment applied."""
    os.environ.pop("PREFECT_API_URL", None)
    from prefect.testing.utilities import prefect_test_harness

    if POSTGRES:
        from core.postgres import prefect_database_url
        from core.settings import Settings

        request.getfixturevalue("pg_session")
        settings = Settings(postgres_url=POSTGRES, postgres_prefect_database=f"{PG_PREFIX}_prefect")
        url = prefect_database_url(settings, environ={})
        assert url is not None and url.startswith("postgresql+asyncpg://")
        harness = _prefect_on_postgres(url)
    else:
        harness = prefect_test_harness(server_startup_timeout=90)
    with harness:
        from prefect.settings import PREFECT_API_URL

        from deployments import all_deployments

        for deployment in all_deployments():
            deployment.apply()
        yield str(PREFECT_API_URL.value())
    shutil.rmtree(tmp_root / "prefect", ignore_errors=True)
