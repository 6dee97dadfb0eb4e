"""Mail to an SMTP server that is not on this machine goes only over TLS (issue 14): the setting is
refused when the runner starts, by `forloeb doctor` and at every send, unless
FORLOEB_SMTP_ALLOW_PLAIN says plain SMTP is meant; the loopback (the tests' server, `make run`'s
mailbox) stays allowed. `forloeb doctor`: tests/integration/test_doctor_mail.py."""

from __future__ import annotations

import pytest

from core.settings import get_settings
from notifications.send import SendError, send_message, smtp_problem

REMOTE_PLAIN = "mailto://forloeb:pw-123456@smtp.example.dk:25?from=forloeb@example.dk"


@pytest.mark.parametrize(
    "url",
    [
        REMOTE_PLAIN,
        "mailto://smtp.example.dk?from=forloeb@example.dk",
        "mailto://10.0.0.5:2525?from=forloeb@example.dk",
        "mailto://forloeb:pw@example.dk?smtp=mail.example.dk&from=forloeb@example.dk",
    ],
)
def test_remote_smtp_without_tls_is_refused(url: str) -> None:
    problem = smtp_problem(url, allow_plain=False)
    assert (
        problem is not None and "uden kryptering (TLS)" in problem and "FORLOEB_SMTP_ALLOW_PLAIN" in problem
    )
    assert "pw-123456" not in problem


@pytest.mark.parametrize(
    "url",
    [
        "mailtos://forloeb:pw@smtp.example.dk?from=forloeb@example.dk",  # STARTTLS
        "mailtos://forloeb:pw@smtp.example.dk:465?mode=ssl&from=forloeb@example.dk",  # SMTPS
        "mailto://forloeb:pw@smtp.example.dk?mode=starttls&from=forloeb@example.dk",
    ],
)
def test_remote_smtp_with_tls_is_accepted(url: str) -> None:
    assert smtp_problem(url, allow_plain=False) is None


def test_allow_plain_is_honoured() -> None:
    assert smtp_problem(REMOTE_PLAIN, allow_plain=True) is None


@pytest.mark.parametrize(
    "url",
    [
        "mailto://127.0.0.1:8025?from=forloeb@localhost",
        "mailto://localhost:2525?from=forloeb@localhost",
        "mailto://[::1]:2525?from=forloeb@localhost",
    ],
)
def test_loopback_is_allowed_without_tls(url: str) -> None:
    assert smtp_problem(url, allow_plain=False) is None


def test_not_a_mail_url_is_a_config_error() -> None:
    assert "mailto://" in (smtp_problem("json://hooks.example/x", allow_plain=False) or "")


def test_the_send_path_refuses_instead_of_sending_in_plain_text(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORLOEB_SMTP_URL", REMOTE_PLAIN)
    get_settings.cache_clear()
    with pytest.raises(SendError, match="uden kryptering") as refused:
        send_message(channel="mail", recipient="leder@kommune.example", subject="s", text="t", html="")
    assert "pw-123456" not in str(refused.value)
    monkeypatch.setenv("FORLOEB_SMTP_ALLOW_PLAIN", "1")
    get_settings.cache_clear()
    assert smtp_problem() is None
