"""Point Prefect at our server and our data directory before prefect is imported.

Without this, a bare `forloeb` command would start Prefect's ephemeral in-process server
instead of talking to the one `make run` started.
"""

from __future__ import annotations

import os

from core.settings import get_settings


def configure_prefect_env() -> None:
    settings = get_settings()
    os.environ.setdefault("PREFECT_API_URL", settings.prefect_ui_url.rstrip("/") + "/api")
    os.environ.setdefault("PREFECT_HOME", str(settings.data_dir / "prefect"))
    # Results must survive a process exit: every resume starts the flow in a new process.
    os.environ.setdefault("PREFECT_RESULTS_PERSIST_BY_DEFAULT", "true")
