"""Alembic's environment for the app database. No alembic.ini: `models.schema.alembic_config`
configures Alembic in code and hands over the connection to migrate, inside its transaction
(`models.schema` commits, so an upgrade is all or nothing)."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from core.db import get_engine


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        # SQLite cannot ALTER most things: Alembic copies the table instead ("batch" mode).
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("Offline (--sql) migrations are not supported: use `forloeb db upgrade`.")
given: Connection | None = context.config.attributes.get("connection")
if given is not None:
    _run(given)
else:  # `python -m models.schema revision ...`: the database FORLOEB_DATABASE_URL names
    with get_engine().begin() as own:
        _run(own)
