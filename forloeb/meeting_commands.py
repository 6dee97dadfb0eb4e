"""`forloeb meeting plan|move|cancel`: meetings with their invitations and reminder runs."""

from __future__ import annotations

from typing import Annotated

import typer

from core.errors import ForloebError
from forloeb.output import console, ready
from forloeb.output import fail as _fail

_ready = ready

meeting_app = typer.Typer(help="Møder: planlæg, flyt og aflys (med invitationer og påmindelser).")


def _report(change: object, verb: str) -> None:
    from core.clock import format_local
    from services.meetings import MeetingChange

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
    from services import meetings

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
    from services import meetings

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
    from services import meetings

    _ready()
    try:
        change = meetings.cancel_meeting(meeting_id, actor=actor)
    except ForloebError as error:
        raise _fail(error) from None
    _report(change, "aflyst")
