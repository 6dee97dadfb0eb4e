"""Outage or defect? The one place that tells an infrastructure failure from a bug.

A course must survive outages: the Prefect server or the database not answering, a mail server
that refuses. Those are retried and healed, and never mark a course *fejlet*. Anything else (a
defect in a programme definition or in the code) does, with a plain Danish reason.

Classified by class names along the exception chain (``__cause__``/``__context__``), so this
module imports none of httpx, SQLAlchemy, smtplib or Prefect.
"""

from __future__ import annotations

INFRASTRUCTURE_CLASSES = frozenset(
    {
        # network and OS
        "ConnectionError",
        "TimeoutError",
        "BrokenPipeError",
        "ConnectionRefusedError",
        "ConnectionResetError",
        "socket.gaierror",
        # httpx (the Prefect client) and Prefect's own wrapper of it
        "TransportError",
        "TimeoutException",
        "NetworkError",
        "RemoteProtocolError",
        # databases (SQLAlchemy): "database is locked", connection lost, server gone
        "OperationalError",
        "InterfaceError",
        "DisconnectionError",
        # mail
        "SMTPException",
        "SMTPServerDisconnected",
        "SMTPConnectError",
        # our own: the Prefect server does not answer
        "OrchestratorUnavailable",
    }
)
RETRYABLE_HTTP_STATUS = frozenset({408, 409, 423, 429, 500, 502, 503, 504})
"""HTTP answers from the Prefect API that mean "try again later", not "you asked wrongly"
(409 is SQLite's "database is locked" surfacing as a conflict on some endpoints)."""


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 20:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def is_infrastructure(exc: BaseException) -> bool:
    """True when `exc` (or what caused it) is an outage: worth retrying, never a course failure."""
    for error in _chain(exc):
        names = {cls.__name__ for cls in type(error).__mro__}
        if names & INFRASTRUCTURE_CLASSES:
            return True
        if "HTTPStatusError" in names:
            status = getattr(getattr(error, "response", None), "status_code", None)
            if status in RETRYABLE_HTTP_STATUS:
                return True
    return False


def describe_defect(exc: BaseException | None, fallback: str = "") -> str:
    """A plain Danish reason for a course that stopped on a defect (what a consultant reads)."""
    detail = f"{type(exc).__name__}: {str(exc)[:300]}" if exc else (fallback.strip() or "ukendt fejl")
    return (
        "Forløbet stoppede på grund af en fejl i programmets definition eller i koden, ikke et "
        f"driftsproblem ({detail}). Kontakt en udvikler; når fejlen er rettet, genoptages forløbet "
        "med 'forloeb course resume' eller knappen på siden Driftsstatus."
    )
