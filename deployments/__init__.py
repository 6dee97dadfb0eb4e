"""The single source of truth for deployments: every deployment is defined here."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from prefect.deployments.runner import RunnerDeployment

COURSE_DEPLOYMENT = "forloeb"


def course_deployment() -> RunnerDeployment:
    from flows.course import course_flow

    deployment = course_flow.to_deployment(
        name=COURSE_DEPLOYMENT,
        description="Et rådgivningsforløb for én kommune (startes af forloeb start).",
        tags=["forloeb"],
    )
    assert not isinstance(deployment, Coroutine)  # to_deployment dispatches on sync/async
    return deployment


def all_deployments() -> list[RunnerDeployment]:
    return [course_deployment()]
