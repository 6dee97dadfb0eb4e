"""The access audit (issue 14): every read of a course, an application or an uploaded document -
on a page, through the API, the CLI or the municipality's own link - is one row in `accesslog`
(who, what, when, from where; never what was shown). Admins list it and export it as CSV
(`/adgangslog`, `forloeb access-log`).

One small INSERT per read, on its own connection and transaction. The dashboard writes it as a
background task of the request, after the response has been sent, so pages are not slower (the
commit costs a few milliseconds on SQLite); the CLI writes it before printing."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import insert
from sqlmodel import col, select

from core.clock import COPENHAGEN, as_utc, format_local, now
from core.db import get_engine, session_scope
from core.errors import InvalidInput
from models.tables import AccessKind, AccessLog, AccessVia

KIND_LABELS = {
    AccessKind.COURSE: "forløb",
    AccessKind.APPLICATION: "ansøgning",
    AccessKind.DOCUMENT: "dokument",
}
VIA_LABELS = {
    AccessVia.PAGE: "side",
    AccessVia.API: "API",
    AccessVia.CLI: "CLI",
    AccessVia.LINK: "kommunens link",
}
MAX_ROWS = 5000
"""The most rows one listing returns (the CSV export takes every row that matches)."""


def record_read(kind: AccessKind, object_id: int, actor: str, via: AccessVia) -> None:
    """Log one read. A plain INSERT (no ORM session): the cheapest write there is."""
    with get_engine().begin() as connection:
        connection.execute(
            insert(AccessLog).values(
                at=now(), actor=actor[:200], kind=kind.value, object_id=object_id, via=via.value
            )
        )


def cli_actor() -> str:
    """Who reads from the command line: the operating system's user."""
    import getpass

    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@dataclass(frozen=True)
class AccessFilters:
    kind: AccessKind | None = None
    object_id: int | None = None
    """With `kind`: one course, application or document."""
    actor: str | None = None
    since: date | None = None
    until: date | None = None
    """Copenhagen days, both included."""


@dataclass(frozen=True)
class AccessRow:
    id: int
    at: datetime
    actor: str
    kind: AccessKind
    object_id: int
    via: AccessVia

    @property
    def when(self) -> str:
        return format_local(self.at)

    @property
    def what(self) -> str:
        return f"{KIND_LABELS[self.kind]} {self.object_id}"

    @property
    def where(self) -> str:
        return VIA_LABELS[self.via]

    @property
    def href(self) -> str | None:
        if self.kind == AccessKind.COURSE:
            return f"/forloeb/{self.object_id}"
        if self.kind == AccessKind.APPLICATION:
            return f"/ansoegninger/{self.object_id}"
        return None


def parse_kind(value: str | None) -> AccessKind | None:
    if not value:
        return None
    for kind, text in KIND_LABELS.items():
        if value in (kind.value, text):
            return kind
    raise InvalidInput(f"Ukendt slags: {value!r}. Brug forløb, ansøgning eller dokument.")


def parse_day(value: str | None, what: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{what} skal være en dato som 2026-03-03.") from None


def day_start(day: date) -> datetime:
    """Midnight in Copenhagen, as UTC (stored timestamps are UTC; SQLite compares them as text)."""
    return datetime.combine(day, time.min, tzinfo=COPENHAGEN).astimezone(UTC)


def list_reads(filters: AccessFilters, *, limit: int | None = MAX_ROWS) -> list[AccessRow]:
    """The reads that match, newest first."""
    statement = select(AccessLog).order_by(col(AccessLog.at).desc(), col(AccessLog.id).desc())
    if filters.kind is not None:
        statement = statement.where(AccessLog.kind == filters.kind)
    if filters.object_id is not None:
        statement = statement.where(AccessLog.object_id == filters.object_id)
    if filters.actor:
        statement = statement.where(AccessLog.actor == filters.actor)
    if filters.since is not None:
        statement = statement.where(col(AccessLog.at) >= day_start(filters.since))
    if filters.until is not None:
        statement = statement.where(col(AccessLog.at) < day_start(filters.until + timedelta(days=1)))
    if limit is not None:
        statement = statement.limit(limit)
    with session_scope() as session:
        return [
            AccessRow(
                id=row.id or 0,
                at=as_utc(row.at),
                actor=row.actor,
                kind=AccessKind(row.kind),
                object_id=row.object_id,
                via=AccessVia(row.via),
            )
            for row in session.exec(statement)
        ]


def actors() -> list[str]:
    """Everyone who appears in the log (the page's filter)."""
    with session_scope() as session:
        return sorted(session.exec(select(AccessLog.actor).distinct()))


def to_csv(rows: Iterable[AccessRow]) -> str:
    """`;`-separated with a header, as the other exports (Danish Excel)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(["tidspunkt", "hvem", "slags", "nummer", "hvorfra"])
    for row in rows:
        writer.writerow([row.when, row.actor, KIND_LABELS[row.kind], row.object_id, row.where])
    return out.getvalue()
