"""`forloeb programmes list|show|validate|diff` and `forloeb course migrate`: programme versions as
data, and moving a waiting course to a newer version of its programme."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from core.errors import ForloebError
from forloeb.output import console, err_console, fail, ready
from forloeb.table import Table

programmes_app = typer.Typer(
    help="Programmer og deres versioner (definitionsfiler i models/definitions).", no_args_is_help=True
)


@programmes_app.command("list")
def list_programmes() -> None:
    """Alle programversioner, hvor mange forløb der kører på hver, og filer der er afvist."""
    from services import programmes

    ready()
    table = Table("Program", "Version", "Spor", "Faser", "Forløb (aktive)")
    for row in programmes.list_versions():
        table.add_row(
            row.key,
            f"{row.version}{' nyeste' if row.newest else ''}",
            " + ".join(row.tracks),
            str(row.stages),
            f"{row.all_courses} ({row.active_courses})",
        )
    console.print(table)
    for path, problems in programmes.refused_files().items():
        err_console.print(
            f"[red]Afvist:[/] {path} ({len(problems)} problem(er); se 'forloeb programmes validate')"
        )


@programmes_app.command("show")
def show(
    key: Annotated[str, typer.Argument(help="Programmets nøgle, fx inddragelse")],
    version: Annotated[int | None, typer.Argument(help="Version (standard: den nyeste)")] = None,
) -> None:
    """Et programs spor, faser og trin, med hvem der gør hvad."""
    from services import programmes

    try:
        programme = programmes.get_version(key, version)
    except ForloebError as error:
        raise fail(error) from None
    console.print(f"[bold]{programme.name}[/] ({programme.key} version {programme.version})", highlight=False)
    console.print(programme.description, highlight=False)
    roles = ", ".join(
        f"{r.name} ({r.key}, svarer via {'login' if r.answers == 'login' else 'link'})"
        for r in programme.roles
    )
    console.print(f"Roller: {roles}", highlight=False)
    for track in programme.tracks:
        console.print(
            f"\n[bold]Spor: {track.name}[/] (ansvarlig: {programme.role(track.owner).name})", highlight=False
        )
        table = Table("#", "Fase", "Uger", "Venter på", "Trin (rolle)")
        for position, stage in enumerate(track.stages, start=1):
            waits = [programme.stage(k).name for k in stage.after]
            if stage.starts:
                waits.append(f"{stage.starts.months} mdr. efter {stage.starts.after}")
            steps = "; ".join(f"{s.title.format(n='n')} ({s.assignee})" for s in stage.steps)
            if stage.repeat:
                steps = f"{stage.repeat.minimum}-{stage.repeat.maximum} gange: {steps}"
            table.add_row(str(position), stage.name, str(stage.planned_weeks), ", ".join(waits) or "-", steps)
        console.print(table)


@programmes_app.command("validate")
def validate(path: Annotated[Path, typer.Argument(help="En definitionsfil (YAML, format 2)")]) -> None:
    """Tjek en definitionsfil: alle problemer med linjenummer. Exit 0 når den er gyldig, ellers 2."""
    from services import programmes

    try:
        programme, problems = programmes.validate_file(path)
    except ForloebError as error:
        raise fail(error) from None
    if programme is not None:
        console.print(
            f"[green]{path.name} er gyldig:[/] {programme.key} version {programme.version}, "
            f"{len(programme.tracks)} spor, {len(programme.stages)} faser.",
            highlight=False,
        )
        return
    err_console.print(
        f"[bold red]{path.name} er ikke gyldig[/] ({len(problems)} problem(er)):", highlight=False
    )
    for problem in problems:
        err_console.print(f"  - {problem}", highlight=False)
    raise typer.Exit(2)


@programmes_app.command("diff")
def diff(
    key: Annotated[str, typer.Argument(help="Programmets nøgle")],
    old: Annotated[int, typer.Argument(help="Fra version")],
    new: Annotated[int, typer.Argument(help="Til version")],
) -> None:
    """Hvad der er ændret fra en version til en anden (+ tilføjet, - fjernet, ~ ændret)."""
    from services import programmes

    try:
        lines = programmes.diff(key, old, new)
    except ForloebError as error:
        raise fail(error) from None
    if not lines:
        console.print(f"Ingen forskel på {key} version {old} og {new}.")
    for line in lines:
        console.print(line, highlight=False, markup=False)


@programmes_app.command("bpmn")
def bpmn_export(
    key: Annotated[str, typer.Argument(help="Programmets nøgle, fx inddragelse")],
    version: Annotated[int | None, typer.Option("--version", help="Version (standard: den nyeste)")] = None,
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Skriv til filen (standard: skærmen)")
    ] = None,
) -> None:
    """Programversionen som BPMN 2.0 XML med diagram (til Camunda Modeler og bpmn.io)."""
    from services import bpmn, programmes

    try:
        programme = programmes.get_version(key, version)
    except ForloebError as error:
        raise fail(error) from None
    xml = bpmn.export(programme)
    if output is None:
        sys.stdout.buffer.write(xml)
        sys.stdout.buffer.flush()
        return
    output.write_bytes(xml)
    err_console.print(
        f"Skrev {output} ({programme.key} version {programme.version}, {len(xml)} bytes).",
        highlight=False,
    )


def migrate(
    course_id: Annotated[int, typer.Argument(help="Forløbets nummer")],
    to_version: Annotated[int, typer.Option("--to-version", help="Den version forløbet flyttes til")],
    actor: Annotated[str, typer.Option("--as", help="Hvem flytter (til loggen)")] = "cli",
) -> None:
    """Flyt et ventende forløb til en anden version af dets program (når det, der er gjort, passer)."""
    from services import programmes

    ready()
    try:
        done = programmes.migrate_course(course_id, to_version, actor=actor)
    except ForloebError as error:
        raise fail(error) from None
    console.print(f"[green]{done}[/]", highlight=False)
