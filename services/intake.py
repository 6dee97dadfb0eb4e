"""The rules of intake, pure (no database, no clock): application rounds from a programme's
`intake:` settings, capacity periods and allocation with deferral, the minimum-criteria gate and
priority. `services.applications` reads the database and applies them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from core.workdays import next_working_day
from models.programmes import CapacityDef, IntakeDef, RoundDef

# --- rounds ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Round:
    key: str
    """'2026-foraar': the year the round opens and the round's key."""
    name: str
    opens_on: date
    deadline: date
    preferred_start: date

    def is_open(self, day: date) -> bool:
        return self.opens_on <= day <= self.deadline


def _on(year: int, month_day: str) -> date:
    month, day = (int(part) for part in month_day.split("-"))
    return date(year, month, day)


def round_in(definition: RoundDef, year: int) -> Round:
    opens, deadline = _on(year, definition.opens), _on(year, definition.deadline)
    start = _on(year, definition.preferred_start)
    if start <= deadline:  # the preferred start is the first such day after the deadline
        start = _on(year + 1, definition.preferred_start)
    return Round(
        f"{year}-{definition.key}",
        f"{definition.name} {year}",
        opens,
        deadline,
        _working(start),
    )


def rounds_around(intake: IntakeDef, day: date) -> list[Round]:
    """The rounds of last year, this year and next year, in time order."""
    found = [round_in(r, year) for year in (day.year - 1, day.year, day.year + 1) for r in intake.rounds]
    return sorted(found, key=lambda r: r.opens_on)


def open_round(intake: IntakeDef, day: date) -> Round | None:
    return next((r for r in rounds_around(intake, day) if r.is_open(day)), None)


def next_round(intake: IntakeDef, day: date) -> Round | None:
    return next((r for r in rounds_around(intake, day) if r.opens_on > day), None)


# --- capacity periods ------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    key: str
    """'2026-H1', '2026-H2' (half-years) or '2026' (years)."""
    first_day: date
    last_day: date

    @property
    def name(self) -> str:
        if "-H" in self.key:
            year, half = self.key.split("-H")
            return f"{'1.' if half == '1' else '2.'} halvår {year}"
        return self.key


def period_of(day: date, per: Literal["half-year", "year"]) -> Period:
    if per == "year":
        return Period(str(day.year), date(day.year, 1, 1), date(day.year, 12, 31))
    if day.month <= 6:
        return Period(f"{day.year}-H1", date(day.year, 1, 1), date(day.year, 6, 30))
    return Period(f"{day.year}-H2", date(day.year, 7, 1), date(day.year, 12, 31))


def following(period: Period, per: Literal["half-year", "year"]) -> Period:
    return period_of(date.fromordinal(period.last_day.toordinal() + 1), per)


def parse_period(key: str, per: Literal["half-year", "year"]) -> Period | None:
    """'2026-H2' or '2026' as a period of this kind, or None when it is not one."""
    key = key.strip().upper()
    try:
        if per == "year" and key.isdigit() and len(key) == 4:
            return period_of(date(int(key), 1, 1), per)
        if per == "half-year" and len(key) == 7 and key[4:6] == "-H" and key[6] in "12":
            return period_of(date(int(key[:4]), 1 if key[6] == "1" else 7, 1), per)
    except ValueError:
        return None
    return None


def _working(day: date) -> date:
    return next_working_day(day)


def slot_start(period: Period) -> date:
    """Where a course deferred to `period` starts: its first working day."""
    return _working(period.first_day)


@dataclass(frozen=True)
class Allocation:
    period: Period
    start: date
    deferred: bool
    """The wished period was full: the start is moved to a later period."""


def allocate(
    preferred: date, used: Mapping[str, int], capacity: CapacityDef, *, horizon: int = 20
) -> Allocation:
    """The first period from the preferred start's with a free slot. In the wished period the
    course starts on the preferred day; in a later one on that period's first working day: over
    capacity an application is deferred, never refused."""
    period = period_of(preferred, capacity.per)
    for step in range(horizon):
        if used.get(period.key, 0) < capacity.courses:
            return Allocation(period, _working(preferred) if step == 0 else slot_start(period), step > 0)
        period = following(period, capacity.per)
    raise ValueError("ingen ledig plads inden for horisonten")


def allocate_many(
    wishes: Iterable[tuple[Any, date]], used: Mapping[str, int], capacity: CapacityDef
) -> dict[Any, Allocation]:
    """Allocate applications in the order given (the ranking): each takes a slot, so the later
    ones are deferred across periods as the earlier ones fill them."""
    counts = dict(used)
    result: dict[Any, Allocation] = {}
    for ident, preferred in wishes:
        allocation = allocate(preferred, counts, capacity)
        counts[allocation.period.key] = counts.get(allocation.period.key, 0) + 1
        result[ident] = allocation
    return result


# --- minimum criteria, priority, scores ------------------------------------------------------

REFERAT = "referat"
UNDERSKRIFT = "underskrift"
DOCUMENT_KINDS = {
    REFERAT: "Referat fra ledelsesmøde",
    UNDERSKRIFT: "Underskrevet erklæring fra direktør eller centerchef",
}


def missing_minimum(document_kinds: Iterable[str], answers: Mapping[str, Any]) -> list[str]:
    """What keeps an application from the minimum criteria (seed 002): the minutes of a leadership
    meeting, and the signature of a director or centre chief (the signed PDF, and who signed,
    with title and date). Empty: the gate is passed."""
    kinds = set(document_kinds)
    missing = []
    if REFERAT not in kinds:
        missing.append("referat fra et ledelsesmøde (PDF)")
    if UNDERSKRIFT not in kinds:
        missing.append("underskrevet erklæring fra direktør eller centerchef (PDF)")
    if not all(answers.get(k) for k in ("underskriver_navn", "underskriver_titel", "underskrevet_dato")):
        missing.append("underskriverens navn, titel og dato")
    return missing


HELP_SCHEMES = {
    "task_force": "Den permanente Task Force",
    "vold_overgreb": "Socialstyrelsens rådgivning om vold og seksuelle overgreb",
    "viso_aere": "VISO: æresrelaterede konflikter og negativ social kontrol",
    "siri": "SIRI: ekstremisme og æresrelaterede konflikter",
}


def recent_help(prior_help: Iterable[Mapping[str, Any]], today: date, lookback_years: int) -> list[str]:
    """The schemes the municipality had help from within the look-back (this year and the
    `lookback_years` before it)."""
    since = today.year - lookback_years
    return [
        HELP_SCHEMES.get(str(h.get("ordning")), str(h.get("ordning")))
        for h in prior_help
        if h.get("ordning") in HELP_SCHEMES and isinstance(h.get("aar"), int) and h["aar"] >= since
    ]


def priority(recent: Iterable[str], had_course_recently: bool) -> int:
    """1: no recent help from the agencies (comes first, seeds 002 and 004); 2: recent help."""
    return 2 if list(recent) or had_course_recently else 1


CRITERIA = {
    "motivation": "Motivation",
    "udfordring": "Udfordringer inden for programmets formål",
    "moenstre": "Mønstre i underretninger og foranstaltninger",
    "ledelse": "Ledelsesmæssige ressourcer",
}
SCORE_MIN, SCORE_MAX = 1, 5


def mean_score(scores: Iterable[int]) -> float | None:
    values = list(scores)
    return round(sum(values) / len(values), 2) if values else None


def rank_key(gate_ok: bool, prio: int, score: float | None, submitted_ordinal: float) -> tuple[Any, ...]:
    """Ranking within a round: the gate passed first, then priority, then the higher score, then
    the earlier application."""
    return (not gate_ok, prio, -(score or 0.0), submitted_ordinal)


REJECT_REASONS = {
    "minimum": "Minimumskriterierne er ikke opfyldt",
    "udenfor": "Udfordringerne ligger uden for programmets formål og rammer",
    "ledelse": "Den ledelsesmæssige opbakning fremstår ikke tydeligt nok",
}
"""The seeds' reasons (seed 002, section 2 and 5)."""
