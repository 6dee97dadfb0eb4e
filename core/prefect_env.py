"""Point Prefect at our server and our data directory before prefect is imported.

Without this, a bare `forloeb` command would start Prefect's ephemeral in-process server
instead of talking to the one `make run` started.
"""

from __future__ import annotations

import os
from contextlib import suppress
from pathlib import Path

from core.settings import get_settings


def configure_prefect_env() -> None:
    settings = get_settings()
    os.environ.setdefault("PREFECT_API_URL", settings.prefect_ui_url.rstrip("/") + "/api")
    os.environ.setdefault("PREFECT_HOME", str(settings.data_dir / "prefect"))
    # Results must survive a process exit: every resume starts the flow in a new process.
    os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "true")
    # Every new Prefect client loads a CA bundle into a new SSL context (certifi's ~150
    # certificates: 30-100 ms of CPU here), even for an http:// API that never uses it. With a
    # plain-http API, give it a one-certificate bundle instead (an https API keeps the full one).
    if os.environ["PREFECT_API_URL"].startswith("http://") and not os.environ.get(
        "PREFECT_API_SSL_CERT_FILE"
    ):
        with suppress(OSError, ImportError, ValueError):
            os.environ["PREFECT_API_SSL_CERT_FILE"] = str(_small_ca_bundle(settings.data_dir / "prefect"))


def _small_ca_bundle(directory: Path) -> Path:
    """A CA file with one certificate (the first of certifi's bundle), made once in `directory`."""
    path = directory / "http-api-ca.pem"
    if not path.exists():
        import certifi

        bundle = Path(certifi.where()).read_text(encoding="ascii")
        end = "-----END CERTIFICATE-----"
        first = bundle[bundle.index("-----BEGIN CERTIFICATE-----") : bundle.index(end) + len(end)] + "\n"
        directory.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}")
        partial.write_text(first, encoding="ascii")
        partial.replace(path)  # atomic: processes starting together all see a whole file
    return path


SERVER_TUNING: dict[str, str] = {
    # Automations (triggers, actions) are not used by forloeb (the runners' heartbeat and the lead
    # runner's repair loop heal runs): one consumer less parsing every event (~3 % of the server's
    # CPU in a burst, py-spy).
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    # Task runs are written from the engines' events; Prefect's default writes them one row per
    # flush (batch size 1). Batched, at most 1 s late in the UI.
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE": "50",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL": "1",
    # Events are stored 100 at a time instead of 20 (still at most 5 s late).
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_BATCH_SIZE": "100",
}
"""Prefect server settings for forloeb's load (bursts of resumes): set by `make run`, the benchmarks
and the systemd unit's environment file; a value already in the environment wins. Measured with
`bench/burst.py` (bench/RESULTS-burst.md)."""


def server_tuning_env(environ: dict[str, str] | None = None) -> dict[str, str]:
    """`SERVER_TUNING` less the settings `environ` (default: this process's environment) already has."""
    environ = dict(os.environ) if environ is None else environ
    return {name: value for name, value in SERVER_TUNING.items() if name not in environ}
