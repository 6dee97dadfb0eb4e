"""One setting, FORLOEB_POSTGRES_URL, puts both databases on one PostgreSQL server; explicit URLs win."""

from __future__ import annotations

from core.postgres import prefect_database_url, prefect_server_env
from core.settings import Settings

SERVER = "postgresql://forloeb:hemmelig@db.example:5433"


def test_unset_means_sqlite_for_both(tmp_path) -> None:  # type: ignore[no-untyped-def]
    settings = Settings(data_dir=tmp_path, database_url=None, postgres_url=None)
    assert settings.resolved_database_url == f"sqlite:///{tmp_path / 'core.db'}"
    assert prefect_database_url(settings, environ={}) is None
    assert prefect_server_env(settings, environ={}) == {}


def test_one_setting_switches_both_databases() -> None:
    settings = Settings(database_url=None, postgres_url=SERVER)
    assert settings.resolved_database_url == "postgresql+psycopg://forloeb:hemmelig@db.example:5433/forloeb"
    url = "postgresql+asyncpg://forloeb:hemmelig@db.example:5433/prefect"
    assert prefect_database_url(settings, environ={}) == url
    assert prefect_server_env(settings, environ={}) == {"PREFECT_SERVER_DATABASE_CONNECTION_URL": url}


def test_database_names_and_scheme_spellings() -> None:
    settings = Settings(
        database_url=None,
        postgres_url="postgres://u@h/ignored",
        postgres_app_database="app_a",
        postgres_prefect_database="prefect_a",
    )
    assert settings.resolved_database_url == "postgresql+psycopg://u@h/app_a"
    assert prefect_database_url(settings, environ={}) == "postgresql+asyncpg://u@h/prefect_a"


def test_explicit_urls_still_win() -> None:
    settings = Settings(database_url="sqlite:///elsewhere.db", postgres_url=SERVER)
    assert settings.resolved_database_url == "sqlite:///elsewhere.db"
    for name in ("PREFECT_SERVER_DATABASE_CONNECTION_URL", "PREFECT_API_DATABASE_CONNECTION_URL"):
        explicit = {name: "postgresql+asyncpg://other@host/prefect_db"}
        assert prefect_database_url(settings, environ=explicit) == explicit[name]
        assert prefect_server_env(settings, environ=explicit) == {}  # the server reads it itself
