"""Retention, erasure and the access audit (issue 14): `forloeb purge [--dry-run]`, `forloeb
erase-contact EMAIL [--yes]`, `forloeb access-log [...]`; and `log_cli_read`, which the commands
that show a course or an application call so CLI reads are in the access log too."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from core.errors import ForloebError
from forloeb.output import console, err_console, fail, ready
from forloeb.table import Table


def log_cli_read(kind: str, object_id: int) -> None:
    """One row in the access log for a course or application shown on the command line."""
    from models.tables import AccessKind, AccessVia
    from services import access_log

    access_log.record_read(AccessKind(kind), object_id, access_log.cli_actor(), AccessVia.CLI)


def purge(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Vis hvad der ville blive slettet; intet ændres")
    ] = False,
    day: Annotated[str | None, typer.Option("--date", help="Som om det var denne dag (2026-03-03)")] = None,
) -> None:
    """Slet personoplysninger, hvis opbevaringstid er udløbet (docs/PRIVACY.md).

    Navne og e-mails, fritekst, dokumenter, beskedindhold og links går; kommune, program, datoer
    og antal bliver (nøgletallene ændres ikke). Kører også hver nat (deployment 'sletning')."""
    from services import access_log, privacy

    ready()
    try:
        when = access_log.parse_day(day, "--date")
        report = privacy.purge(when, dry_run=dry_run, actor=access_log.cli_actor())
    except ForloebError as error:
        raise fail(error) from None
    head = "Ville blive slettet" if dry_run else "Slettet"
    console.print(
        f"{head} pr. {report.day.isoformat()}: forløb {privacy.ids_text(report.courses)}; "
        f"ansøgninger {privacy.ids_text(report.applications)}.",
        highlight=False,
    )
    table = Table("Hvad", "Antal")
    for label, count in report.lines():
        table.add_row(label, str(count))
    console.print(table)
    if dry_run:
        err_console.print("Intet er ændret (--dry-run). Kør uden --dry-run for at slette.")


def erase_contact(
    email: Annotated[str, typer.Argument(help="Personens e-mailadresse")],
    yes: Annotated[bool, typer.Option("--yes", help="Slet uden at spørge")] = False,
    actor: Annotated[str | None, typer.Option("--as", help="Hvem sletter (til loggen)")] = None,
) -> None:
    """Slet én person efter anmodning (GDPR art. 17): kontaktpersoner, svar, evaluerings- og
    netværkslinks, udbakken og revisionssporet. Logins slettes ikke her."""
    from services import access_log, privacy

    ready()
    who = actor or access_log.cli_actor()
    try:
        found = privacy.erase_contact(email, actor=who, dry_run=True)
    except ForloebError as error:
        raise fail(error) from None
    if not found.total:
        console.print("Adressen findes ingen steder; intet at slette.")
        privacy.erase_contact(email, actor=who)  # the request itself is audited
        return
    _print_found(found)
    if not yes and not typer.confirm("Slet personen disse steder?", default=False):
        err_console.print("Intet er ændret.")
        raise typer.Exit(1)
    done = privacy.erase_contact(email, actor=who)
    console.print(f"Slettet: {done.total} rækker. Revisionssporet nævner adressen som nøgle {done.key}.")


def _print_found(found: object) -> None:
    from services.privacy import ErasureReport

    assert isinstance(found, ErasureReport)
    table = Table("Fundet i", "Rækker")
    for where, count in found.lines():
        table.add_row(where, str(count))
    console.print(table)
    if found.courses or found.applications:
        console.print(
            f"Forløb: {', '.join(map(str, sorted(found.courses))) or '-'}; "
            f"ansøgninger: {', '.join(map(str, sorted(found.applications))) or '-'}",
            highlight=False,
        )


def access_log_command(
    course: Annotated[int | None, typer.Option("--course", help="Kun læsninger af dette forløb")] = None,
    application: Annotated[int | None, typer.Option("--application", help="Kun denne ansøgning")] = None,
    since: Annotated[str | None, typer.Option("--since", help="Fra og med dato (2026-03-03)")] = None,
    until: Annotated[str | None, typer.Option("--until", help="Til og med dato")] = None,
    actor: Annotated[str | None, typer.Option("--actor", help="Kun denne bruger")] = None,
    csv_file: Annotated[
        Path | None, typer.Option("--csv", help="Skriv som CSV til denne fil (- for stdout)")
    ] = None,
) -> None:
    """Adgangsloggen: hvem har læst hvilke forløb, ansøgninger og dokumenter, hvornår og hvorfra."""
    from models.tables import AccessKind
    from services import access_log

    ready()
    if course is not None and application is not None:
        raise fail(_invalid("Brug enten --course eller --application."))
    kind, object_id = (
        (AccessKind.COURSE, course)
        if course is not None
        else (AccessKind.APPLICATION, application)
        if application is not None
        else (None, None)
    )
    try:
        filters = access_log.AccessFilters(
            kind=kind,
            object_id=object_id,
            actor=actor,
            since=access_log.parse_day(since, "--since"),
            until=access_log.parse_day(until, "--until"),
        )
        rows = access_log.list_reads(filters, limit=None if csv_file else access_log.MAX_ROWS)
    except ForloebError as error:
        raise fail(error) from None
    if csv_file is not None:
        text = access_log.to_csv(rows)
        if str(csv_file) == "-":
            typer.echo(text, nl=False)
        else:
            csv_file.write_text(text, encoding="utf-8-sig")
            err_console.print(f"{len(rows)} læsninger skrevet til {csv_file}.", highlight=False)
        return
    if not rows:
        console.print("Ingen læsninger passer til filtrene.")
        return
    table = Table("Tidspunkt", "Hvem", "Hvad", "Hvorfra")
    for row in rows:
        table.add_row(row.when, row.actor, row.what, row.where)
    console.print(table)
    console.print(f"{len(rows)} læsninger.")


def _invalid(message: str) -> ForloebError:
    from core.errors import InvalidInput

    return InvalidInput(message)
