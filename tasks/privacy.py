"""The Prefect task of the daily purge (issue 14), around `services.privacy.purge`: idempotent on
its own (what was purged is marked and not counted again), no cache."""

from __future__ import annotations

from datetime import date

from prefect import task
from prefect.cache_policies import NO_CACHE

from services import privacy
from tasks.course import OUTAGE_RETRIES


@task(persist_result=False, cache_policy=NO_CACHE, **OUTAGE_RETRIES)
def purge_personal_data(day: date) -> dict[str, int]:
    """Purge what is past its retention end; returns how many of each kind (never the content)."""
    report = privacy.purge(day, dry_run=False)
    return {"forloeb": len(report.courses), "ansoegninger": len(report.applications), **report.counts}
