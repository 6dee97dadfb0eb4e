"""`forloeb notifications [retry|consultant]` and `forloeb preview`: the outbox from the command line."""

from __future__ import annotations

from typing import Annotated

import typer

from core.clock import format_local
from core.errors import ForloebError, InvalidInput
from forloeb.output import console, err_console, ready
from forloeb.output import fail as _fail
from forloeb.table import Table

_ready = ready

notifications_app = typer.Typer(help="Udbakken: alle beskeder, og send fejlede igen.")

STATUS_STYLE = {"Fejlet": "[red]Fejlet[/]", "Måske sendt": "[yellow]Måske sendt[/]"}


@notifications_app.callback(invoke_without_command=True)
def notifications_list(
    ctx: typer.Context,
    failed: Annotated[
        bool, typer.Option("--failed", help="Kun dem der kræver handling: fejlede og måske sendte")
    ] = False,
    course: Annotated[int | None, typer.Option("--course", help="Kun dette forløb")] = None,
) -> None:
    """Vis beskederne i udbakken, nyeste først."""
    if ctx.invoked_subcommand is not None:
        return
    from notifications import outbox

    _ready()
    rows = outbox.list_rows(failed=failed, course_id=course)
    table = Table(
        "Id",
        "Forløb",
        "Formål",
        "Modtager",
        "Emne",
        "Status",
        "Forsøg",
        "Tid",
        "Fejl",
        title=f"Beskeder ({len(rows)})",
    )
    for row in rows:
        table.add_row(
            str(row.id),
            str(row.course_id or ""),
            row.purpose,
            row.recipient,
            row.subject,
            STATUS_STYLE.get(label := outbox.status_label(row), label),
            str(row.attempts),
            format_local(row.sent_at or row.updated_at or row.created_at),
            row.last_error or "",
        )
    console.print(table)


@notifications_app.command("retry")
def notifications_retry(
    notification_id: Annotated[int | None, typer.Argument(help="Beskedens id")] = None,
    all_failed: Annotated[bool, typer.Option("--all-failed", help="Alle fejlede beskeder")] = False,
    force: Annotated[
        bool,
        typer.Option("--force", help="Send en 'måske sendt' besked alligevel (tjek først hos modtageren)"),
    ] = False,
    actor: Annotated[str, typer.Option("--actor")] = "cli",
) -> None:
    """Send fejlede beskeder igen (kun fejlede: en sendt besked sendes aldrig igen).

    En besked hvis afsendelse blev afbrudt ('måske sendt') sendes kun med --force."""
    from notifications import outbox
    from services import outbox_admin

    _ready()
    if (notification_id is None) == (not all_failed):
        raise _fail(InvalidInput("Angiv enten et id eller --all-failed.")) from None
    if force and all_failed:
        raise _fail(InvalidInput("--force gælder én besked ad gangen: angiv dens id.")) from None
    ids = outbox.failed_ids() if all_failed else [notification_id or 0]
    if all_failed and not ids:
        console.print("Ingen fejlede beskeder.")
        return
    still_failed = 0
    for one in ids:
        try:
            outbox_admin.retry_notification(one, actor=actor, force=force)
            console.print(f"[green]Besked {one} er sendt.[/]")
        except outbox.DeliveryFailed as error:
            still_failed += 1
            err_console.print(f"[red]Besked {one} fejlede igen:[/] {error.message}", highlight=False)
        except ForloebError as error:
            raise _fail(error) from None
    if still_failed:
        raise typer.Exit(6)


@notifications_app.command("consultant")
def notifications_consultant(
    name: Annotated[str, typer.Argument(help="Konsulentens navn, som på forløbet")],
    email: Annotated[str | None, typer.Option("--email", help="Konsulentens e-mail")] = None,
    stage_summary: Annotated[
        bool | None, typer.Option("--stage-summary/--no-stage-summary", help="Mail ved faseskift")
    ] = None,
) -> None:
    """Konsulentens e-mail og om der sendes en mail ved hvert faseskift."""
    from services.accounts import set_consultant_preference

    _ready()
    pref = set_consultant_preference(name, email=email, stage_summary=stage_summary)
    summary = "ja" if pref.stage_summary else "nej"
    console.print(f"{name}: e-mail {pref.email or '(standard)'}, mail ved faseskift: {summary}.")


# --- preview --------------------------------------------------------------------------------


def preview(
    template: Annotated[str, typer.Argument(help="Skabelon, fx moede_invitation")],
    course: Annotated[int, typer.Option("--course", help="Forløbets nummer")],
    html: Annotated[bool, typer.Option("--html", help="Vis HTML i stedet for tekst")] = False,
) -> None:
    """Vis en besked, som den ville blive sendt for et forløb (intet sendes)."""
    from notifications import compose

    _ready()
    try:
        recipient, rendered = compose.preview(template, course)
    except ForloebError as error:
        raise _fail(error) from None
    console.print(f"Til: {recipient}\nEmne: {rendered.subject}\n", highlight=False, markup=False)
    console.print(rendered.html if html else rendered.text, highlight=False, markup=False)
