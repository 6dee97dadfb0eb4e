"""`forloeb meeting ...`, `forloeb notifications ...`, `forloeb preview`, and the dev mailbox
(`python -m devtools mailbox`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from core.clock import frozen
from forloeb.cli import app
from notifications import compose, outbox
from tests.support.factories import LEADER, make_course
from tests.support.mail import SmtpServer

runner = CliRunner(env={"COLUMNS": "250"})
FEB = datetime(2026, 2, 2, 12, tzinfo=UTC)


def cli(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.output


@pytest.mark.usefixtures("prefect_server")
def test_meeting_plan_move_cancel(smtp: SmtpServer) -> None:
    course_id, meeting_id = make_course()
    with frozen(FEB):
        code, out = cli("meeting", "plan", str(course_id), "--kind", "formoede", "--at", "2026-03-03 10:00")
        assert code == 0, out
        assert "Beskeder sendt: 2" in out and "Planlagte påmindelseskørsler: 2" in out
        code, out = cli("meeting", "move", str(meeting_id), "--to", "2026-06-05 10:00")
        assert code == 2 and "ikke en arbejdsdag (Grundlovsdag)" in out
        code, out = cli("meeting", "move", "4242", "--to", "2026-03-04 10:00")
        assert code == 3 and "Mødet 4242 findes ikke" in out
        code, out = cli("meeting", "move", str(meeting_id), "--to", "2026-03-04 10:00")
        assert code == 0 and "flyttet" in out, out
        code, out = cli("meeting", "cancel", str(meeting_id))
        assert code == 0 and "aflyst" in out
        code, out = cli("meeting", "cancel", str(meeting_id))
        assert code == 4 and "aflyst og kan ikke ændres" in out
    subjects = [m.subject.split(":")[0] for m in smtp.mailbox.to(LEADER)]
    assert subjects == ["Invitation", "Flyttet", "Aflyst"]


def test_notifications_list_and_retry(smtp: SmtpServer) -> None:
    _course_id, meeting_id = make_course()
    smtp.stop()
    ids = compose.enqueue_meeting_message(meeting_id, "moede_invitation")
    for one in ids:
        with pytest.raises(outbox.DeliveryFailed):
            outbox.deliver(one)
    code, out = cli("notifications", "--failed")
    assert code == 0 and "Beskeder (2)" in out and "Fejlet" in out
    code, out = cli("notifications", "retry", str(ids[0]))
    assert code == 6 and "fejlede igen" in out
    smtp.start()
    code, out = cli("notifications", "retry", "--all-failed")
    assert code == 0 and out.count("er sendt") == 2
    code, out = cli("notifications", "retry", str(ids[0]))
    assert code == 4 and "allerede sendt" in out and "sendes ikke igen" in out
    code, out = cli("notifications", "retry", "--all-failed")
    assert code == 0 and "Ingen fejlede beskeder" in out
    assert len(smtp.mailbox.received) == 2
    code, out = cli("notifications")
    assert "Beskeder (2)" in out and out.count("Sendt") == 2


def test_preview_prints_the_rendered_mail() -> None:
    course_id, _ = make_course()
    code, out = cli("preview", "moede_invitation", "--course", str(course_id))
    assert code == 0, out
    assert "Emne: Invitation: Workshop 1 tirsdag den 3. marts 2026 kl. 10.00" in out
    assert "Kære Fiktiv Leder" in out and "I inviteres" in out
    code, out = cli("preview", "ukendt", "--course", str(course_id))
    assert code == 2 and "Ukendt skabelon" in out


def test_dev_mailbox_lists_received_mail(monkeypatch: pytest.MonkeyPatch) -> None:
    from devtools.mailbox import DevMailbox
    from notifications.send import send_message
    from tests.support.mail import free_port

    port = free_port()
    box = DevMailbox("127.0.0.1", port)
    box.start()
    try:
        monkeypatch.setenv("FORLOEB_SMTP_URL", f"mailto://127.0.0.1:{port}?from=forloeb@localhost")
        from core.settings import get_settings

        get_settings.cache_clear()
        send_message(channel="mail", recipient=LEADER, subject="Prøve", text="t", html="<p>h</p>", ics=None)
    finally:
        box.stop()
    from devtools.commands import app as devtools_app

    def dev(*args: str) -> tuple[int, str]:
        result = runner.invoke(devtools_app, list(args))
        return result.exit_code, result.output

    code, out = dev("mailbox")
    assert code == 0 and "Prøve" in out and LEADER in out
    code, out = dev("mailbox", "1")
    assert code == 0 and "Emne: Prøve" in out


def test_consultant_preferences_are_set_from_the_cli() -> None:
    from core.db import session_scope
    from models.tables import ConsultantPreference

    code, out = cli("notifications", "consultant", "Konsulent K", "--email", "kk@styrelsen.example")
    assert code == 0 and "kk@styrelsen.example" in out and "mail ved faseskift: nej" in out
    code, out = cli("notifications", "consultant", "Konsulent K", "--stage-summary")
    assert code == 0 and "kk@styrelsen.example" in out and "mail ved faseskift: ja" in out
    code, out = cli("notifications", "consultant", "Konsulent K", "--email", " ")
    assert code == 0 and "(standard)" in out
    with session_scope() as session:
        pref = session.get(ConsultantPreference, "Konsulent K")
        assert pref is not None and pref.email is None and pref.stage_summary
