"""`forloeb` command line. Commands that do not need Prefect never import it."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from forloeb.cli_output import console, err_console
from forloeb.cli_output import fail as _fail
from forloeb.cli_output import ready as _ready
from forloeb.clock import format_local
from forloeb.errors import ForloebError
from forloeb.labels import label

app = typer.Typer(
    help="Rådgivningsforløb for kommuner: start, følg og drive forløb fra kommandolinjen.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.command("kommuner")
def kommuner(
    search: Annotated[
        str | None, typer.Option("--search", "-s", help="Del af navn, region eller kode")
    ] = None,
) -> None:
    """Vis kommunerne (98, uden Christiansø)."""
    from forloeb import service

    _ready()
    rows = service.list_municipalities(search)
    table = Table("Kode", "Kommune", "Region", title=f"Kommuner ({len(rows)})")
    for row in rows:
        table.add_row(str(row.code), row.name, row.region)
    console.print(table)


@app.command("start")
def start(
    kommune: Annotated[str, typer.Argument(help="Kommunens navn eller kode, fx 'Aarhus' eller 751")],
    programme: Annotated[str, typer.Option("--programme", "-p", help="Program")] = "minoritetsetniske",
    consultant: Annotated[str, typer.Option("--consultant", "-c", help="Konsulentens navn")] = "",
    start_date: Annotated[
        str | None, typer.Option("--start-date", help="Startdato, fx 2026-03-02 (standard: i dag)")
    ] = None,
) -> None:
    """Start et forløb for en kommune (én Prefect flow-kørsel)."""
    from forloeb import service
    from forloeb.settings import flow_run_url

    _ready()
    try:
        parsed = _parse_date(start_date) if start_date else None
        course = service.start_course(kommune, programme, consultant, parsed)
    except ForloebError as error:
        raise _fail(error) from None
    console.print(f"[green]Forløb {course.id} er startet[/] ({programme}, start {course.start_date}).")
    console.print(f"Prefect: {flow_run_url(course.flow_run_id)}")


def _parse_date(text: str) -> date:
    from forloeb.errors import InvalidInput

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"'{text}' er ikke en dato. Skriv den som ÅÅÅÅ-MM-DD, fx 2026-03-02.") from None


@app.command("status")
def status(course: Annotated[int | None, typer.Argument(help="Forløbets nummer")] = None) -> None:
    """Hvor står forløbene: fase, dage i fasen og næste opgave."""
    from forloeb import service

    _ready()
    try:
        rows = service.course_summaries(course)
    except ForloebError as error:
        raise _fail(error) from None
    table = Table(
        "Nr", "Kommune", "Program", "Konsulent", "Status", "Fase", "Dage i fase", "Næste opgave", "Frist"
    )
    for row in rows:
        stage = f"{row.stage_position}/{row.stage_count} {row.stage_name}" if row.stage_name else "-"
        task = row.next_task
        due = ""
        if task is not None:
            due = task.due_date.isoformat()
            if row.overdue_tasks:
                due = f"[red]{due} (overskredet)[/]"
        table.add_row(
            str(row.id),
            row.municipality,
            row.programme,
            row.consultant,
            label(row.status),
            stage,
            "" if row.days_in_stage is None else str(row.days_in_stage),
            f"#{task.id} {task.title}" if task else "",
            due,
        )
    console.print(table)
    if course is not None and rows:
        _print_course_detail(course)


def _print_course_detail(course_id: int) -> None:
    from forloeb import service
    from forloeb.settings import flow_run_url

    stages = Table("Fase", "Planlagt", "Faktisk", "Status", title="Faser")
    for run in service.stage_runs(course_id):
        actual = ""
        if run.actual_start:
            actual = format_local(run.actual_start)[:10]
            actual += " - " + (format_local(run.actual_end)[:10] if run.actual_end else "")
        stages.add_row(
            f"{run.position}. {run.name}",
            f"{run.planned_start} - {run.planned_end}",
            actual,
            label(run.status),
        )
    console.print(stages)
    meetings = service.course_meetings(course_id)
    if meetings:
        table = Table("Møde", "Tidspunkt", "Sted", "Status", title="Møder")
        for meeting in meetings:
            table.add_row(
                meeting.title, format_local(meeting.planned_at), meeting.location, label(meeting.status)
            )
        console.print(table)
    course = service.get_course(course_id)
    console.print(f"Prefect: {flow_run_url(course.flow_run_id)}")


@app.command("tasks")
def tasks(
    course: Annotated[int | None, typer.Option("--course", help="Kun dette forløb")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="Kun overskredne opgaver")] = False,
    all_: Annotated[bool, typer.Option("--all", help="Også udførte opgaver")] = False,
) -> None:
    """Åbne opgaver, ældste frist først."""
    from forloeb import service
    from forloeb.clock import today

    _ready()
    rows = service.list_tasks(course_id=course, overdue=overdue, include_done=all_)
    table = Table(
        "Opgave", "Forløb", "Kommune", "Titel", "Hvem", "Frist", "Status", title=f"Opgaver ({len(rows)})"
    )
    day = today()
    for task, kommune in rows:
        due = task.due_date.isoformat()
        if task.status == "aaben" and task.due_date < day:
            due = f"[red]{due}[/]"
        table.add_row(
            str(task.id),
            str(task.course_id),
            kommune,
            task.title,
            label(task.assignee_role),
            due,
            label(task.status),
        )
    console.print(table)


task_app = typer.Typer(help="En enkelt opgave.", no_args_is_help=True)
app.add_typer(task_app, name="task")


@task_app.command("show")
def task_show(task_id: Annotated[int, typer.Argument(help="Opgavens nummer")]) -> None:
    """Vis en opgave, dens formular og et eksempel på svar."""
    from forloeb import service
    from models.forms import get_form

    _ready()
    try:
        task = service.get_task(task_id)
    except ForloebError as error:
        raise _fail(error) from None
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


@app.command("complete")
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
    from forloeb import service
    from forloeb.errors import InvalidInput

    _ready()
    try:
        answer = _read_answer(data, file)
        task = service.complete_task(task_id, answer, actor=actor, course_id=course)
    except ForloebError as error:
        if isinstance(error, InvalidInput) and error.details and isinstance(error.details, list):
            err_console.print("[bold red]Fejl:[/] Formularen er ikke gyldig:", highlight=False)
            for line in error.details:
                err_console.print(f"  - {line}", highlight=False)
            raise typer.Exit(error.exit_code) from None
        raise _fail(error) from None
    console.print(f"[green]Opgave {task.id} er udført[/] ({task.title}). Forløb {task.course_id} fortsætter.")


def _read_answer(data: str | None, file: Path | None) -> dict[str, Any]:
    from forloeb.errors import InvalidInput

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


@app.command("demo")
def demo() -> None:
    """Opret demoforløb i forskellige faser (kræver at runneren kører: make run)."""
    from forloeb import demo as demo_module

    _ready()
    try:
        created = demo_module.create_demo_courses()
    except ForloebError as error:
        raise _fail(error) from None
    if not created:
        console.print("Demoforløbene findes allerede.")
    for line in created:
        console.print(f"[green]✓[/] {line}")


@app.command("seed")
def seed() -> None:
    """Indlæs de 98 kommuner i databasen (sker også ved make run)."""
    from forloeb import service
    from forloeb.settings import PROJECT_ROOT

    _ready()
    count = service.seed_municipalities(PROJECT_ROOT / "data" / "kommuner.csv")
    console.print(f"{count} kommuner indlæst.")


from forloeb import cli_notifications  # noqa: E402  (meetings, notifications, preview, dev mailbox)

app.add_typer(cli_notifications.meeting_app, name="meeting")
app.add_typer(cli_notifications.notifications_app, name="notifications")
app.command("preview")(cli_notifications.preview)
app.command("dev-mailbox")(cli_notifications.dev_mailbox)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
