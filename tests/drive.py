"""Drive a course flow run without a worker: run it in-process until it suspends."""

from __future__ import annotations

from contextlib import suppress
from typing import Any
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import Pause
from prefect.flow_engine import run_flow

from flows.course import course_flow


def read_run(flow_run_id: str) -> FlowRun:
    with get_client(sync_client=True) as client:
        return client.read_flow_run(UUID(flow_run_id))


def run_until_wait(flow_run_id: str) -> FlowRun:
    """Run the course flow once (as a runner would after a resume); return the run afterwards."""
    flow_run = read_run(flow_run_id)
    with suppress(Pause):  # the run suspended: it waits on a person
        run_flow(course_flow, flow_run=flow_run, return_type="state")
    return read_run(flow_run_id)


def state_of(flow_run_id: str) -> tuple[str, str | None]:
    run = read_run(flow_run_id)
    assert run.state is not None
    return run.state.name, run.state.state_details.pause_key


def answer_for(kind: str, **overrides: Any) -> dict[str, Any]:
    """A valid made-up answer for each form (no personal data about children)."""
    answers: dict[str, dict[str, Any]] = {
        "behovsafklaring": {"formoede_dato": "2026-01-12", "fokus": "Opsporing og underretninger"},
        "samarbejdsaftale": {
            "fokus": "Styrket sagsbehandling",
            "maal": ["Fælles sprog om bekymring", "Bedre samarbejde med skoler"],
            "tidsplan": "Januar til juni",
            "kontaktpersoner": [
                {"navn": "Kontakt Person", "rolle": "Faglig leder", "email": "leder@example.dk"}
            ],
            "underskrevet_dato": "2026-01-20",
            "antal_workshops": 2,
            "antal_sparringsmoeder": 1,
        },
        "arbejdsgruppe": {
            "medlemmer": [
                {"navn": "A Leder", "rolle": "faglig_leder"},
                {"navn": "B Rådgiver", "rolle": "myndighed"},
                {"navn": "C Lærer", "rolle": "almenomraade"},
            ]
        },
        "dataindsamling": {
            "spoergeskema_udsendt": True,
            "spoergeskema_modtaget": True,
            "strategipapirer_modtaget": True,
            "procedurer_modtaget": True,
        },
        "sagsanalyse": {"sagsreferencer": ["sag-01", "sag-02", "sag-03"], "minianalyse_gennemfoert": True},
        "moedeplan": {"tidspunkt": "2026-03-03T10:00:00", "sted": "Rådhuset, mødelokale 2"},
        "moede-afholdt": {"afholdt_dato": "2026-03-03", "noter": "God dialog"},
        "afdaekningsworkshop": {"afholdt_dato": "2026-03-03", "fokusomraader": ["Underretninger"]},
        "proevehandlinger": {
            "proevehandlinger": [{"beskrivelse": "Fast sparring", "ansvarlig": "Faglig leder"}]
        },
        "opsamlingsmoede": {"afholdt_dato": "2026-06-02", "konklusioner": "Fortsæt med sparring"},
        "evaluering": {"udsendt_dato": "2026-06-05", "antal_besvarelser": 12},
        "genbesoeg": {"afholdt_dato": "2026-12-02", "tilmeldt_netvaerk": True},
    }
    return {**answers[kind], **overrides}
