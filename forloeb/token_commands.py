"""`forloeb token create|list|revoke`: personal API tokens for scripts and BI tools
(`services.api_tokens`). The secret is printed once, on creation, and never again."""

from __future__ import annotations

from typing import Annotated

import typer

from core.clock import format_local
from core.errors import ForloebError
from forloeb.output import console, err_console, fail, ready
from forloeb.table import Table

token_app = typer.Typer(
    help="API-nøgler til scripts og BI-værktøjer (Authorization: Bearer …).", no_args_is_help=True
)


@token_app.command("create")
def token_create(
    user: Annotated[str, typer.Option("--user", help="Brugernavnet, nøglen handler som")],
    name: Annotated[str, typer.Option("--name", help="Hvad nøglen bruges til, fx 'Power BI'")],
    scope: Annotated[
        list[str],
        typer.Option(
            "--scope", help="read, tasks:write, courses:write, applications:write (gentag for flere)"
        ),
    ],
    expires: Annotated[int | None, typer.Option("--expires", help="Udløber om så mange dage")] = None,
    actor: Annotated[str, typer.Option("--as", help="Hvem opretter (til loggen)")] = "cli",
) -> None:
    """Opret en API-nøgle. Nøglen vises kun denne ene gang: gem den et sikkert sted."""
    from services import api_tokens

    ready()
    try:
        row, secret = api_tokens.create_token(
            owner=user, name=name, scopes=scope, expires_days=expires, actor=actor
        )
    except ForloebError as error:
        raise fail(error) from None
    err_console.print(
        f"API-nøgle {row.id} '{row.name}' til {user.strip().lower()} ({', '.join(row.scopes)})"
        + (f", udløber {format_local(row.expires_at)}" if row.expires_at else "")
        + ". Den vises kun nu; gem den et sikkert sted:",
        highlight=False,
    )
    print(secret)  # alone on stdout, so `TOKEN=$(forloeb token create ...)` works


@token_app.command("list")
def token_list(
    user: Annotated[str | None, typer.Option("--user", help="Kun denne brugers nøgler")] = None,
) -> None:
    """Vis API-nøglerne (aldrig selve nøglen: kun dens første tegn)."""
    from services import api_tokens

    ready()
    rows = api_tokens.list_tokens(username=user)
    table = Table(
        "Id",
        "Bruger",
        "Navn",
        "Nøgle",
        "Scopes",
        "Oprettet",
        "Udløber",
        "Sidst brugt",
        "Status",
        title=f"API-nøgler ({len(rows)})",
    )
    for t in rows:
        table.add_row(
            str(t.id),
            t.username,
            t.name,
            t.prefix + "…",
            ", ".join(t.scopes),
            format_local(t.created_at),
            format_local(t.expires_at) if t.expires_at else "aldrig",
            format_local(t.last_used_at) if t.last_used_at else "aldrig",
            t.status,
        )
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="Nøglens id (se 'forloeb token list')")],
    actor: Annotated[str, typer.Option("--as", help="Hvem tilbagekalder (til loggen)")] = "cli",
) -> None:
    """Tilbagekald en API-nøgle: den virker ikke længere, fra næste forespørgsel."""
    from services import api_tokens

    ready()
    try:
        row = api_tokens.revoke_token(token_id, actor=actor)
    except ForloebError as error:
        raise fail(error) from None
    console.print(f"API-nøgle {row.id} '{row.name}' ({row.prefix}…) er tilbagekaldt.", highlight=False)
