"""One `Settings` object, read lazily from the environment (prefix ``FORLOEB_``)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from core import names

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FORLOEB_", extra="ignore")

    data_dir: Path = PROJECT_ROOT / ".forloeb"
    """Where `make run` keeps the app database, the Prefect home and logs."""

    database_url: str | None = None
    """Any SQLAlchemy URL; defaults to a SQLite file in `data_dir`."""

    prefect_ui_url: str = "http://127.0.0.1:4200"
    """Base URL of the Prefect UI, for links from the CLI and the dashboard."""

    deployment: str = names.COURSE
    """The course flow's deployment, as `flow-name/deployment-name`."""

    timezone: str = "Europe/Copenhagen"

    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = 8000

    demo: bool = True
    """`make run` creates demo courses on first start."""

    # --- notifications ---
    smtp_url: str = "mailto://127.0.0.1:8025?from=forloeb@localhost"
    """Apprise mail URL without recipients (`mailto://` plain SMTP, `mailtos://` TLS). The default
    is the dev mailbox `make run` starts (plain SMTP on 127.0.0.1:8025, no login)."""

    notify_urls: list[str] = []
    """Extra Apprise URLs (e.g. a Teams/Slack webhook for the consultants' channel), as JSON."""

    public_url: str = "http://127.0.0.1:8000"
    """Base URL used in links in messages (the dashboard)."""

    consultant_email: str = "konsulent@forloeb.local"
    """Used when a consultant has no e-mail in `ConsultantPreference`."""

    evaluation_url: str = ""
    """The evaluation form's address; default: `public_url` + /evaluering/<course uid>."""

    send_attempts: int = 3
    send_backoff_seconds: float = 2.0
    """First wait between attempts; doubles each time."""

    send_claim_stale_seconds: float = 300.0
    """A message claimed for sending longer ago than this, and never marked sent or failed, was
    interrupted (a crash mid-send): it may have been sent, so it is not sent again automatically."""

    runner_alive_seconds: float = 45.0
    """A runner whose heartbeat in the app database is older than this is gone: the runs it held
    are handed back to the live runners (`services.recovery`). Runners beat every 10 s."""

    run_state_grace_seconds: float = 30.0
    """A run must have been Running/Pending this long, unheld, before it counts as orphaned."""

    dev_mailbox_port: int = 8025
    """`make run` starts a local SMTP sink here when `smtp_url` points at it."""

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.data_dir / 'core.db'}"


@lru_cache
def get_settings() -> Settings:
    return Settings()


def flow_run_url(flow_run_id: str | None) -> str | None:
    """Link to a flow run in the Prefect UI."""
    if not flow_run_id:
        return None
    return f"{get_settings().prefect_ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}"
