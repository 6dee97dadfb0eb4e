"""The app database's schema: brought up to date here and only here."""

from __future__ import annotations

from sqlalchemy.engine import Engine
from sqlmodel import SQLModel

import models.tables  # noqa: F401  (registers the tables on SQLModel.metadata)
from core.db import get_engine


def create_tables(engine: Engine | None = None) -> None:
    """Create every table that does not exist yet."""
    SQLModel.metadata.create_all(engine or get_engine())
