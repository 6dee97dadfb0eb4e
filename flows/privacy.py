"""The daily purge (issue 14): personal data past its retention end goes (`services.privacy`).
Run by the `sletning` deployment every night; a missed night is caught up by the next, since the
purge takes everything due up to its day."""

from __future__ import annotations

from datetime import date

from prefect import flow, get_run_logger

from core.names import PURGE_FLOW
from tasks.privacy import purge_personal_data


@flow(name=PURGE_FLOW, persist_result=True)
def purge_flow(day: date | None = None) -> dict[str, int]:
    from core.clock import today

    counts = purge_personal_data(day or today())
    get_run_logger().info(
        "Sletning efter opbevaringstid: %s",
        ", ".join(f"{kind} {n}" for kind, n in counts.items() if n) or "intet at slette",
    )
    return counts
