"""The 98 municipalities: load them, list them, find one by code or by (Danish) name."""

from __future__ import annotations

import csv
import difflib
import unicodedata
from pathlib import Path

from sqlmodel import Session, select

from core.cpr import mask_cpr
from core.db import session_scope
from core.errors import AmbiguousMunicipality, NotFound
from models.tables import Municipality


def _fold(text: str) -> str:
    """Case- and spelling-insensitive key: 'Århus', 'aarhus' and 'AARHUS' fold alike."""
    text = unicodedata.normalize("NFC", text).casefold().strip()
    for old, new in (("å", "aa"), ("æ", "ae"), ("ø", "oe"), ("-", " ")):
        text = text.replace(old, new)
    return " ".join(text.split())


def seed_municipalities(csv_path: Path) -> int:
    """Load the municipalities (code,name,region); existing rows are updated. Returns the count."""
    with csv_path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with session_scope() as session:
        for row in rows:
            session.merge(Municipality(code=int(row["code"]), name=row["name"], region=row["region"]))
    return len(rows)


def list_municipalities(search: str | None = None) -> list[Municipality]:
    with session_scope() as session:
        rows = list(session.exec(select(Municipality).order_by(Municipality.name)))
    if search:
        key = _fold(search)
        rows = [m for m in rows if key in _fold(m.name) or key in _fold(m.region) or search == str(m.code)]
    return rows


def find_municipality(session: Session, query: str) -> Municipality:
    """By code ('751') or name, case-insensitive ('aarhus', 'Århus'). Ambiguous → candidates."""
    query = query.strip()
    if query.isdigit():
        found = session.get(Municipality, int(query))
        if found is None:
            raise NotFound(f"Ingen kommune har koden {query}.")
        return found
    everyone = list(session.exec(select(Municipality)))
    key = _fold(query)
    exact = [m for m in everyone if _fold(m.name) == key]
    if exact:
        return exact[0]
    partial = [m for m in everyone if _fold(m.name).startswith(key) or key in _fold(m.name)]
    if len(partial) == 1:
        return partial[0]
    if partial:
        names = ", ".join(sorted(f"{m.name} ({m.code})" for m in partial))
        raise AmbiguousMunicipality(
            f"'{mask_cpr(query)}' passer på flere kommuner: {names}. Angiv navnet helt eller koden.",
            details=[m.code for m in partial],
        )
    close = difflib.get_close_matches(key, [_fold(m.name) for m in everyone], n=3, cutoff=0.7)
    hint = ""
    if close:
        hint = " Mente du: " + ", ".join(m.name for m in everyone if _fold(m.name) in close) + "?"
    raise NotFound(f"Kommunen '{mask_cpr(query)}' findes ikke.{hint}")  # never echo a CPR number


def bundled_csv() -> Path:
    """The 98 municipalities shipped with forloeb: `data/kommuner.csv` in a checkout, the copy the
    wheel carries beside this module (pyproject: force-include) when installed."""
    here = Path(__file__).resolve().parent
    packaged = here / "kommuner.csv"
    return packaged if packaged.exists() else here.parent / "data" / "kommuner.csv"
