"""`forloeb db upgrade|current`: the app database's schema revision (migrations: `models.schema`)."""

from __future__ import annotations

import time

import typer

from core.errors import DatabaseTooNew, ForloebError
from forloeb.output import console, fail

db_app = typer.Typer(help="App-databasens skema: se versionen, og opdatér den.", no_args_is_help=True)


def _where() -> str:
    from sqlalchemy.engine import make_url

    from core.settings import get_settings

    return make_url(get_settings().resolved_database_url).render_as_string(hide_password=True)


@db_app.command("upgrade")
def upgrade() -> None:
    """Opdatér databasen til den nyeste skemaversion (data bevares). Sker også af sig selv."""
    from models.schema import upgrade_to_head

    started = time.perf_counter()
    try:
        done = upgrade_to_head()
    except ForloebError as error:
        raise fail(error) from None
    took = time.perf_counter() - started
    console.print(f"Database: {_where()}", highlight=False)
    if not done.changed:
        console.print(f"Databasen er allerede på den nyeste skemaversion ({done.after}).", highlight=False)
    elif done.adopted:
        console.print(
            f"Databasen var oprettet før skemaversioner; den er overtaget og opdateret til {done.after} "
            f"({took:.2f} s). Ingen data er tabt.",
            highlight=False,
        )
    elif done.before is None:
        console.print(f"Databasen er oprettet på skemaversion {done.after} ({took:.2f} s).", highlight=False)
    else:
        console.print(
            f"[green]Databasen er opdateret[/] fra {done.before} til {done.after} ({took:.2f} s).",
            highlight=False,
        )


@db_app.command("current")
def current() -> None:
    """Vis databasens skemaversion og den nyeste, denne version af forloeb kender."""
    from models.schema import HEAD, current_revision, known_revisions, too_new_message

    revision = current_revision()
    console.print(f"Database: {_where()}", highlight=False)
    if revision is not None and revision not in known_revisions():
        raise fail(DatabaseTooNew(too_new_message(revision)))
    if revision == HEAD:
        console.print(f"Skemaversion: {revision} (den nyeste)", highlight=False)
    elif revision is None:
        console.print(
            "Skemaversion: ingen (databasen er tom eller oprettet før skemaversioner). "
            "Kør 'forloeb db upgrade'; data bevares.",
            highlight=False,
        )
    else:
        console.print(
            f"Skemaversion: {revision}; den nyeste er {HEAD}. Kør 'forloeb db upgrade'; data bevares.",
            highlight=False,
        )
