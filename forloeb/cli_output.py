"""What every `forloeb` command shares: the consoles, Danish errors with their exit codes, set-up."""

from __future__ import annotations

import typer
from rich.console import Console

from forloeb.errors import ForloebError

console = Console()
err_console = Console(stderr=True)


def fail(error: ForloebError) -> typer.Exit:
    """Print `Fejl: ...` (no traceback) and exit with the error's code."""
    err_console.print(f"[bold red]Fejl:[/] {error.message}", highlight=False)
    return typer.Exit(error.exit_code)


def ready() -> None:
    """The app tables exist (cheap when they do)."""
    from forloeb.db import create_tables

    create_tables()
