"""Masking in log lines and error messages (`core.redact`), and that it reaches every logger once
installed: a record's own message, its arguments, arguments that are objects, and tracebacks."""

from __future__ import annotations

import logging

import pytest

from core import redact
from core.links import make_task_token


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        (
            "mailtos://forloeb:Hemmelig-42@smtp.example.dk?from=x@example.dk",
            "mailtos://forloeb:***@",
            "Hemmelig-42",
        ),
        ("postgresql+psycopg://forloeb:pw-9876@db:5432/forloeb", "forloeb:***@db", "pw-9876"),
        ("json://hooks.example/x?token=abc123def&y=1", "token=***&y=1", "abc123def"),
        ("Mail til leder@kommune.example sendt", "l***@kommune.example", "leder@"),
        ("Sagen 010190-1234 og 01.01.90 1234", "XXXXXX-XXXX og XXXXXX-XXXX", "1234"),
        ("Authorization: Bearer abcdef123456", "Authorization: Bearer ***", "abcdef123456"),
        ("Cookie: session=eyJhIjoxfQ.Zx1.abc; theme=dark", "session=***; theme=dark", "eyJhIjoxfQ"),
        ("Cookie: forloeb_session=eyJhIjoxfQ.Zx1.abc", "forloeb_session=***", "eyJhIjoxfQ"),
        ("GET /evaluering/AbCdEfGhIjKlMnOpQrStUvWx HTTP/1.1", "/evaluering/*** HTTP/1.1", "AbCdEfGh"),
        ("token flb_abcdefgh1234567890abcdefghijk", "flb_abcdefgh…", "1234567890abc"),
        ("GET /netvaerk/oversigt 200", "/netvaerk/oversigt", "***"),
        (
            "notifications.compose.enqueue_stage_messages",
            "notifications.compose.enqueue_stage_messages",
            "***",
        ),
        ("+45 12 34 56 78, 2026-03-03 10:00, sag-07", "+45 12 34 56 78, 2026-03-03 10:00, sag-07", "***"),
        ("run 904ef2bc-425b-4ff6-a06a-ab0101901234 ok", "run 904ef2bc-425b-4ff6-a06a-ab0101901234 ok", "XXX"),
        ("uid c0ffee0101901234abcdef0123456789 ok", "uid c0ffee0101901234abcdef0123456789 ok", "XXX"),
    ],
)
def test_redact_masks_secrets_tokens_emails_and_cpr_numbers(text: str, kept: str, gone: str) -> None:
    masked = redact.redact(text)
    assert kept in masked and gone not in masked, masked


def test_signed_links_and_registered_secrets_are_masked() -> None:
    token = make_task_token(7, 3)
    assert token not in redact.redact(f"link {token} udløber")
    assert redact.redact(f"/k/{token}") == "/k/***"
    redact.register_secret("det-hemmelige-ord")
    assert redact.redact("nøglen er det-hemmelige-ord.") == "nøglen er ***."


def test_installed_masking_reaches_messages_arguments_objects_and_tracebacks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    redact.install()
    log = logging.getLogger("forloeb.test.redact")

    class Url:
        def __str__(self) -> str:
            return "mailtos://u:pw-1234567@smtp.example.dk"

    with caplog.at_level(logging.DEBUG):
        log.info("til leder@kommune.example")
        log.info("til %s om %s", "faglig@kommune.example", "010190-1234")
        log.warning("forbinder til %s", Url())
        try:
            raise RuntimeError("login afvist for mailtos://u:pw-1234567@smtp.example.dk")
        except RuntimeError:
            log.exception("fejl")
        uvicorn_like = ("127.0.0.1:5000", "GET", "/k/" + make_task_token(1, 1), "1.1", 200)
        log.info('%s - "%s %s HTTP/%s" %d', *uvicorn_like)
    text = caplog.text
    assert "leder@" not in text and "faglig@" not in text and "010190-1234" not in text
    assert "pw-1234567" not in text and "l***@kommune.example" in text
    assert "Traceback" in text and "RuntimeError" in text
    record = caplog.records[-1]
    assert isinstance(record.args, tuple) and len(record.args) == 5  # formatters that read args still work
    assert record.args[2] == "/k/***"


def test_sqlalchemy_never_logs_statements_or_parameters(caplog: pytest.LogCaptureFixture) -> None:
    from sqlmodel import text

    from core.db import get_engine, session_scope

    redact.install()
    assert not get_engine().echo and get_engine().hide_parameters is True
    with caplog.at_level(logging.DEBUG), session_scope() as session:
        session.execute(text("SELECT :x"), {"x": "leder@kommune.example"})
    assert not [r for r in caplog.records if r.name.startswith("sqlalchemy")]
