"""Oversigt: every course on one page, filtered, sorted and paginated (`read_model.overview`)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dashboard.pages.common import User, int_param
from dashboard.templating import render
from services import read_model

router = APIRouter(include_in_schema=False)


@router.get("/oversigt")
def overview_page(request: Request, user: User) -> Response:
    p = request.query_params
    filters = read_model.OverviewFilters(
        programme=p.get("program"),
        consultant=p.get("konsulent"),
        region=p.get("region"),
        stage=p.get("fase"),
        status=p.get("status"),
        municipality_code=int_param(p.get("kommune"), 0) or None,
        overdue_only=p.get("overskredet") == "1",
        sort=p.get("sort", "kommune"),
        descending=p.get("faldende") == "1",
        page=int_param(p.get("side"), 1),
        page_size=int_param(p.get("antal"), 50),
    )
    page = read_model.overview(filters)
    return render(
        request,
        "overview.html",
        {
            "page": page,
            "f": page.filters,
            "options": read_model.filter_options(),
            "stage_counts": read_model.stage_counts(),
        },
    )
