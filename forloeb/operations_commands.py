"""`forloeb doctor [--fix]` and `forloeb course resume N`: courses whose app database and Prefect
state disagree, explained in Danish, and repaired on request (every repair is audited)."""

from __future__ import annotations

from typing import Annotated

import typer

from core.errors import ForloebError
from forloeb.output import console, err_console, fail, ready
from forloeb.table import Table

course_app = typer.Typer(help="Et enkelt forløb: genoptag det, når det sidder fast.", no_args_is_help=True)


def doctor(
    fix: Annotated[bool, typer.Option("--fix", help="Ret det, der kan rettes (revideres i loggen)")] = False,
    course: Annotated[int | None, typer.Option("--course", help="Kun dette forløb")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Som JSON")] = False,
    actor: Annotated[str, typer.Option("--as", help="Hvem retter (til loggen)")] = "cli",
) -> None:
    """Find forløb, hvor app-databasen og Prefect er uenige, og forklar hvad der sker; tjek mailopsætningen.

    Exit 0 når alt er i orden (eller rettet), 1 når der er noget, der kræver handling."""
    from services import recovery

    ready()
    try:
        diagnosis = recovery.diagnose(course)
    except ForloebError as error:
        raise fail(error) from None
    from notifications.send import smtp_problem

    mail_problem = smtp_problem()
    if mail_problem:
        err_console.print(f"[bold red]Mail:[/] {mail_problem}", highlight=False)
    if as_json:
        console.print_json(diagnosis.model_dump_json())
    else:
        console.print(
            f"{diagnosis.courses_checked} forløb undersøgt, {diagnosis.live_runners} runner(e) kører, "
            f"{len(diagnosis.findings)} fund."
        )
        if diagnosis.findings:
            table = Table("Forløb", "Kommune", "Problem", "Hvad der sker", "Af sig selv")
            for finding in diagnosis.findings:
                table.add_row(
                    str(finding.course_id or ""),
                    finding.municipality,
                    finding.explanation,
                    finding.remedy,
                    "ja" if finding.automatic else "nej",
                )
            console.print(table)
    if not diagnosis.findings:
        if mail_problem:
            raise typer.Exit(1)
        return
    if not fix:
        err_console.print("Ret med 'forloeb doctor --fix' (eller vent: de automatiske rettes af runneren).")
        raise typer.Exit(1)
    unresolved = 0
    for finding in diagnosis.findings:
        try:
            done = recovery.repair(finding, actor=actor)
            console.print(f"[green]Forløb {finding.course_id}:[/] {done}.")
        except ForloebError as error:
            unresolved += 1
            err_console.print(f"[red]Forløb {finding.course_id or '-'}:[/] {error.message}", highlight=False)
    if unresolved or mail_problem:
        raise typer.Exit(1)


@course_app.command("resume")
def course_resume(
    course_id: Annotated[int, typer.Argument(help="Forløbets nummer")],
    actor: Annotated[str, typer.Option("--as", help="Hvem genoptager (til loggen)")] = "cli",
) -> None:
    """Genoptag et forløb, der sidder fast (også et fejlet, når fejlen er rettet)."""
    from services import recovery

    ready()
    try:
        done = recovery.resume_course(course_id, actor=actor)
    except ForloebError as error:
        raise fail(error) from None
    if not done:
        console.print(f"Forløb {course_id} er i orden: det venter, hvor det skal, eller kører allerede.")
    for line in done:
        console.print(f"[green]Forløb {course_id}:[/] {line}.")
