"""CLI for meetings and notifications: `forloeb meeting ...`, `forloeb notifications ...`,
`forloeb preview`, `forloeb dev-mailbox`. Registered in `forloeb.cli`."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from forloeb.cli_output import console, err_console
from forloeb.cli_output import fail as _fail
from forloeb.cli_output import ready as _ready
from forloeb.clock import format_local
from forloeb.errors import ForloebError, InvalidInput, NotFound

# --- meetings -------------------------------------------------------------------------------

meeting_app = typer.Typer(help="Møder: planlæg, flyt og aflys (med invitationer og påmindelser).")


def _report(change: object, verb: str) -> None:
    from forloeb.clock import format_local
    from forloeb.meetings import MeetingChange

    assert isinstance(change, MeetingChange)
    meeting = change.meeting
    console.print(
        f"[green]Møde {meeting.id} ({meeting.title}) er {verb}[/]: {format_local(meeting.planned_at)}, "
        f"{meeting.location} (version {meeting.version})."
    )
    console.print(f"Beskeder sendt: {change.sent}.")
    if change.failed:
        ids = ", ".join(str(i) for i in change.failed)
        console.print(
            f"[red]Kunne ikke sendes: {ids}.[/] Se 'forloeb notifications --failed' og send igen med "
            "'forloeb notifications retry ID'."
        )
    if change.cancelled:
        console.print(f"Annullerede påmindelseskørsler: {len(change.cancelled)}.")
    if change.scheduled:
        console.print(f"Planlagte påmindelseskørsler: {len(change.scheduled)}.")


@meeting_app.command("plan")
def meeting_plan(
    course: Annotated[int, typer.Argument(help="Forløbets nummer")],
    kind: Annotated[str, typer.Option("--kind", help="formoede, afdaekningsworkshop, workshop, ...")],
    at: Annotated[str, typer.Option("--at", help="Tidspunkt i dansk tid, fx '2026-03-03 10:00'")],
    place: Annotated[str, typer.Option("--place", help="Sted eller link")] = "",
    actor: Annotated[str, typer.Option("--actor", help="Hvem gør det (til loggen)")] = "cli",
) -> None:
    """Planlæg et møde; invitationen sendes, og påmindelserne planlægges."""
    from forloeb import meetings

    _ready()
    try:
        change = meetings.plan_meeting(course, kind, meetings.parse_local(at), place, actor=actor)
    except ForloebError as error:
        raise _fail(error) from None
    _report(change, "planlagt")


@meeting_app.command("move")
def meeting_move(
    meeting_id: Annotated[int, typer.Argument(help="Mødets nummer")],
    to: Annotated[str, typer.Option("--to", help="Nyt tidspunkt i dansk tid, fx '2026-03-10 13:00'")],
    actor: Annotated[str, typer.Option("--actor")] = "cli",
) -> None:
    """Flyt et møde: påmindelserne flyttes med, og en opdateret invitation sendes."""
    from forloeb import meetings

    _ready()
    try:
        change = meetings.move_meeting(meeting_id, meetings.parse_local(to), actor=actor)
    except ForloebError as error:
        raise _fail(error) from None
    _report(change, "flyttet")


@meeting_app.command("cancel")
def meeting_cancel(
    meeting_id: Annotated[int, typer.Argument(help="Mødets nummer")],
    actor: Annotated[str, typer.Option("--actor")] = "cli",
) -> None:
    """Aflys et møde: påmindelserne annulleres, og en aflysning sendes."""
    from forloeb import meetings

    _ready()
    try:
        change = meetings.cancel_meeting(meeting_id, actor=actor)
    except ForloebError as error:
        raise _fail(error) from None
    _report(change, "aflyst")


# --- notifications --------------------------------------------------------------------------

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
    from forloeb.clock import format_local
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
    from forloeb import service
    from notifications import outbox

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
            service.retry_notification(one, actor=actor, force=force)
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
    from forloeb.db import session_scope
    from models.tables import ConsultantPreference

    _ready()
    with session_scope() as session:
        pref = session.get(ConsultantPreference, name) or ConsultantPreference(consultant=name)
        if email is not None:
            pref.email = email.strip() or None
        if stage_summary is not None:
            pref.stage_summary = stage_summary
        session.add(pref)
        summary = "ja" if pref.stage_summary else "nej"
        console.print(f"{name}: e-mail {pref.email or '(standard)'}, mail ved faseskift: {summary}.")


# --- preview and the dev mailbox ------------------------------------------------------------


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


def mailbox_dir() -> Path:
    from forloeb.settings import get_settings

    return get_settings().data_dir / "mailbox"


def _read_mail(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def dev_mailbox(
    show: Annotated[int | None, typer.Argument(help="Vis mail nummer N (fra listen)")] = None,
) -> None:
    """Mails modtaget af udviklingspostkassen, som 'make run' starter på 127.0.0.1:8025."""
    folder = mailbox_dir()
    files = sorted(folder.glob("*.eml")) if folder.exists() else []
    if show is None:
        table = Table("Nr", "Modtaget", "Til", "Emne", "Bilag", title=f"Udviklingspostkassen ({folder})")
        for number, path in enumerate(files, start=1):
            mail = _read_mail(path)
            attachments = ", ".join(a.get_filename() or "" for a in mail.iter_attachments())
            received = format_local(datetime.fromtimestamp(path.stat().st_mtime, UTC))
            table.add_row(str(number), received, str(mail["To"]), str(mail["Subject"]), attachments)
        console.print(table)
        if not files:
            console.print("Ingen mails endnu. Kører 'make run'?")
        return
    if not 1 <= show <= len(files):
        raise _fail(NotFound(f"Der er ingen mail nummer {show} (der er {len(files)})."))
    mail = _read_mail(files[show - 1])
    console.print(f"Til: {mail['To']}\nFra: {mail['From']}\nEmne: {mail['Subject']}\n", markup=False)
    body = mail.get_body(preferencelist=("plain", "html"))
    console.print(body.get_content() if body else "", markup=False, highlight=False)
    for attachment in mail.iter_attachments():
        console.print(f"\n--- bilag: {attachment.get_filename()} ---", markup=False)
        content = attachment.get_content()
        console.print(content if isinstance(content, str) else content.decode(), markup=False)
