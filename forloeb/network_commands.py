"""`forloeb network members|meetings`: the cross-municipal network (issue 15), read-only; meetings
are planned, moved and cancelled on the Netværk page (`/netvaerk/oversigt`)."""

from __future__ import annotations

from typing import Annotated

import typer

from core.labels import label
from forloeb.output import console, ready
from forloeb.table import Table

network_app = typer.Typer(help="Det tværkommunale netværk: medlemmer og møder.", no_args_is_help=True)
AsJson = Annotated[bool, typer.Option("--json", help="Som JSON")]


@network_app.command("members")
def members(as_json: AsJson = False) -> None:
    """Netværkets tilmeldte: kommune, kontaktperson, e-mail og tilmeldt siden."""
    from core.clock import format_local
    from services import network

    ready()
    rows = network.list_members()
    if as_json:
        console.print_json(data=[r.model_dump(mode="json") for r in rows])
        return
    table = Table("Nr.", "Kommune", "Kontaktperson", "E-mail", "Tilmeldt", title=f"{len(rows)} tilmeldte")
    for row in rows:
        table.add_row(str(row.id), row.kommune, row.name, row.email, format_local(row.signed_up_at))
    console.print(table)


@network_app.command("meetings")
def meetings(as_json: AsJson = False) -> None:
    """Netværkets møder: de kommende først (tidligste øverst), så de afholdte (seneste øverst)."""
    from core.clock import format_local
    from services import network

    ready()
    upcoming, past = network.list_meetings()
    if as_json:
        console.print_json(
            data={
                "upcoming": [r.model_dump(mode="json") for r in upcoming],
                "past": [r.model_dump(mode="json") for r in past],
            }
        )
        return
    for title, rows, held in (("Kommende møder", upcoming, False), ("Afholdte møder", past, True)):
        table = Table("Nr.", "Møde", "Tidspunkt", "Sted", "Status", "Sendt", "Ikke sendt", title=title)
        for row in rows:
            table.add_row(
                str(row.id),
                row.title,
                format_local(row.starts_at),
                row.location or "Aftales nærmere",
                label("held" if held and row.status == "planned" else row.status),
                str(row.sent),
                str(row.failed or ""),
            )
        console.print(table)
