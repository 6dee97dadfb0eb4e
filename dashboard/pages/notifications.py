"""Notifikationer: the outbox as people see it, and sending a failed message again (synchronously:
the handler waits on the mail server, in the thread pool)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dashboard.deps import CheckedForm
from dashboard.pages.common import Id, User, int_param, redirect
from dashboard.templating import render
from services import outbox_admin

router = APIRouter(include_in_schema=False)


@router.get("/notifikationer")
def notifications_page(request: Request, user: User) -> Response:
    p = request.query_params
    course_id = int_param(p.get("forloeb"), 0) or None
    page = outbox_admin.list_notifications(status=p.get("status") or None, course_id=course_id)
    return render(
        request,
        "notifications.html",
        {
            "page": page,
            "status": p.get("status", ""),
            "course_id": course_id,
            "filters": outbox_admin.STATUS_FILTERS,
        },
    )


@router.post("/notifikationer/{notification_id}/send-igen")
def retry_notification(notification_id: Id, user: User, form: CheckedForm) -> Response:
    outbox_admin.retry_notification(notification_id, actor=user.username, force=form.get("force") == "1")
    return redirect(f"/notifikationer?status={outbox_admin.ATTENTION}")
