"""Developer commands, beside `make run`: `uv run python -m devtools demo|mailbox [N]`.

Not part of the `forloeb` command (devtools is not shipped): they create demo courses and read the
mails the `make run` SMTP sink received.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from core.clock import format_local
from core.errors import ForloebError, NotFound
from forloeb.output import console, fail, ready

app = typer.Typer(
    help="Udviklerværktøjer til make run.", no_args_is_help=True, pretty_exceptions_enable=False
)


@app.command("demo")
def demo() -> None:
    """Opret demoforløb i forskellige faser (kræver at runneren kører: make run)."""
    from devtools import demo as demo_module

    ready()
    try:
        created = demo_module.create_demo_courses()
    except ForloebError as error:
        raise fail(error) from None
    if not created:
        console.print("Demoforløbene findes allerede.")
    for line in created:
        console.print(f"[green]✓[/] {line}")


def mailbox_dir() -> Path:
    from core.settings import get_settings

    return get_settings().data_dir / "mailbox"


def _read_mail(path: Path) -> EmailMessage:
    message = message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


@app.command("mailbox")
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
        raise fail(NotFound(f"Der er ingen mail nummer {show} (der er {len(files)})."))
    mail = _read_mail(files[show - 1])
    console.print(f"Til: {mail['To']}\nFra: {mail['From']}\nEmne: {mail['Subject']}\n", markup=False)
    body = mail.get_body(preferencelist=("plain", "html"))
    console.print(body.get_content() if body else "", markup=False, highlight=False)
    for attachment in mail.iter_attachments():
        console.print(f"\n--- bilag: {attachment.get_filename()} ---", markup=False)
        content = attachment.get_content()
        console.print(content if isinstance(content, str) else content.decode(), markup=False)
