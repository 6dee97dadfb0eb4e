"""The `forloeb` command: the root Typer app and where each group of commands lives.

Commands import services, Prefect and the database only inside their bodies, so `forloeb --help`
and the commands that only read the app database start fast (`bench/cli.py` times them).
"""

from __future__ import annotations

import gc

import typer

from forloeb import (
    application_commands,
    course_commands,
    db_commands,
    meeting_commands,
    network_commands,
    notification_commands,
    operations_commands,
    privacy_commands,
    programme_commands,
    token_commands,
)

app = typer.Typer(
    help="Rådgivningsforløb for kommuner: start, følg og drive forløb fra kommandolinjen.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.registered_commands += course_commands.courses_app.registered_commands
app.add_typer(course_commands.task_app, name="task")
app.add_typer(meeting_commands.meeting_app, name="meeting")
app.add_typer(notification_commands.notifications_app, name="notifications")
app.command("preview")(notification_commands.preview)
app.add_typer(db_commands.db_app, name="db")
app.command("doctor")(operations_commands.doctor)
operations_commands.course_app.command("show")(course_commands.course_show)
operations_commands.course_app.command("migrate")(programme_commands.migrate)
app.add_typer(operations_commands.course_app, name="course")
app.add_typer(programme_commands.programmes_app, name="programmes")
app.command("rounds")(application_commands.rounds)
app.command("applications")(application_commands.list_applications)
app.command("decide")(application_commands.decide)
app.add_typer(application_commands.application_app, name="application")
app.add_typer(network_commands.network_app, name="network")
app.add_typer(token_commands.token_app, name="token")
app.command("purge")(privacy_commands.purge)
app.command("erase-contact")(privacy_commands.erase_contact)
app.command("access-log")(privacy_commands.access_log_command)


def main() -> None:
    """The `forloeb` command (the console script and `python -m forloeb`)."""
    # A command lives for a moment, yet its imports (SQLAlchemy, pydantic, typer, rich) leave
    # ~80,000 long-lived objects that the cyclic garbage collector walks again and again while
    # they are created: ~10 % of `forloeb status`. Reference counting frees the rest, and the
    # process ends.
    gc.disable()
    app()


if __name__ == "__main__":
    main()
