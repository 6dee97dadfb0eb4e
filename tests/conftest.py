"""Shared fixtures. One Prefect test harness per session (it takes ~15 s to start)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# Before prefect is imported anywhere: no telemetry from tests, quiet logs.
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

# Real SMTP server and webhook receiver fixtures (`smtp`, `webhook`) for the notification tests.
pytest_plugins = ["tests.support.mail"]

ROOT = Path(__file__).resolve().parent.parent
KOMMUNER = ROOT / "data" / "kommuner.csv"


@pytest.fixture(scope="session")
def tmp_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("forloeb")


@pytest.fixture(autouse=True)
def app_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Every test gets its own app database (SQLite file) with the 98 municipalities."""
    from core import db
    from core.settings import get_settings
    from models import schema
    from services import municipalities

    monkeypatch.setenv("FORLOEB_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("FORLOEB_DATABASE_URL", f"sqlite:///{tmp_path / 'app.db'}")
    # Mail goes nowhere unless a test starts its own SMTP server (never to a dev mailbox on 8025).
    monkeypatch.setenv("FORLOEB_SMTP_URL", "mailto://127.0.0.1:9?from=forloeb@localhost")
    monkeypatch.setenv("FORLOEB_SEND_BACKOFF_SECONDS", "0")
    get_settings.cache_clear()
    # The quick way: create_all + stamped at head (test_migrations.py proves the migrations agree).
    schema.create_tables()
    municipalities.seed_municipalities(KOMMUNER)
    yield tmp_path
    db.get_engine().dispose()
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def prefect_server(tmp_root: Path) -> Iterator[str]:
    """A real Prefect server (the test harness) with the course deployment applied."""
    os.environ.pop("PREFECT_API_URL", None)
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=90):
        from prefect.settings import PREFECT_API_URL

        from deployments import course_deployment, overdue_deployment, reminder_deployment

        course_deployment().apply()
        reminder_deployment().apply()
        overdue_deployment().apply()
        yield str(PREFECT_API_URL.value())
    shutil.rmtree(tmp_root / "prefect", ignore_errors=True)
