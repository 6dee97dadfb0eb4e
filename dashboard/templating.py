"""Jinja2 templates and the filters they use (Danish dates, Copenhagen time)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse

from core.clock import COPENHAGEN, as_utc, local_date, today
from core.labels import label
from core.settings import flow_run_url
from dashboard.security import CSRF_FIELD, csrf_token
from services.accounts import MIN_PASSWORD

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local_date(value)
    return f"{value.day}.{value.month}.{value.year}"


def fmt_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    local = as_utc(value).astimezone(COPENHAGEN)
    return f"{local.day}.{local.month}.{local.year} kl. {local:%H.%M}"


def input_datetime(value: datetime | None) -> str:
    """For `<input type="datetime-local">`: Copenhagen time, '2026-03-03T10:00'."""
    if value is None:
        return ""
    return f"{as_utc(value).astimezone(COPENHAGEN):%Y-%m-%dT%H:%M}"


def query(request: Request, **changes: Any) -> str:
    """The current query string with some parameters changed (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    return "?" + urlencode(params) if params else "?"


templates.env.filters["dato"] = fmt_date
templates.env.filters["tid"] = fmt_datetime
templates.env.filters["label"] = label
templates.env.filters["input_tid"] = input_datetime
templates.env.globals["query"] = query
templates.env.globals["flow_run_url"] = flow_run_url
templates.env.globals["csrf_field"] = CSRF_FIELD
templates.env.globals["min_password"] = MIN_PASSWORD


def render(
    request: Request, name: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    ctx = dict(context or {})
    ctx.setdefault("user", getattr(request.state, "user", None))
    ctx["csrf"] = csrf_token(request.session)
    ctx["today"] = today()
    return templates.TemplateResponse(request, name, ctx, status_code=status_code)
