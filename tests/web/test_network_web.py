"""The cross-municipal network (issue 15): the public sign-up page the revisit reminder links to,
the member's own link to leave, and the consultants' Netværk page where network meetings are
planned, moved and cancelled, each sent to every active member with a calendar file (.ics) through
the outbox. Web tier, no Prefect; mail goes to a real SMTP server."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient
from icalendar import Calendar
from sqlmodel import col, func, select
from typer.testing import CliRunner

from core.clock import now, today
from core.db import session_scope
from core.workdays import add_working_days
from forloeb.cli import app
from models.tables import AuditEvent, NetworkMeeting, NetworkMember, Notification, NotificationStatus
from notifications import compose, outbox
from services import network
from tests.support.mail import SmtpServer, free_port
from tests.support.web import client, csrf_from, logged_in, seed_course

LEADER = {"kommune": "751", "navn": "Fiktiv Leder", "email": "Leder@Aarhus.example", "samtykke": "ja"}
LINK = re.compile(r"http://[^\s\"<]+/netvaerk/[A-Za-z0-9_-]{20,}")


def _counts() -> tuple[int, int, int]:
    with session_scope() as session:
        return (
            session.exec(select(func.count()).select_from(NetworkMember)).one(),
            session.exec(select(func.count()).select_from(Notification)).one(),
            session.exec(select(func.count()).select_from(AuditEvent)).one(),
        )


def _sign_up(c: TestClient, **changes: str) -> tuple[int, str]:
    token = csrf_from(c.get("/netvaerk").text)
    response = c.post("/netvaerk", data={**LEADER, **changes, "csrf_token": token})
    return response.status_code, response.text


def _workday(offset: int) -> date:
    return add_working_days(today(), offset)


def _ics(received: object) -> Calendar:
    [text] = received.parts("text/calendar")  # type: ignore[attr-defined]
    return Calendar.from_ical(text)


def test_sign_up_mails_a_personal_link_to_leave(smtp: SmtpServer) -> None:
    anon = client()
    page = anon.get("/netvaerk")
    assert page.status_code == 200 and '<html lang="da">' in page.text
    assert len(re.findall(r"<option value=\"\d+\"", page.text)) == 98 and 'for="f-kommune"' in page.text
    assert "samtykke-tekst" in page.text and "<legend>Samtykke</legend>" in page.text

    status, text = _sign_up(anon)
    assert status == 201 and "Tak, du er tilmeldt" in text and "leder@aarhus.example" in text
    with session_scope() as session:
        [member] = session.exec(select(NetworkMember))
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "netværk: tilmeldt"))
    assert (member.municipality_code, member.name, member.email) == (
        751,
        "Fiktiv Leder",
        "leder@aarhus.example",
    )
    assert member.left_at is None and "Fiktiv" not in event.detail and "@" not in event.detail

    [mail] = smtp.mailbox.to("leder@aarhus.example")
    assert mail.subject == "Velkommen i det tværkommunale netværk"
    [text_part] = mail.parts("text/plain")
    assert "Aarhus" in text_part and "Vi har gemt dit navn" in text_part
    [link] = set(LINK.findall(text_part))
    assert link.endswith(f"/netvaerk/{member.token}")

    own = anon.get(urlparse(link).path)
    assert own.status_code == 200 and "Afmeld mig netværket" in own.text and "Aarhus" in own.text
    left = anon.post(f"/netvaerk/{member.token}/afmeld", data={"csrf_token": csrf_from(own.text)})
    assert left.status_code == 200 and "Du er nu afmeldt" in left.text and "tilmelde dig på ny" in left.text
    with session_scope() as session:
        assert session.exec(select(NetworkMember.left_at)).one() is not None
    assert network.list_members() == []
    assert anon.get("/netvaerk/findes-ikke").status_code == 404

    # Once left, the same person may sign up again: a new membership, a new link.
    assert _sign_up(anon)[0] == 201
    assert [m.email for m in network.list_members()] == ["leder@aarhus.example"]


BAD_SIGN_UPS = [
    ({"kommune": "9999"}, "Vælg din kommune på listen."),
    ({"kommune": ""}, "Vælg din kommune på listen."),
    ({"kommune": "Aarhus"}, "Vælg din kommune på listen."),
    ({"email": "leder-at-aarhus"}, "Skriv en gyldig e-mailadresse"),
    ({"email": ""}, "Skriv en gyldig e-mailadresse"),
    ({"navn": "  "}, "Skriv dit navn."),
    ({"navn": "Leder 010190-1234"}, "CPR-nummer"),
    ({"samtykke": ""}, "uden dit samtykke gemmer vi intet"),
    ({"navn": "x" * 201}, "Højst 200 tegn."),
]


def test_bad_sign_up_changes_nothing() -> None:
    anon = client()
    before = _counts()
    for changes, field_message in BAD_SIGN_UPS:
        got, text = _sign_up(anon, **changes)
        assert got == 422 and field_message in text and "Tilmeldingen er ikke gemt" in text, changes
        assert "010190-1234" not in text  # a CPR number is never echoed
    assert _counts() == before


def test_duplicate_sign_up_is_friendly_and_changes_nothing() -> None:
    anon = client()
    assert _sign_up(anon)[0] == 201
    before = _counts()
    status, text = _sign_up(anon, email="LEDER@aarhus.example ")
    assert status == 409 and "I er allerede tilmeldt" in text
    assert _counts() == before
    # Another municipality's membership for the same address is a membership of its own.
    assert _sign_up(anon, kommune="101")[0] == 201
    no_csrf = anon.post("/netvaerk", data={**LEADER, "kommune": "461"})
    assert no_csrf.status_code == 403 and len(network.list_members()) == 2


def test_sign_ups_are_throttled_per_address() -> None:
    anon = client()
    token = csrf_from(anon.get("/netvaerk").text)
    statuses = [
        anon.post("/netvaerk", data={"csrf_token": token, "kommune": "9999"}).status_code for _ in range(21)
    ]
    assert statuses[:20] == [422] * 20
    assert statuses[20] == 429
    refused = anon.post("/netvaerk", data={**LEADER, "csrf_token": token})
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) > 0
    assert network.list_members() == []


def _members(*people: tuple[str, str, str]) -> None:
    for kommune, name, email in people:
        network.sign_up(kommune, name, email, consent=True)


def test_plan_move_cancel_send_invitation_update_and_cancellation(smtp: SmtpServer) -> None:
    _members(("751", "Fiktiv Leder", "leder@aarhus.example"), ("101", "Fiktiv Chef", "chef@kbh.example"))
    network.leave(_token("chef@kbh.example"))
    _members(("461", "Fiktiv Rådgiver", "raadgiver@odense.example"))
    smtp.mailbox.received.clear()
    consultant = logged_in()
    page = consultant.get("/netvaerk/oversigt")
    assert page.status_code == 200 and 'aria-current="page">Netværk' in page.text
    token = csrf_from(page.text)
    day = _workday(10)
    planned = consultant.post(
        "/netvaerk/moeder",
        data={
            "csrf_token": token,
            "titel": "Netværksmøde om inddragelse",
            "tidspunkt": f"{day.isoformat()}T10:00",
            "sted": "Socialstyrelsen, Odense",
            "link": "https://teams.example/m/1",
            "dagsorden": "1. Velkomst\n2. Erfaringer",
        },
    )
    assert planned.status_code == 303 and "handling=planlagt" in planned.headers["location"]
    assert "sendt=2" in planned.headers["location"] and "fejlet=0" in planned.headers["location"]
    shown = consultant.get(planned.headers["location"])
    assert "Netværksmødet er planlagt. 2 beskeder sendt." in shown.text
    with session_scope() as session:
        [meeting] = session.exec(select(NetworkMeeting))
    assert meeting.created_by == "Konsulent K" and meeting.sequence == 0

    # Every active member (not the one who left) gets an invitation naming only themselves.
    assert sorted(r.envelope_to[0] for r in smtp.mailbox.received) == [
        "leder@aarhus.example",
        "raadgiver@odense.example",
    ]
    [invitation] = smtp.mailbox.to("raadgiver@odense.example")
    assert invitation.subject.startswith("Invitation: Netværksmøde om inddragelse")
    assert "Erfaringer" in invitation.parts("text/plain")[0]
    cal = _ics(invitation)
    [event] = cal.walk("VEVENT")
    uid = str(event["UID"])
    assert str(cal["METHOD"]) == "REQUEST" and int(event["SEQUENCE"]) == 0
    assert uid == f"netvaerk-{meeting.uid}@forloeb"
    assert event.decoded("DTSTART").strftime("%Y-%m-%d %H:%M") == f"{day.isoformat()} 10:00"
    assert [str(a) for a in _list(event["ATTENDEE"])] == ["mailto:raadgiver@odense.example"]
    assert str(event["URL"]) == "https://teams.example/m/1"

    moved_to = _workday(12)
    smtp.mailbox.received.clear()
    moved = consultant.post(
        f"/netvaerk/moeder/{meeting.id}/flyt",
        data={"csrf_token": token, "til": f"{moved_to.isoformat()}T13:30"},
    )
    assert moved.status_code == 303 and "handling=flyttet" in moved.headers["location"]
    [update] = smtp.mailbox.to("leder@aarhus.example")
    assert update.subject.startswith("Flyttet: Netværksmøde om inddragelse")
    [event] = _ics(update).walk("VEVENT")
    assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 1
    assert str(_ics(update)["METHOD"]) == "REQUEST"
    assert event.decoded("DTSTART").strftime("%Y-%m-%d %H:%M") == f"{moved_to.isoformat()} 13:30"

    smtp.mailbox.received.clear()
    cancelled = consultant.post(f"/netvaerk/moeder/{meeting.id}/aflys", data={"csrf_token": token})
    assert cancelled.status_code == 303 and "handling=aflyst" in cancelled.headers["location"]
    [cancel] = smtp.mailbox.to("raadgiver@odense.example")
    cal = _ics(cancel)
    [event] = cal.walk("VEVENT")
    assert str(cal["METHOD"]) == "CANCEL" and str(event["STATUS"]) == "CANCELLED"
    assert str(event["UID"]) == uid and int(event["SEQUENCE"]) == 2
    assert len(smtp.mailbox.received) == 2

    # A cancelled meeting cannot be moved or cancelled again: refused, nothing sent or changed.
    before = _counts()
    again = consultant.post(
        f"/netvaerk/moeder/{meeting.id}/flyt",
        data={"csrf_token": token, "til": f"{moved_to.isoformat()}T09:00"},
    )
    assert again.status_code == 409 and "er aflyst og kan ikke ændres" in again.text
    assert (
        consultant.post(f"/netvaerk/moeder/{meeting.id}/aflys", data={"csrf_token": token}).status_code == 409
    )
    assert _counts() == before and len(smtp.mailbox.received) == 2
    with session_scope() as session:
        actions = list(
            session.exec(select(AuditEvent.action).where(col(AuditEvent.action).startswith("netværksmøde")))
        )
    assert actions == ["netværksmøde planlagt", "netværksmøde flyttet", "netværksmøde aflyst"]
    overview = consultant.get("/netvaerk/oversigt").text
    assert "Aflyst" in overview and "6 sendt" in overview


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else [value]


def _token(email: str) -> str:
    with session_scope() as session:
        return session.exec(
            select(NetworkMember.token).where(
                NetworkMember.email == email, col(NetworkMember.left_at).is_(None)
            )
        ).one()


def _saturday() -> date:
    return next(d for d in (today() + timedelta(days=n) for n in range(7, 14)) if d.weekday() == 5)


def test_bad_meeting_changes_nothing() -> None:
    _members(("751", "Fiktiv Leder", "leder@aarhus.example"))
    consultant = logged_in()
    token = csrf_from(consultant.get("/netvaerk/oversigt").text)
    before = _counts()
    for changes, field_message in [
        ({"titel": ""}, "Skriv en titel."),
        ({"tidspunkt": ""}, "Vælg dato og klokkeslæt."),
        ({"tidspunkt": "i morgen"}, "er ikke et tidspunkt"),
        ({"tidspunkt": "2020-03-03T10:00"}, "allerede passeret"),
        ({"tidspunkt": f"{_saturday().isoformat()}T10:00"}, "er ikke en arbejdsdag"),
        ({"link": "http://ikke-sikker.example/m"}, "https-adresse"),
        ({"dagsorden": "Sagen om 010190-1234"}, "CPR-nummer"),
    ]:
        data = {"titel": "Netværksmøde", "tidspunkt": f"{_workday(5).isoformat()}T10:00", **changes}
        refused = consultant.post("/netvaerk/moeder", data={**data, "csrf_token": token})
        assert refused.status_code == 422 and field_message in refused.text, changes
        assert "010190-1234" not in refused.text
    assert _counts() == before
    with session_scope() as session:
        assert session.exec(select(func.count()).select_from(NetworkMeeting)).one() == 0


def test_failed_sends_stay_in_the_outbox_and_are_sent_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """No mail server: the sign-up is kept and its confirmation is a failed row, shown on
    Notifikationer; once the server answers, sending it again delivers it."""
    from core.settings import get_settings

    status, text = _sign_up(client())
    assert status == 201 and "kunne ikke sendes lige nu" in text
    with session_scope() as session:
        [row] = session.exec(select(Notification))
    assert row.status == NotificationStatus.FAILED and row.purpose == "netvaerk_tilmeldt" and row.id
    consultant = logged_in()
    assert "Netværk: bekræftet tilmelding" in consultant.get("/notifikationer?status=handling").text

    server = SmtpServer(free_port())
    server.start()
    try:
        monkeypatch.setenv("FORLOEB_SMTP_URL", f"mailto://127.0.0.1:{server.port}?from=forloeb@localhost")
        get_settings.cache_clear()
        assert outbox.retry(row.id)
        [mail] = server.mailbox.to("leder@aarhus.example")
        assert mail.subject == "Velkommen i det tværkommunale netværk"
    finally:
        server.stop()
        get_settings.cache_clear()


def test_members_and_meetings_pages_and_api(smtp: SmtpServer) -> None:
    _members(("751", "Fiktiv Leder", "leder@aarhus.example"), ("101", "Fiktiv Chef", "chef@kbh.example"))
    network.plan_meeting(
        network.MeetingInput("Forårsmøde", f"{_workday(3).isoformat()} 10:00"),
        actor="kk",
        organizer="Konsulent K",
    )
    with session_scope() as session:  # an earlier meeting, held
        session.add(NetworkMeeting(title="Opstartsmøde", starts_at=_past(), created_by="Konsulent K"))
    # A member who joins after a meeting was planned is invited to it too.
    _members(("461", "Fiktiv Rådgiver", "raadgiver@odense.example"))
    assert [r.subject.split(":")[0] for r in smtp.mailbox.to("raadgiver@odense.example")] == [
        "Velkommen i det tværkommunale netværk",
        "Invitation",
    ]

    consultant = logged_in()
    page = consultant.get("/netvaerk/oversigt").text
    members = page[page.index('id="medlemmer"') :]
    assert members.index("Aarhus") < members.index("København") < members.index("Odense")
    assert "Fiktiv Chef" in members and "Medlemmer (3)" in members
    kommende, tidligere = page[page.index('id="kommende"') :], page[page.index('id="tidligere"') :]
    assert (
        "Forårsmøde" in kommende.split("</table>")[0] and "Opstartsmøde" not in kommende.split("</table>")[0]
    )
    assert "Opstartsmøde" in tidligere.split("</table>")[0] and "Afholdt" in tidligere.split("</table>")[0]

    members_api = consultant.get("/api/network/members").json()
    assert [m["kommune"] for m in members_api] == ["Aarhus", "København", "Odense"]
    assert members_api[0]["email"] == "leder@aarhus.example" and members_api[0]["signed_up_at"].endswith("Z")
    meetings_api = consultant.get("/api/network/meetings").json()
    assert [m["title"] for m in meetings_api["upcoming"]] == ["Forårsmøde"]
    assert [m["title"] for m in meetings_api["past"]] == ["Opstartsmøde"]
    assert meetings_api["upcoming"][0]["sent"] == 3 and meetings_api["upcoming"][0]["status"] == "planned"
    assert [m["name"] for m in consultant.get("/api/network/members?kommune=461").json()] == [
        "Fiktiv Rådgiver"
    ]
    assert consultant.get("/api/network/meetings?status=cancelled").json() == {"upcoming": [], "past": []}
    assert client().get("/api/network/members").status_code == 401
    assert client().get("/netvaerk/oversigt").status_code == 303

    cli = CliRunner().invoke(app, ["network", "members"], terminal_width=200)
    assert cli.exit_code == 0 and "3 tilmeldte" in cli.output and "Fiktiv Rådgiver" in cli.output
    cli = CliRunner().invoke(app, ["network", "meetings", "--json"])
    assert cli.exit_code == 0 and [m["title"] for m in json.loads(cli.output)["past"]] == ["Opstartsmøde"]

    # The public page lists the planned meetings, without anyone's name.
    public = client().get("/netvaerk").text
    assert "Forårsmøde" in public and "Fiktiv" not in public and "Opstartsmøde" not in public


def _past() -> datetime:
    return now() - timedelta(days=60)


def test_revisit_reminder_links_to_the_sign_up_page() -> None:
    """The network link in the revisit reminder (as `forloeb preview` renders it with a course's
    own data) opens the working sign-up page."""
    course_id = seed_course(751)
    _recipient, rendered = compose.preview("genbesoeg_paamindelse", course_id)
    [link] = set(re.findall(r"http://\S+/netvaerk\b", rendered.text))
    assert f'href="{link}"' in rendered.html
    page = client().get(urlparse(link).path)
    assert page.status_code == 200 and "Tilmeld dig det tværkommunale netværk" in page.text


def test_demo_network_is_made_once() -> None:
    """`make run`'s demo: members, a meeting held and one ahead (made-up people), once."""
    from devtools.demo import create_demo_network

    assert create_demo_network() == ["Netværket: 3 tilmeldte, et møde afholdt og et planlagt"]
    assert create_demo_network() == []
    upcoming, past = network.list_meetings()
    assert [len(upcoming), len(past), len(network.list_members())] == [1, 1, 3]
    assert all(m.name.startswith("Fiktiv") for m in network.list_members())
