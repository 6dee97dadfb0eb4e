"""Outage or defect: what is retried and healed, and what marks a course failed."""

from __future__ import annotations

import smtplib
import sqlite3

import httpx
import pytest
from sqlalchemy.exc import OperationalError

from core.errors import Conflict, OrchestratorUnavailable
from core.faults import describe_defect, is_infrastructure


def _status_error(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("POST", "http://127.0.0.1:4200/api/flow_runs/x/set_state")
    return httpx.HTTPStatusError("boom", request=request, response=httpx.Response(status, request=request))


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("connection refused"),
        httpx.ReadTimeout("slow"),
        OperationalError("UPDATE course", {}, sqlite3.OperationalError("database is locked")),
        smtplib.SMTPServerDisconnected("gone"),
        ConnectionRefusedError(111, "refused"),
        OrchestratorUnavailable("Prefect-serveren svarer ikke"),
        _status_error(503),
        _status_error(409),
    ],
    ids=lambda e: type(e).__name__,
)
def test_outages_are_infrastructure(exc: BaseException) -> None:
    assert is_infrastructure(exc)


@pytest.mark.parametrize(
    "exc",
    [
        RuntimeError("strømmen gik"),
        KeyError("tidspunkt"),
        ValueError("bad"),
        Conflict("x"),
        _status_error(422),
    ],
    ids=lambda e: type(e).__name__,
)
def test_defects_are_not(exc: BaseException) -> None:
    assert not is_infrastructure(exc)


def test_an_outage_wrapped_in_another_error_is_still_an_outage() -> None:
    try:
        try:
            raise httpx.ConnectError("refused")
        except httpx.ConnectError as inner:
            raise RuntimeError("could not schedule reminders") from inner
    except RuntimeError as outer:
        assert is_infrastructure(outer)


def test_a_defect_is_described_in_danish_with_what_to_do() -> None:
    text = describe_defect(KeyError("tidspunkt"))
    assert "fejl i programmets definition eller i koden" in text
    assert "KeyError" in text and "forloeb course resume" in text
