"""Render messages to strings. Pure: no database, no clock, no network.

Each template `NAME` is three files under `templates/`: `NAME.subject.txt`, `NAME.txt` (plain
text) and `NAME.html`. `StrictUndefined` makes a missing variable fail loudly instead of leaving a
hole in a letter. Dates are shown in Copenhagen time, written the Danish way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"
COPENHAGEN = ZoneInfo("Europe/Copenhagen")

TEMPLATES = (
    "moede_invitation",
    "moede_flyttet",
    "moede_aflyst",
    "moede_paamindelse",
    "genbesoeg_paamindelse",
    "opgave_ny",
    "opgave_rykker",
    "opgave_eskalering",
    "evaluering",
    "evaluering_paamindelse",
    "faseskift",
    "fase_start",
    "ansoegning_kvittering",
    "ansoegning_mangler",
    "ansoegning_optaget",
    "ansoegning_udskudt",
    "ansoegning_afslag",
    "netvaerk_tilmeldt",
    "netvaerk_invitation",
    "netvaerk_flyttet",
    "netvaerk_aflyst",
)


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str
    ics: str | None = None


def danish_datetime(value: datetime) -> str:
    """'tirsdag den 3. marts 2026 kl. 10.00' (Copenhagen time; naive means UTC)."""
    if value.tzinfo is None:
        raise ValueError("danish_datetime needs a timezone-aware datetime")
    local = value.astimezone(COPENHAGEN)
    return format_datetime(local, "EEEE 'den' d. MMMM y 'kl.' HH.mm", tzinfo=COPENHAGEN, locale="da_DK")


def danish_date(value: date) -> str:
    """'tirsdag den 3. marts 2026'."""
    return format_date(value, "EEEE 'den' d. MMMM y", locale="da_DK")


@lru_cache(maxsize=1)
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        undefined=StrictUndefined,
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        keep_trailing_newline=True,
    )
    env.filters["dato"] = danish_datetime
    env.filters["dag"] = danish_date
    return env


def render(name: str, context: Mapping[str, Any], ics: str | None = None) -> Rendered:
    """Render template `name`; raises `jinja2.UndefinedError` on any missing variable."""
    if name not in TEMPLATES:
        raise KeyError(f"ukendt skabelon {name!r}; kendte: {', '.join(TEMPLATES)}")
    env = _environment()
    subject = env.get_template(f"{name}.subject.txt").render(context)
    return Rendered(
        subject=" ".join(subject.split()),
        text=env.get_template(f"{name}.txt").render(context),
        html=env.get_template(f"{name}.html").render(context),
        ics=ics,
    )
