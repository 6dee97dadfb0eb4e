"""Danish words for stored values (statuses, roles, message purposes): one list for the CLI,
the dashboard and the API, so a consultant reads the same word everywhere."""

from __future__ import annotations

from typing import Any

LABELS = {
    # courses, stages, tasks, meetings, reminder runs (the stored codes are English)
    "starting": "Starter",
    "active": "Aktiv",
    "completed": "Afsluttet",
    "failed": "Fejlet",  # the outbox's 'failed' too
    "cancelled": "Annulleret",
    "planned": "Planlagt",
    "scheduled": "Planlagt",
    "done": "Afsluttet",
    "open": "Åben",
    "held": "Afholdt",
    # roles: dashboard users; task assignees (from the programme definitions)
    "consultant": "Konsulent",
    "admin": "Administrator",
    "konsulent": "Konsulent",
    "kommune": "Kommune",
    # outbox
    "pending": "Venter",
    "sending": "Sendes",
    "sent": "Sendt",
    # message purposes
    "moede_invitation": "Mødeinvitation",
    "moede_flyttet": "Møde flyttet",
    "moede_aflyst": "Møde aflyst",
    "moede_paamindelse": "Mødepåmindelse",
    "genbesoeg_paamindelse": "Påmindelse om genbesøg",
    "opgave_ny": "Ny opgave til kommunen",
    "opgave_rykker": "Rykker for opgave",
    "opgave_eskalering": "Overskredet opgave (til konsulent)",
    "evaluering": "Evaluering",
    "faseskift": "Ny fase",
    "ansoegning_kvittering": "Kvittering for ansøgning",
    "ansoegning_mangler": "Anmodning om manglende dokument",
    "ansoegning_optaget": "Afgørelse: optaget",
    "ansoegning_udskudt": "Afgørelse: senere opstart",
    "ansoegning_afslag": "Afgørelse: afslag",
    # applications (issue 13)
    "submitted": "Modtaget",
    "assessment": "Under vurdering",
    "accepted": "Optaget",
    "deferred": "Udskudt",
    "rejected": "Afslået",
    "withdrawn": "Trukket tilbage",
    "started": "Forløb startet",
    "accept": "Optaget",
    "defer": "Udskudt til senere opstart",
    "reject": "Afslag",
    # the network (issue 15)
    "netvaerk_tilmeldt": "Netværk: bekræftet tilmelding",
    "netvaerk_invitation": "Netværk: mødeinvitation",
    "netvaerk_flyttet": "Netværk: møde flyttet",
    "netvaerk_aflyst": "Netværk: møde aflyst",
}


BY_KIND = {
    # Where one code means different things, the enum's class picks the word.
    ("StageStatus", "active"): "I gang",
    ("TaskStatus", "completed"): "Udført",
    ("MeetingStatus", "cancelled"): "Aflyst",
    ("NetworkMeetingStatus", "cancelled"): "Aflyst",
}


def label(value: Any) -> str:
    """'open' -> 'Åben'; enums by their value (and their kind: a task 'completed' is 'Udført',
    a course 'completed' is 'Afsluttet'); unknown values unchanged."""
    text = str(getattr(value, "value", value))
    return BY_KIND.get((type(value).__name__, text)) or LABELS.get(text, text)
