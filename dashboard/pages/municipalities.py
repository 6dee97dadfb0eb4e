"""Kommuner: the 98 municipalities with their courses."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dashboard.pages.common import User
from dashboard.templating import render
from services import read_model

router = APIRouter(include_in_schema=False)


@router.get("/kommuner")
def municipalities_page(request: Request, user: User) -> Response:
    region = request.query_params.get("region") or None
    return render(
        request,
        "municipalities.html",
        {
            "rows": read_model.municipality_rows(region),
            "region": region or "",
            "options": read_model.filter_options(),
        },
    )
