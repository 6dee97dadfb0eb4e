"""Danish words for stored values (statuses, roles, message purposes): one list for the CLI,
the dashboard and the API, so a consultant reads the same word everywhere."""

from __future__ import annotations

from typing import Any

LABELS = {
    # courses, stages, tasks, meetings
    "starter": "Starter",
    "aktiv": "Aktiv",
    "afsluttet": "Afsluttet",
    "fejlet": "Fejlet",
    "annulleret": "Annulleret",
    "planlagt": "Planlagt",
    "igang": "I gang",
    "aaben": "Åben",
    "udfoert": "Udført",
    "afholdt": "Afholdt",
    "aflyst": "Aflyst",
    # roles
    "konsulent": "Konsulent",
    "kommune": "Kommune",
    "admin": "Administrator",
    # outbox
    "pending": "Venter",
    "sending": "Sendes",
    "sent": "Sendt",
    "failed": "Fejlet",
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
}


def label(value: Any) -> str:
    """'aaben' -> 'Åben'; enums by their value; unknown values unchanged."""
    text = str(getattr(value, "value", value))
    return LABELS.get(text, text)
