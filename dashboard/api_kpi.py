"""JSON API for Nøgletal (issue 15), under /api like the rest: the numbers of the Nøgletal page and
one row per course in the period, the same `services.kpi` functions as the page and its exports.
`programme` (missing: every programme), `from` and `to` (dates, both included; default: the last
12 months)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from dashboard.api_schema import COMMON, IsoDate, ProgrammeKey, problems
from dashboard.deps import Reader, api_user
from services import kpi

router = APIRouter(
    prefix="/api", tags=["nøgletal"], dependencies=[Depends(api_user)], responses=COMMON | problems(422)
)
Programme = Annotated[ProgrammeKey | None, Query(description="Programme key; missing: every programme")]
YEARS_1900_2200 = {"pattern": "^(19[0-9]{2}|2[01][0-9]{2}|2200)-"}
"""`services.kpi.period_from` refuses other years."""
From = Annotated[
    IsoDate | None,
    Query(
        alias="from",
        description="First day of the period (default: 12 months back); not after `to` (422)",
        json_schema_extra=YEARS_1900_2200,
    ),
]
To = Annotated[
    IsoDate | None,
    Query(
        alias="to",
        description="Last day of the period (default: today); not before `from` (422)",
        json_schema_extra=YEARS_1900_2200,
    ),
]


@router.get("/kpi", response_model=kpi.KpiReport, summary="The Nøgletal page's numbers")
def kpi_report(
    reader: Reader, programme: Programme = None, start: From = None, end: To = None
) -> kpi.KpiReport:
    return kpi.cached_report(programme, kpi.period_from(start, end))


@router.get("/kpi/courses", response_model=list[kpi.CourseRow], summary="One row per course in the period")
def kpi_courses(
    reader: Reader, programme: Programme = None, start: From = None, end: To = None
) -> list[kpi.CourseRow]:
    return kpi.course_rows(programme, kpi.period_from(start, end))
