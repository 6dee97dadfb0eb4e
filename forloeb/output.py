"""What every `forloeb` command shares: the consoles, Danish errors with their exit codes, set-up."""

from __future__ import annotations

import typer
from rich.console import Console

from core.errors import ForloebError

console = Console()
err_console = Console(stderr=True)


def fail(error: ForloebError) -> typer.Exit:
    """The one place errors become CLI output: `Fejl: ...` (no traceback), one line per problem
    when the error lists them (a form), and the error's exit code (see `core.errors`)."""
    lines = error.details if isinstance(error.details, list) else []
    if lines and all(isinstance(line, str) for line in lines):
        err_console.print(f"[bold red]Fejl:[/] {error.message.splitlines()[0]}", highlight=False)
        for line in lines:
            err_console.print(f"  - {line}", highlight=False)
    else:
        err_console.print(f"[bold red]Fejl:[/] {error.message}", highlight=False)
    return typer.Exit(error.exit_code)


def ready() -> None:
    """The app database is at the code's schema revision (`models.schema`): two small queries when
    it is, a migration when it is behind, and a refusal (exit 7) when a newer forloeb migrated it."""
    from core import redact
    from models.schema import upgrade_to_head

    redact.install()  # no secret, e-mail or CPR number in what the command logs
    try:
        done = upgrade_to_head()
    except ForloebError as error:
        raise fail(error) from None
    if done.changed:
        err_console.print(f"Databasen er opdateret til skemaversion {done.after}.", highlight=False)
