"""PostgreSQL for both databases from one setting, `FORLOEB_POSTGRES_URL`.

    FORLOEB_POSTGRES_URL=postgresql://forloeb:secret@db:5432
      -> app database      postgresql+psycopg://forloeb:secret@db:5432/forloeb
      -> Prefect database  postgresql+asyncpg://forloeb:secret@db:5432/prefect

(database names: `FORLOEB_POSTGRES_APP_DATABASE`, `FORLOEB_POSTGRES_PREFECT_DATABASE`). An explicit
`FORLOEB_DATABASE_URL`, or Prefect's own `PREFECT_SERVER_DATABASE_CONNECTION_URL` (alias
`PREFECT_API_DATABASE_CONNECTION_URL`), still wins for its database.

    python -m core.postgres                      create the databases that are missing
    python -m core.postgres prefect server start ...
                                                 the same, then run the command with the Prefect
                                                 database's URL in its environment (the systemd
                                                 unit of the Prefect server and `make run` use it)

No Prefect import here: the Prefect server is another process; it only reads its environment.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from core.settings import Settings, get_settings

PREFECT_DATABASE_VARS = ("PREFECT_SERVER_DATABASE_CONNECTION_URL", "PREFECT_API_DATABASE_CONNECTION_URL")
"""Prefect's own setting for its server's database (and its older name): set, it wins."""


def prefect_database_url(
    settings: Settings | None = None, environ: Mapping[str, str] | None = None
) -> str | None:
    """The URL the Prefect server should use: an explicit Prefect setting as it is; else the
    Prefect database on `FORLOEB_POSTGRES_URL` (asyncpg: the server is async); else None
    (Prefect's default, SQLite under PREFECT_HOME)."""
    settings = settings or get_settings()
    environ = os.environ if environ is None else environ
    for name in PREFECT_DATABASE_VARS:
        if environ.get(name):
            return environ[name]
    if not settings.postgres_url:
        return None
    return settings.postgres_database_url(settings.postgres_prefect_database, "postgresql+asyncpg")


def prefect_server_env(
    settings: Settings | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, str]:
    """What to add to the Prefect server's environment so it uses `FORLOEB_POSTGRES_URL` (nothing
    when a Prefect database setting is already there, or PostgreSQL is not configured)."""
    environ = os.environ if environ is None else environ
    if any(environ.get(name) for name in PREFECT_DATABASE_VARS):
        return {}
    url = prefect_database_url(settings, environ)
    return {PREFECT_DATABASE_VARS[0]: url} if url else {}


def _wanted(settings: Settings, environ: Mapping[str, str]) -> list[str]:
    """Every PostgreSQL database URL (psycopg) that forloeb and its Prefect server will open."""
    from sqlalchemy.engine import make_url

    urls = []
    app = settings.resolved_database_url
    if make_url(app).get_backend_name() == "postgresql":
        urls.append(app)
    prefect = prefect_database_url(settings, environ)
    if prefect and make_url(prefect).get_backend_name() == "postgresql":
        urls.append(
            make_url(prefect).set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
        )
    return urls


def ensure_databases(settings: Settings | None = None, environ: Mapping[str, str] | None = None) -> list[str]:
    """Create the PostgreSQL databases (app and Prefect) that do not exist yet, connected to the
    same server's `postgres` database. Returns the names created. Safe when several processes
    start at once (a database created meanwhile by another is fine)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import DBAPIError

    settings = settings or get_settings()
    environ = os.environ if environ is None else environ
    created: list[str] = []
    for raw in _wanted(settings, environ):
        url = make_url(raw)
        name = url.database
        if not name:
            continue
        admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as connection:
                exists = connection.execute(
                    text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
                ).first()
                if exists:
                    continue
                quoted = connection.dialect.identifier_preparer.quote_identifier(name)
                try:
                    connection.execute(text(f"CREATE DATABASE {quoted}"))
                    created.append(name)
                except DBAPIError as exc:
                    if getattr(exc.orig, "sqlstate", None) not in ("42P04", "23505"):
                        raise  # 42P04 duplicate_database / 23505: created by someone else meanwhile
        finally:
            admin.dispose()
    return created


def main(argv: list[str]) -> None:
    created = ensure_databases()
    for name in created:
        print(f"[forloeb] PostgreSQL-databasen '{name}' er oprettet", file=sys.stderr, flush=True)
    if argv:
        env = {**os.environ, **prefect_server_env()}
        os.execvpe(argv[0], argv, env)


if __name__ == "__main__":
    main(sys.argv[1:])
