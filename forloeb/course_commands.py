"""`forloeb kommuner|start|status|tasks|task show|complete|seed`: courses and their tasks."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from core.clock import format_local
from core.errors import ForloebError
from core.labels import label
from forloeb.output import console, err_console, fail, ready
from forloeb.privacy_commands import log_cli_read
from forloeb.table import Table

if TYPE_CHECKING:
    from services.read_model import CourseDetail

courses_app = typer.Typer()


@courses_app.command("kommuner")
def kommuner(
    search: Annotated[
        str | None, typer.Option("--search", "-s", help="Del af navn, region eller kode")
    ] = None,
) -> None:
    """Vis kommunerne (98, uden Christiansø)."""
    from services import municipalities

    ready()
    rows = municipalities.list_municipalities(search)
    if not rows and not municipalities.list_municipalities():
        csv_path = municipalities.bundled_csv()
        count = municipalities.seed_municipalities(csv_path)
        err_console.print(f"Databasen havde ingen kommuner; {count} er nu indlæst fra {csv_path.name}.")
        rows = municipalities.list_municipalities(search)
    table = Table("Kode", "Kommune", "Region", title=f"Kommuner ({len(rows)})")
    for row in rows:
        table.add_row(str(row.code), row.name, row.region)
    console.print(table)


@courses_app.command("start")
def start(
    kommune: Annotated[str, typer.Argument(help="Kommunens navn eller kode, fx 'Aarhus' eller 751")],
    programme: Annotated[str, typer.Option("--programme", "-p", help="Program")] = "minoritetsetniske",
    consultant: Annotated[str, typer.Option("--consultant", "-c", help="Konsulentens navn")] = "",
    start_date: Annotated[
        str | None, typer.Option("--start-date", help="Startdato, fx 2026-03-02 (standard: i dag)")
    ] = None,
) -> None:
    """Start et forløb for en kommune (én Prefect flow-kørsel)."""
    from core.settings import flow_run_url
    from services import courses

    ready()
    try:
        parsed = _parse_date(start_date) if start_date else None
        course = courses.start_course(kommune, programme, consultant, parsed)
    except ForloebError as error:
        raise fail(error) from None
    console.print(f"[green]Forløb {course.id} er startet[/] ({programme}, start {course.start_date}).")
    console.print(f"Prefect: {flow_run_url(course.flow_run_id)}")


def _parse_date(text: str) -> date:
    from core.errors import InvalidInput

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"'{text}' er ikke en dato. Skriv den som ÅÅÅÅ-MM-DD, fx 2026-03-02.") from None


@courses_app.command("status")
def status(course: Annotated[int | None, typer.Argument(help="Forløbets nummer")] = None) -> None:
    """Hvor står forløbene: fase, dage i fasen og næste opgave."""
    from services.read_model import OverviewFilters, course_detail, overview

    ready()
    try:
        if course is not None:
            detail = course_detail(course)  # NotFound for an unknown number
            log_cli_read("course", course)
        rows = overview(OverviewFilters(course_id=course, page_size=None)).rows
    except ForloebError as error:
        raise fail(error) from None
    table = Table(
        "Nr", "Kommune", "Program", "Konsulent", "Status", "Fase", "Dage i fase", "Næste opgave", "Frist"
    )
    for row in rows:
        # "4/6 Udviklingsarbejde · Børns Vilkår: Træningsdag 2": the main track's stage, then every
        # other track's active stage; one track: the stage as always.
        stage = f"{row.stage_position}/{row.stage_count} {row.stage_text}" if row.stage_position else "-"
        due = row.next_task_due.isoformat() if row.next_task_due else ""
        if due and row.overdue_tasks:
            due = f"[red]{due} (overskredet)[/]"
        table.add_row(
            str(row.id),
            row.municipality,
            row.programme,
            row.consultant,
            label(row.status),
            stage,
            "" if row.days_in_stage is None else str(row.days_in_stage),
            f"#{row.next_task_id} {row.next_task_title}" if row.next_task_id else "",
            due,
        )
    console.print(table)
    if course is not None:
        _print_course_detail(detail)


def course_show(course: Annotated[int, typer.Argument(help="Forløbets nummer")]) -> None:
    """Et forløb: hvor hvert spor står, faseplan (planlagt og faktisk), møder og Prefect-link."""
    from services.read_model import course_detail

    ready()
    try:
        detail = course_detail(course)
    except ForloebError as error:
        raise fail(error) from None
    log_cli_read("course", course)
    c = detail.course
    name = detail.programme.name if detail.programme else c.programme
    console.print(f"[bold]Forløb {c.id}:[/] {detail.municipality.name}, {name} ({label(c.status)})")
    days = f" ({detail.days_in_stage} dage)" if detail.days_in_stage is not None else ""
    console.print(f"Fase: {detail.stage_text or '-'}{days}")
    console.print(f"Konsulent: {c.consultant}, start {c.start_date}, åbne opgaver {detail.open_tasks}")
    _print_course_detail(detail)


def _print_course_detail(detail: CourseDetail) -> None:
    from core.settings import flow_run_url

    several = len(detail.tracks) > 1
    if several:
        tracks = Table("Spor", "Fase", "Står", title="Spor")
        for track in detail.tracks:
            if track.state == "done":
                where, state = "", "afsluttet"
            else:
                where = f"{track.position}/{track.count} {track.stage_name}"
                if track.round_name:
                    where += f" · {track.round_name}"
                state = "i gang" if track.state == "active" else (track.waiting or "venter")
            tracks.add_row(track.track_name, where, state)
        console.print(tracks)
    names = {t.key: t.name for t in detail.programme.tracks} if detail.programme else {}
    lane_column = ("Spor",) if several else ()
    stages = Table(*lane_column, "Fase", "Planlagt", "Faktisk", "Status", title="Faser")
    for run in detail.stages:
        actual = ""
        if run.actual_start:
            actual = format_local(run.actual_start)[:10]
            actual += " - " + (format_local(run.actual_end)[:10] if run.actual_end else "")
        cells = [f"{run.position}. {run.name}", f"{run.planned_start} - {run.planned_end}", actual]
        lane = [names.get(run.track, run.track)] if several else []
        stages.add_row(*lane, *cells, label(run.status))
    console.print(stages)
    if detail.meetings:
        table = Table("Møde", "Tidspunkt", "Sted", "Status", title="Møder")
        for meeting in detail.meetings:
            table.add_row(
                meeting.title, format_local(meeting.planned_at), meeting.location, label(meeting.status)
            )
        console.print(table)
    console.print(f"Prefect: {flow_run_url(detail.course.flow_run_id)}")


@courses_app.command("tasks")
def tasks(
    course: Annotated[int | None, typer.Option("--course", help="Kun dette forløb")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Kun overskredne opgaver")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Også udførte opgaver")] = False,
) -> None:
    """Åbne opgaver, overskredne først, så tidligste frist."""
    from services.read_model import task_inbox

    ready()
    rows, total = task_inbox(course_id=course, overdue_only=overdue, include_done=all_, limit=None)
    table = Table(
        "Opgave", "Forløb", "Kommune", "Titel", "Hvem", "Frist", "Status", title=f"Opgaver ({total})"
    )
    for row in rows:
        task = row.task
        due = task.due_date.isoformat()
        table.add_row(
            str(task.id),
            str(row.course_id),
            row.municipality,
            task.title,
            label(task.assignee_role),
            f"[red]{due}[/]" if row.overdue else due,
            label(task.status),
        )
    console.print(table)


task_app = typer.Typer(help="En enkelt opgave.", no_args_is_help=True)


@task_app.command("show")
def task_show(task_id: Annotated[int, typer.Argument(help="Opgavens nummer")]) -> None:
    """Vis en opgave, dens formular og et eksempel på svar."""
    from models.forms import get_form
    from services import read_model

    ready()
    try:
        task = read_model.get_task(task_id)
    except ForloebError as error:
        raise fail(error) from None
    console.print(f"[bold]Opgave {task.id}:[/] {task.title}")
    console.print(
        f"Forløb {task.course_id}, fase {task.stage_key}, til {task.assignee_role}, frist {task.due_date}"
    )
    console.print(f"Status: {label(task.status)}")
    if task.answer is not None:
        console.print(f"Udført af {task.completed_by} {format_local(task.completed_at)}")
        console.print_json(json.dumps(task.answer, ensure_ascii=False))
        return
    table = Table("Felt", "Beskrivelse", "Type", "Påkrævet", title=f"Formular '{task.kind}'")
    form = get_form(task.kind)
    for name, field in form.model_fields.items():
        table.add_row(
            name, field.title or "", _type_name(field.annotation), "ja" if field.is_required() else "nej"
        )
    console.print(table)
    console.print(f"Udfør med: forloeb complete {task.id} --data '{{...}}'  (eller --file svar.json)")


def _type_name(annotation: Any) -> str:
    text = getattr(annotation, "__name__", None) or str(annotation)
    return text.replace("typing.", "").replace("models.forms.", "")


@courses_app.command("complete")
def complete(
    task_id: Annotated[int, typer.Argument(help="Opgavens nummer")],
    data: Annotated[str | None, typer.Option("--data", "-d", help="Svaret som JSON")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="Fil med svaret som JSON ('-' = stdin)")
    ] = None,
    course: Annotated[
        int | None, typer.Option("--course", help="Kontrollér at opgaven hører til forløbet")
    ] = None,
    actor: Annotated[str, typer.Option("--as", help="Hvem udfører opgaven")] = "cli",
) -> None:
    """Udfør en opgave: svaret valideres mod formularen, og forløbet genoptages."""
    from services import courses

    ready()
    try:
        answer = _read_answer(data, file)
        task = courses.complete_task(task_id, answer, actor=actor, course_id=course)
    except ForloebError as error:
        raise fail(error) from None
    console.print(f"[green]Opgave {task.id} er udført[/] ({task.title}). Forløb {task.course_id} fortsætter.")


def _read_answer(data: str | None, file: Path | None) -> dict[str, Any]:
    from core.errors import InvalidInput

    if (data is None) == (file is None):
        raise InvalidInput("Angiv svaret med enten --data '{...}' eller --file svar.json.")
    if file is not None:
        try:
            data = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
        except OSError as exc:
            raise InvalidInput(f"Kan ikke læse {file}: {exc.strerror}.") from None
    try:
        parsed = json.loads(data or "")
    except json.JSONDecodeError as exc:
        raise InvalidInput(f"Svaret er ikke gyldig JSON (linje {exc.lineno}, kolonne {exc.colno}).") from None
    if not isinstance(parsed, dict):
        raise InvalidInput('Svaret skal være et JSON-objekt, fx {"felt": "værdi"}.')
    return parsed


@courses_app.command("seed")
def seed() -> None:
    """Indlæs de 98 kommuner i databasen (sker også ved make run)."""
    from services import municipalities

    ready()
    count = municipalities.seed_municipalities(municipalities.bundled_csv())
    console.print(f"{count} kommuner indlæst.")
