"""The single source of truth for deployments: every deployment is defined here."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

from core.names import (
    APPLICATION_DEPLOYMENT,
    COURSE_DEPLOYMENT,
    OVERDUE_DEPLOYMENT,
    PURGE_DEPLOYMENT,
    REMINDER_DEPLOYMENT,
)


def course_deployment() -> RunnerDeployment:
    from flows.course import course_flow

    deployment = course_flow.to_deployment(
        name=COURSE_DEPLOYMENT,
        description="Et rådgivningsforløb for én kommune (startes af forloeb start).",
        tags=["forloeb"],
    )
    assert not isinstance(deployment, Coroutine)  # to_deployment dispatches on sync/async
    return deployment


def reminder_deployment() -> RunnerDeployment:
    """One-off reminder runs, created with `run_deployment(..., scheduled_time=...)`."""
    from flows.reminders import reminder_flow

    deployment = reminder_flow.to_deployment(
        name=REMINDER_DEPLOYMENT,
        description="Påmindelse før et møde (planlægges af forløbet, når mødet planlægges).",
        tags=["forloeb", "notifikation"],
    )
    assert not isinstance(deployment, Coroutine)
    return deployment


def overdue_deployment() -> RunnerDeployment:
    """Every working-day morning: reminders for overdue tasks and escalations."""
    from prefect.schedules import Cron

    from flows.reminders import overdue_flow

    deployment = overdue_flow.to_deployment(
        name=OVERDUE_DEPLOYMENT,
        description="Rykkere for overskredne opgaver (hverdage kl. 7.00) og eskalering til konsulenten.",
        tags=["forloeb", "notifikation"],
        schedules=[Cron("0 7 * * 1-5", timezone="Europe/Copenhagen")],
    )
    assert not isinstance(deployment, Coroutine)
    return deployment


def application_deployment() -> RunnerDeployment:
    """One run per application (issue 13): receipt, decision letter, the course started on its day."""
    from flows.application import application_flow

    deployment = application_flow.to_deployment(
        name=APPLICATION_DEPLOYMENT,
        description="En kommunes ansøgning: kvittering, afgørelse og forløbet startet på startdatoen.",
        tags=["forloeb", "ansoegning"],
    )
    assert not isinstance(deployment, Coroutine)
    return deployment


def purge_deployment() -> RunnerDeployment:
    """Every night: personal data past its retention end is purged (issue 14, docs/PRIVACY.md)."""
    from prefect.schedules import Cron

    from flows.privacy import purge_flow

    deployment = purge_flow.to_deployment(
        name=PURGE_DEPLOYMENT,
        description="Sletning af personoplysninger efter opbevaringstiden (hver nat kl. 3.30).",
        tags=["forloeb", "persondata"],
        schedules=[Cron("30 3 * * *", timezone="Europe/Copenhagen")],
    )
    assert not isinstance(deployment, Coroutine)
    return deployment


def all_deployments() -> list[RunnerDeployment]:
    return [
        course_deployment(),
        reminder_deployment(),
        overdue_deployment(),
        application_deployment(),
        purge_deployment(),
    ]
