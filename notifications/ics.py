"""Calendar invitations (.ics). Pure.

The UID is stable per meeting (course uid + meeting key), so a calendar replaces the event when
it is moved (SEQUENCE goes up with the meeting's version) and removes it on METHOD:CANCEL.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, vCalAddress, vText

COPENHAGEN = ZoneInfo("Europe/Copenhagen")


def meeting_uid(course_uid: str, meeting_key: str) -> str:
    return f"{course_uid}-{meeting_key}@forloeb"


def meeting_ics(
    *,
    uid: str,
    title: str,
    start: datetime,
    location: str,
    description: str,
    sequence: int,
    method: Literal["REQUEST", "CANCEL"],
    organizer: str,
    attendees: list[str],
    stamp: datetime,
    duration: timedelta = timedelta(hours=3),
    url: str | None = None,
) -> str:
    """`url`: a virtual meeting's link (URL property, and in the description for clients that
    do not show URL)."""
    # One VEVENT in Europe/Copenhagen time. `stamp` is passed in to keep this pure.
    cal = Calendar()
    cal.add("prodid", "-//Socialstyrelsen//forloeb//DA")
    cal.add("version", "2.0")
    cal.add("method", method)
    event = Event()
    event.add("uid", uid)
    event.add("sequence", sequence)
    event.add("dtstamp", stamp)
    local = start.astimezone(COPENHAGEN)
    event.add("dtstart", local)
    event.add("dtend", local + duration)
    event.add("summary", title)
    event.add("location", location)
    event.add("description", f"{description}\nLink til mødet: {url}" if url else description)
    if url:
        event.add("url", url)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    org = vCalAddress(f"mailto:{organizer}")
    org.params["cn"] = vText("Socialstyrelsen")
    event["organizer"] = org
    for email in attendees:
        attendee = vCalAddress(f"mailto:{email}")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        event.add("attendee", attendee, encode=False)
    cal.add_component(event)
    return cal.to_ical().decode("utf-8")
