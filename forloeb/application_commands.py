"""`forloeb rounds|applications|application show|decide`: applications for courses (issue 13)."""

from __future__ import annotations

from datetime import date
from typing import Annotated

import typer

from core.errors import ForloebError
from core.labels import label
from forloeb.output import console, fail, ready
from forloeb.privacy_commands import log_cli_read
from forloeb.table import Table

application_app = typer.Typer(help="Én ansøgning.", no_args_is_help=True)


def rounds() -> None:
    """Ansøgningsrunderne (programmer med runder): åbner, frist, foretrukken opstart, ansøgninger."""
    from services import applications

    ready()
    table = Table("Program", "Runde", "Navn", "Åbner", "Frist", "Opstart fra", "Åben", "Ansøgninger")
    for row in applications.list_rounds():
        table.add_row(
            row.programme,
            row.key,
            row.name,
            row.opens_on.isoformat(),
            row.deadline.isoformat(),
            row.preferred_start.isoformat(),
            "ja" if row.is_open else "",
            str(row.applications),
        )
    console.print(table)
    for definition in applications.intake_programmes():
        assert definition.intake is not None
        if definition.intake.mode == "continuous":
            console.print(f"{definition.key}: løbende optag", highlight=False)


def list_applications(
    round_key: Annotated[str | None, typer.Option("--round", help="Runde, fx 2026-foraar")] = None,
    status: Annotated[
        str | None, typer.Option("--status", help="submitted, assessment, accepted ...")
    ] = None,
    programme: Annotated[str | None, typer.Option("--programme", "-p", help="Program")] = None,
) -> None:
    """Ansøgningerne, rangeret pr. program og runde: minimumskriterier, point, prioritet."""
    from services import applications

    ready()
    try:
        rows = applications.list_applications(round_key=round_key, status=status, programme=programme)
    except ForloebError as error:
        raise fail(error) from None
    table = Table(
        "Nr",
        "Kommune",
        "Program",
        "Runde",
        "Status",
        "Min.krit.",
        "Point",
        "Prio",
        "Rang",
        "Ønsket start",
        "Start",
    )
    for row in rows:
        table.add_row(
            str(row.id),
            row.municipality,
            row.programme,
            row.round_key or "løbende",
            label(row.status),
            "✓" if row.gate_ok else "✗",
            "" if row.score is None else f"{row.score:.1f}",
            str(row.priority),
            str(row.rank),
            row.preferred_start.isoformat(),
            row.start_date.isoformat() if row.start_date else "",
        )
    console.print(table)


@application_app.command("show")
def show(number: Annotated[int, typer.Argument(help="Ansøgningens nummer")]) -> None:
    """Én ansøgning: svar, dokumenter, vurderinger, afgørelse og breve."""
    from core.clock import format_local
    from core.settings import flow_run_url
    from services import applications, intake

    ready()
    try:
        d = applications.application_detail(number)
    except ForloebError as error:
        raise fail(error) from None
    log_cli_read("application", number)
    a, row = d.application, d.row
    console.print(f"[bold]Ansøgning {a.id}[/]: {row.municipality}, {d.programme_name}", highlight=False)
    console.print(
        f"Status: {label(a.status)} · runde: {row.round_key or 'løbende'} · "
        f"modtaget {format_local(a.submitted_at)}"
    )
    console.print(
        f"Ønsket start: {a.preferred_start} · prioritet {row.priority} · rang {row.rank}", highlight=False
    )
    if row.recent_help:
        console.print("Nylig bistand: " + "; ".join(row.recent_help), highlight=False)
    console.print(
        "Minimumskriterier: " + ("opfyldt" if row.gate_ok else "mangler " + "; ".join(row.missing)),
        highlight=False,
    )
    if a.decision:
        extra = f", start {a.start_date} ({a.slot})" if a.start_date else ""
        reason = f": {intake.REJECT_REASONS.get(a.reject_reason or '', '')}" if a.reject_reason else ""
        console.print(f"Afgørelse: {label(a.decision)}{extra}{reason} · {a.decided_by}", highlight=False)
    if d.allocation is not None:
        console.print(
            f"Kapacitet: plads i {d.allocation.period.name} fra {d.allocation.start}"
            + (" (udskudt)" if d.allocation.deferred else ""),
            highlight=False,
        )
    if a.course_id:
        console.print(f"Forløb: {a.course_id}")
    console.print(f"Prefect: {flow_run_url(a.flow_run_id)}")
    answers = Table("Spørgsmål", "Svar", title="Svar")
    for key, value in a.answers.items():
        if key == "kontaktpersoner":
            value = "; ".join(f"{p['navn']} ({p['rolle']}, {p['email']})" for p in value)
        answers.add_row(key, str(value))
    console.print(answers)
    docs = Table("Nr", "Type", "Fil", "Størrelse", "Uploadet af", title="Dokumenter")
    for doc in d.documents:
        docs.add_row(
            str(doc.id), intake.DOCUMENT_KINDS[doc.kind], doc.filename, f"{doc.size} B", doc.uploaded_by
        )
    console.print(docs)
    if d.scores:
        scores = Table("Konsulent", "Kriterium", "Point", "Note", title="Vurderinger")
        for s in d.scores:
            scores.add_row(s.consultant, intake.CRITERIA.get(s.criterion, s.criterion), str(s.score), s.note)
        console.print(scores)
    letters = Table("Nr", "Brev", "Til", "Status", title="Breve")
    for n in d.letters:
        letters.add_row(str(n.id), label(n.purpose), n.recipient, label(n.status))
    console.print(letters)


def decide(
    number: Annotated[int, typer.Argument(help="Ansøgningens nummer")],
    decision: Annotated[str, typer.Argument(help="accept, defer eller reject")],
    start: Annotated[str | None, typer.Option("--start", help="Startdato, fx 2026-09-01")] = None,
    slot: Annotated[
        str | None, typer.Option("--slot", help="Periode ved udskydelse, fx 2027-H1 eller 2027")
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Ved afslag: minimum, udenfor eller ledelse")
    ] = None,
    consultant: Annotated[str, typer.Option("--consultant", "-c", help="Konsulenten, der får forløbet")] = "",
    actor: Annotated[str, typer.Option("--as", help="Hvem træffer afgørelsen")] = "",
) -> None:
    """Træf afgørelse: optag (med startdato), udskyd (til en senere periode) eller giv afslag."""
    from core.errors import InvalidInput
    from services import applications

    ready()
    try:
        try:
            start_date = date.fromisoformat(start) if start else None
        except ValueError:
            raise InvalidInput(f"'{start}' er ikke en dato. Skriv den som ÅÅÅÅ-MM-DD.") from None
        who = actor or consultant or "cli"
        done = applications.decide(
            number,
            decision,
            actor=who,
            consultant=consultant,
            start_date=start_date,
            slot=slot,
            reason=reason,
        )
    except ForloebError as error:
        raise fail(error) from None
    if done.start_date:
        console.print(
            f"[green]Ansøgning {number}: {label(decision).lower()}[/], start {done.start_date} ({done.slot})."
        )
    else:
        console.print(f"[green]Ansøgning {number}: {label(decision).lower()}[/].")
    console.print("Afgørelsesbrevet sendes af ansøgningens kørsel.")


@application_app.command("start-now")
def start_now(
    number: Annotated[int, typer.Argument(help="Ansøgningens nummer")],
    actor: Annotated[str, typer.Option("--as", help="Hvem")] = "cli",
) -> None:
    """Start en optaget ansøgnings forløb i dag i stedet for på startdatoen."""
    from services import applications

    ready()
    try:
        applications.start_now(number, actor=actor)
    except ForloebError as error:
        raise fail(error) from None
    console.print(f"[green]Ansøgning {number}: forløbet startes nu.[/]")


@application_app.command("talk")
def talk(
    kommune: Annotated[str, typer.Argument(help="Kommunen")],
    programme: Annotated[str, typer.Option("--programme", "-p")] = "inddragelse",
    held_on: Annotated[str | None, typer.Option("--date", help="Dato (standard: i dag)")] = None,
    actor: Annotated[str, typer.Option("--as", help="Hvem")] = "cli",
) -> None:
    """Registrér en indledende drøftelse med kommunen (krævet før en ansøgning til inddragelse)."""
    from core.clock import today
    from core.errors import InvalidInput
    from services import applications

    ready()
    try:
        try:
            day = date.fromisoformat(held_on) if held_on else today()
        except ValueError:
            raise InvalidInput(f"'{held_on}' er ikke en dato. Skriv den som ÅÅÅÅ-MM-DD.") from None
        applications.register_intro_talk(kommune, programme, day, actor=actor)
    except ForloebError as error:
        raise fail(error) from None
    console.print(f"[green]Indledende drøftelse registreret[/] ({kommune}, {programme}, {day}).")
