"""The one place that spells each Prefect flow and deployment name.

Flows (`flows/`), deployments (`deployments/`), the Prefect gateway and the settings all take the
names from here, so a rename is one edit and nothing can drift.
"""

from __future__ import annotations

COURSE_FLOW = "raadgivningsforloeb"
COURSE_DEPLOYMENT = "forloeb"
REMINDER_FLOW = "paamindelse"
REMINDER_DEPLOYMENT = "paamindelse"
OVERDUE_FLOW = "opgave-rykkere"
OVERDUE_DEPLOYMENT = "opgave-rykkere"
APPLICATION_FLOW = "ansoegning"
APPLICATION_DEPLOYMENT = "ansoegning"
PURGE_FLOW = "sletning"
PURGE_DEPLOYMENT = "sletning"


def full_name(flow: str, deployment: str) -> str:
    """`flow-name/deployment-name`, as `run_deployment` and `read_deployment_by_name` want it."""
    return f"{flow}/{deployment}"


COURSE = full_name(COURSE_FLOW, COURSE_DEPLOYMENT)
REMINDER = full_name(REMINDER_FLOW, REMINDER_DEPLOYMENT)
OVERDUE = full_name(OVERDUE_FLOW, OVERDUE_DEPLOYMENT)
APPLICATION = full_name(APPLICATION_FLOW, APPLICATION_DEPLOYMENT)
PURGE = full_name(PURGE_FLOW, PURGE_DEPLOYMENT)
