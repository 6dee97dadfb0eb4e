"""`forloeb doctor` checks the mail setting too (issue 14): plain SMTP to a remote server is a
finding (exit 1), with the reason and without the password."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from core.settings import get_settings

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_doctor_reports_plain_smtp_to_a_remote_server(monkeypatch: pytest.MonkeyPatch) -> None:
    from forloeb.cli import app

    runner = CliRunner()
    assert runner.invoke(app, ["doctor"]).exit_code == 0  # the tests' loopback SMTP is fine
    monkeypatch.setenv(
        "FORLOEB_SMTP_URL", "mailto://forloeb:pw-123456@smtp.example.dk:25?from=forloeb@example.dk"
    )
    get_settings.cache_clear()
    result = runner.invoke(app, ["doctor"])
    assert result.exit_code == 1 and "uden kryptering" in result.output and "pw-123456" not in result.output
    monkeypatch.setenv("FORLOEB_SMTP_ALLOW_PLAIN", "1")
    get_settings.cache_clear()
    assert runner.invoke(app, ["doctor"]).exit_code == 0
