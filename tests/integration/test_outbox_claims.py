"""At most once, never silently lost: the outbox claims a row before sending it.

A real SMTP server and a real sender process that is killed the moment its mail has been accepted:
the crash window no outbox can close by ordering commits alone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from typer.testing import CliRunner

from core.clock import frozen, now
from core.errors import Conflict
from core.settings import get_settings
from notifications import compose, outbox
from tests.support.factories import LEADER, make_course
from tests.support.mail import SmtpServer

SENDER = """
import sys
from notifications import outbox
outbox.deliver(int(sys.argv[1]))
print("returned")
"""


def _leader_invitation() -> int:
    _course_id, meeting_id = make_course()
    ids = compose.enqueue_meeting_message(meeting_id, "moede_invitation")
    [leader] = [i for i in ids if outbox.get_row(i).recipient == LEADER]
    return leader


def _kill_sender_once_accepted(smtp: SmtpServer, sender: list[subprocess.Popen[str]]) -> None:
    """The SMTP server stores the mail, then kills the sender before it hears "250 OK"."""
    accept = smtp.mailbox.handle_DATA

    async def accept_then_kill(server: Any, session: Any, envelope: Any) -> str:
        reply = await accept(server, session, envelope)
        while not sender:
            time.sleep(0.01)
        os.kill(sender[0].pid, signal.SIGKILL)
        sender[0].wait()
        return reply

    smtp.mailbox.handle_DATA = accept_then_kill  # type: ignore[method-assign]


def _crash_mid_send(smtp: SmtpServer, notification_id: int) -> None:
    sender: list[subprocess.Popen[str]] = []
    _kill_sender_once_accepted(smtp, sender)
    sender.append(
        subprocess.Popen(
            [sys.executable, "-c", SENDER, str(notification_id)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )
    out, _err = sender[0].communicate(timeout=60)
    assert sender[0].returncode == -signal.SIGKILL and "returned" not in out
    smtp.mailbox.handle_DATA = type(smtp.mailbox).handle_DATA.__get__(smtp.mailbox)  # type: ignore[method-assign]


def test_a_send_interrupted_after_the_server_accepted_it_is_never_sent_again_on_its_own(
    smtp: SmtpServer,
) -> None:
    notification_id = _leader_invitation()
    _crash_mid_send(smtp, notification_id)
    assert len(smtp.mailbox.to(LEADER)) == 1
    row = outbox.get_row(notification_id)
    assert row.status == "sending" and not outbox.is_uncertain(row)

    later = now() + timedelta(seconds=get_settings().send_claim_stale_seconds + 1)
    with frozen(later):
        # A rerun (course flow replay, retried reminder run) does not send it again ...
        with pytest.raises(outbox.DeliveryUncertain, match="måske sendt"):
            outbox.deliver(notification_id)
        row = outbox.get_row(notification_id)
        assert outbox.is_uncertain(row) and outbox.status_label(row) == "Måske sendt"
        assert [r.id for r in outbox.list_rows(failed=True)] == [notification_id]
        assert outbox.failed_ids() == []  # not in --all-failed: each needs a person's decision
        # ... nor does a plain retry ...
        with pytest.raises(Conflict, match=r"retry .* --force"):
            outbox.retry(notification_id)
        assert len(smtp.mailbox.to(LEADER)) == 1
        # ... only a person who checked and forces it.
        assert outbox.retry(notification_id, force=True) is True
    assert outbox.get_row(notification_id).status == "sent"
    assert len(smtp.mailbox.to(LEADER)) == 2
    with pytest.raises(Conflict, match="allerede sendt"):
        outbox.retry(notification_id, force=True)


def test_a_fresh_claim_is_not_taken_even_by_force(smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    notification_id = _leader_invitation()
    _crash_mid_send(smtp, notification_id)
    with pytest.raises(Conflict, match="lige nu"):
        outbox.retry(notification_id, force=True)
    monkeypatch.setattr(outbox, "_WAIT_FOR_OTHER_SENDER", 0.2)
    with pytest.raises(outbox.DeliveryUncertain, match="anden proces"):
        outbox.deliver(notification_id, force=True)
    assert len(smtp.mailbox.to(LEADER)) == 1


def test_two_senders_at_once_send_one_mail(smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch) -> None:
    from notifications import send

    notification_id = _leader_invitation()
    real_send = send.send_message

    def slow_send(**message: Any) -> None:
        time.sleep(0.5)  # both senders are inside deliver() at the same time
        real_send(**message)

    monkeypatch.setattr(send, "send_message", slow_send)
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(outbox.deliver(notification_id))) for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert results == [True, True]  # the second waited for the first and saw it sent
    assert len(smtp.mailbox.to(LEADER)) == 1
    assert outbox.get_row(notification_id).attempts == 1


def test_cli_shows_a_perhaps_sent_row_and_resends_it_only_with_force(smtp: SmtpServer) -> None:
    from forloeb.cli import app

    notification_id = _leader_invitation()
    _crash_mid_send(smtp, notification_id)
    runner = CliRunner(env={"COLUMNS": "250"})
    with frozen(now() + timedelta(seconds=get_settings().send_claim_stale_seconds + 1)):
        listed = runner.invoke(app, ["notifications", "--failed"])
        assert listed.exit_code == 0 and "Måske sendt" in listed.output
        refused = runner.invoke(app, ["notifications", "retry", str(notification_id)])
        assert refused.exit_code == 4 and "--force" in refused.output
        assert runner.invoke(app, ["notifications", "retry", "--all-failed", "--force"]).exit_code == 2
        forced = runner.invoke(app, ["notifications", "retry", str(notification_id), "--force"])
        assert forced.exit_code == 0, forced.output
    assert len(smtp.mailbox.to(LEADER)) == 2


def test_an_unexpected_error_before_sending_is_a_failed_attempt_not_a_lost_claim(
    smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """E.g. Apprise refusing the .ics attachment's MIME type: nothing was sent, so the row is
    failed with the error and can be retried, not left 'sending' (perhaps sent)."""
    from notifications import send

    notification_id = _leader_invitation()
    real_send = send.send_message

    def refuse(**message: Any) -> None:
        raise TypeError("An invalid mime-type (text/calendar) was specified.")

    monkeypatch.setattr(send, "send_message", refuse)
    with pytest.raises(outbox.DeliveryFailed):
        outbox.deliver(notification_id)
    row = outbox.get_row(notification_id)
    assert row.status == "failed" and row.attempts == 3
    assert row.last_error == "TypeError: An invalid mime-type (text/calendar) was specified."
    monkeypatch.setattr(send, "send_message", real_send)
    assert outbox.retry(notification_id) is True
    assert len(smtp.mailbox.to(LEADER)) == 1
