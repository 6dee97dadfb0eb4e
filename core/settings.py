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
    """Any SQLAlchemy URL; defaults to `postgres_url`'s app database, else a SQLite file in `data_dir`."""

    postgres_url: str | None = None
    """One PostgreSQL server for both databases, e.g. `postgresql://forloeb:secret@db:5432`: the app
    database `postgres_app_database` and the Prefect server's `postgres_prefect_database` on it,
    created when missing (`core.postgres`). `database_url` and Prefect's own
    `PREFECT_SERVER_DATABASE_CONNECTION_URL` (or `PREFECT_API_DATABASE_CONNECTION_URL`), when set,
    still win. Unset: SQLite for both (the `make run` default)."""

    postgres_app_database: str = "forloeb"
    postgres_prefect_database: str = "prefect"

    prefect_ui_url: str = "http://127.0.0.1:4200"
    """Base URL of the Prefect UI, for links from the CLI and the dashboard."""

    deployment: str = names.COURSE
    """The course flow's deployment, as `flow-name/deployment-name`."""

    timezone: str = "Europe/Copenhagen"

    programme_dir: Path | None = None
    """A directory of extra programme definition files (`*.yaml`, format 2), read beside the
    bundled ones in models/definitions: a new programme version without a code release."""

    dashboard_host: str = "127.0.0.1"
    dashboard_port: int = 8000

    demo: bool = True
    """`make run` creates demo courses on first start."""

    # --- notifications ---
    smtp_url: str = "mailto://127.0.0.1:8025?from=forloeb@localhost"
    """Apprise mail URL without recipients (`mailto://` plain SMTP, `mailtos://` TLS). The default
    is the dev mailbox `make run` starts (plain SMTP on 127.0.0.1:8025, no login). A server that is
    not on this machine needs TLS: `mailtos://` (STARTTLS; `?mode=ssl` for SMTPS on 465)."""

    smtp_allow_plain: bool = False
    """Allow plain (unencrypted) SMTP to a server that is not on this machine. Off: the runner
    refuses to start and every send is refused with a clear error, never sent in plain text."""

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

    application_help_lookback_years: int = 3
    """Priority: a municipality with help from the agencies this year or in the years before
    (this many) comes after those without (issue 13)."""

    upload_dir: Path | None = None
    """Where uploaded application PDFs are kept (outside the web root); default `data_dir/uploads`."""

    upload_max_mb: int = 10
    """The largest PDF a municipality may upload."""

    dev_mailbox_port: int = 8025
    """`make run` starts a local SMTP sink here when `smtp_url` points at it."""

    # --- logins (issue 14) ---
    session_idle_minutes: int = 60
    """A dashboard session ends after this long without a request (and always 8 h after login)."""

    login_max_failures: int = 5
    """Failed logins for one username within `login_window_minutes` before it is locked out until
    the oldest failure is that old (the dashboard's form and HTTP Basic on the API alike)."""

    login_max_failures_per_address: int = 20
    """The same for one client address (behind the proxy: X-Forwarded-For from FORWARDED_ALLOW_IPS)."""

    login_window_minutes: int = 15

    login_limit_storage: str = "memory://"
    """Where the failures are counted (a `limits` storage URI). `memory://` counts in each dashboard
    process on its own; several processes behind the proxy share a count with e.g.
    `redis://127.0.0.1:6379` (needs the `redis` package)."""

    # --- retention (issue 14; the reasons are in docs/PRIVACY.md) ---
    retention_course_months: int = 12
    """A finished course's personal data (contacts, free text, outbox bodies) is purged this many
    months after it finished (the revisit, or its last stage)."""

    retention_application_months: int = 6
    """A rejected or withdrawn application's personal data and documents: months after the last
    thing that happened to it (decision letter, withdrawal)."""

    retention_evaluation_months: int = 12
    """The free text of an evaluation answer: months after it was given (the scores stay)."""

    retention_network_months: int = 6
    """A network member who left: months after leaving."""

    retention_access_log_months: int = 24
    """Rows of the access log: months."""

    @property
    def resolved_upload_dir(self) -> Path:
        return self.upload_dir or self.data_dir / "uploads"

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        if self.postgres_url:
            return self.postgres_database_url(self.postgres_app_database, "postgresql+psycopg")
        return f"sqlite:///{self.data_dir / 'core.db'}"

    def postgres_database_url(self, database: str, driver: str) -> str:
        """`postgres_url` with another database and driver (psycopg for the app, asyncpg for the
        Prefect server); the password kept."""
        from sqlalchemy.engine import make_url

        if not self.postgres_url:
            raise ValueError("FORLOEB_POSTGRES_URL is not set")
        url = make_url(self.postgres_url).set(drivername=driver, database=database)
        return url.render_as_string(hide_password=False)


@lru_cache
def get_settings() -> Settings:
    return Settings()


def flow_run_url(flow_run_id: str | None) -> str | None:
    """Link to a flow run in the Prefect UI."""
    if not flow_run_id:
        return None
    return f"{get_settings().prefect_ui_url.rstrip('/')}/runs/flow-run/{flow_run_id}"
