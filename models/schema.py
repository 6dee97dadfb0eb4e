"""The app database's schema: brought up to date here and only here.

Alembic migrations live in `models/migrations/` (shipped in the package; no alembic.ini: Alembic
is configured in code by `alembic_config`). Everything that opens the app database for work calls
`upgrade_to_head` first: every `forloeb` command (`forloeb.output.ready`), `forloeb db upgrade`
and the `make run` launcher.

- A database at `HEAD` costs two small queries, without importing Alembic (the CLI starts fast).
- An empty database gets every revision; one made by `create_all` before migrations existed
  (tables, no `alembic_version`) is adopted by the baseline revision, then migrated.
- A database at a revision this code does not know was migrated by a newer forloeb: it is refused
  (`DatabaseTooNew`) and not written to.

Writing the next migration: change `models/tables.py`, then
`uv run python -m models.schema revision "what changed"` (autogenerate against a database at head),
read and correct the new file in `models/migrations/versions/`, and set `HEAD` below to its id.
`tests/integration/test_migrations.py` checks that the models and the migrations agree.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Column, MetaData, PrimaryKeyConstraint, String, Table, inspect, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from core.db import get_engine
from core.errors import DatabaseTooNew

if TYPE_CHECKING:
    from alembic.config import Config

HEAD = "0010_stage_figures"
"""The newest revision in `models/migrations/versions` (a test checks they agree)."""
BASELINE = "0001_baseline"
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
VERSION_TABLE = "alembic_version"

# Alembic's own version table, declared so `create_tables` can stamp without importing Alembic.
_version = Table(
    VERSION_TABLE,
    MetaData(),
    Column("version_num", String(32), nullable=False),
    PrimaryKeyConstraint("version_num", name="alembic_version_pkc"),
)


@dataclass(frozen=True)
class Upgrade:
    before: str | None
    """The revision the database was at; None: not under migrations (empty, or made by create_all)."""
    after: str
    adopted: bool = False
    """The database had the app's tables but no revision: made before migrations existed."""

    @property
    def changed(self) -> bool:
        return self.before != self.after


def current_revision(engine: Engine | None = None) -> str | None:
    """The revision stamped in the database; None when it has none (empty, or made before
    migrations). Plain SQLAlchemy: no Alembic import."""
    with (engine or get_engine()).connect() as connection:
        return _stamped(connection)


def upgrade_to_head(engine: Engine | None = None) -> Upgrade:
    """Bring the database to `HEAD`. Raises `DatabaseTooNew` (and writes nothing) when it was
    migrated by a newer forloeb."""
    engine = engine or get_engine()
    current = current_revision(engine)
    if current == HEAD:
        return Upgrade(current, HEAD)
    return _migrate(engine)


def create_tables(engine: Engine | None = None) -> None:
    """A new database at head the quick way, for tests and benchmarks: the tables from the
    models and the `HEAD` stamp, no migrations run (the migration tests prove both give the same
    schema). A database that already has tables is upgraded instead."""
    engine = engine or get_engine()
    with engine.begin() as connection:
        if not inspect(connection).get_table_names():
            SQLModel.metadata.create_all(connection)
            _version.create(connection)
            connection.execute(_version.insert().values(version_num=HEAD))
            return
    upgrade_to_head(engine)


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, in code: the migrations inside this package, and the connection
    (with its transaction) to run them on (None: `core.db.get_engine()`)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("version_table", VERSION_TABLE)
    config.attributes["connection"] = connection
    return config


def known_revisions() -> list[str]:
    """Every revision in the script directory, newest first."""
    from alembic.script import ScriptDirectory

    return [script.revision for script in ScriptDirectory.from_config(alembic_config()).walk_revisions()]


def too_new_message(revision: str) -> str:
    return (
        f"Databasen er på skemaversion {revision}, som denne version af forloeb ikke kender "
        f"(den nyeste, den kender, er {HEAD}). Den er opdateret af en nyere forloeb. "
        "Opdatér forloeb, eller brug den nyere version; databasen er ikke ændret."
    )


def _stamped(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(select(_version.c.version_num)).scalars().all()
    return ",".join(sorted(rows)) or None


def _migrate(engine: Engine) -> Upgrade:
    from alembic import command

    with engine.connect() as connection:
        _lock(connection)  # one upgrade at a time; re-read the stamp under the lock
        before = _stamped(connection)
        if before is not None and before not in known_revisions():
            connection.rollback()
            raise DatabaseTooNew(too_new_message(before))
        adopted = before is None and bool(set(inspect(connection).get_table_names()) - {VERSION_TABLE})
        if before != HEAD:
            command.upgrade(alembic_config(connection), "head")
        connection.commit()
    return Upgrade(before, HEAD, adopted=adopted)


def _lock(connection: Connection) -> None:
    """Start the transaction the whole upgrade runs in, holding the database's write lock, so two
    processes starting at once (the launcher, a CLI command) do not both migrate. On SQLite this
    also makes the DDL transactional: a failed migration leaves nothing half done."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7401)")  # any fixed number


def _revision_command(message: str) -> None:
    """`python -m models.schema revision "message"`: autogenerate the next revision against the
    database `FORLOEB_DATABASE_URL` names, after bringing it to head. Ids count up from `HEAD`
    (`0003_what_changed` in `versions/r0003_what_changed.py`)."""
    import re

    from alembic import command

    upgrade_to_head()
    slug = re.sub(r"[^a-z0-9]+", "_", message.lower()).strip("_")[:40]
    config = alembic_config()
    config.set_main_option("file_template", "r%%(rev)s")
    command.revision(config, message=message, autogenerate=True, rev_id=f"{int(HEAD[:4]) + 1:04d}_{slug}")


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "revision":
        raise SystemExit('usage: python -m models.schema revision "what changed"')
    _revision_command(sys.argv[2])
