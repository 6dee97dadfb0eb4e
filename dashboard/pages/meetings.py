"""Møder: move or cancel a meeting from the course page (same code as `forloeb meeting move|cancel`):
reminder runs re-timed or cancelled in Prefect, the participants mailed."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter
from fastapi.responses import Response

from dashboard.deps import CheckedForm
from dashboard.pages.common import Id, User, redirect
from services import meetings
from services.meetings import MeetingChange

router = APIRouter(include_in_schema=False)


def _meeting_done(change: MeetingChange, verb: str) -> Response:
    meeting = change.meeting
    query = urlencode(
        {"moede": meeting.id, "handling": verb, "sendt": change.sent, "fejlet": len(change.failed)}
    )
    return redirect(f"/forloeb/{meeting.course_id}?{query}#moeder")


@router.post("/moeder/{meeting_id}/flyt")
def move_meeting(meeting_id: Id, user: User, form: CheckedForm) -> Response:
    """New time: old reminder runs cancelled, new ones scheduled, an updated invitation sent."""
    at = meetings.parse_local(str(form.get("til") or ""))
    return _meeting_done(meetings.move_meeting(meeting_id, at, actor=user.username), "flyttet")


@router.post("/moeder/{meeting_id}/aflys")
def cancel_meeting(meeting_id: Id, user: User, form: CheckedForm) -> Response:
    return _meeting_done(meetings.cancel_meeting(meeting_id, actor=user.username), "aflyst")
