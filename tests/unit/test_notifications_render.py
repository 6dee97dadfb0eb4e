"""Golden tests: each template's rendered text is checked in under tests/golden/ and reviewed by
reading it. Regenerate after an intended text change with FORLOEB_UPDATE_GOLDEN=1."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError, meta

from notifications.render import TEMPLATE_DIR, TEMPLATES, _environment, danish_datetime, render

GOLDEN = Path(__file__).parent / "golden"
BASE: dict[str, Any] = {
    "kommune": "Aarhus",
    "program": "Socialt udsatte minoritetsetniske børn og unge",
    "konsulent": "Konsulent Testesen",
    "modtager": "Fiktiv Leder",
}
MEETING = {
    "titel": "Workshop 1",
    "kind": "workshop",
    "tidspunkt": datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
    "sted": "Rådhuset, mødelokale 2",
}
NETWORK_MEETING = {
    "titel": "Netværksmøde om inddragelse",
    "tidspunkt": datetime(2026, 3, 3, 9, 0, tzinfo=UTC),
    "sted": "Socialstyrelsen, Odense",
    "link": "https://teams.example/m/1",
    "dagsorden": "",
}
TASK = {"titel": "Registrér arbejdsgruppens medlemmer", "frist": date(2026, 2, 6)}
CONTEXTS: dict[str, dict[str, Any]] = {
    "moede_invitation": {"moede": MEETING},
    "moede_flyttet": {
        "moede": {**MEETING, "tidspunkt": datetime(2026, 3, 4, 12, 30, tzinfo=UTC)},
        "tidligere": MEETING["tidspunkt"],
    },
    "moede_aflyst": {"moede": MEETING},
    "fase_start": {
        "program": "Inddragelse af børn og unge i egen sag",
        "fase": {
            "navn": "Opstart af kompetenceforløbet",
            "beskrivelse": (
                "Børns Vilkår planlægger forløbet for myndighedsmedarbejdere og deres faglige ledere."
            ),
        },
        "link": "",
    },
    "moede_paamindelse": {"moede": {**MEETING, "kind": "afdaekningsworkshop", "titel": "Afdækningsworkshop"}},
    "genbesoeg_paamindelse": {
        "moede": {**MEETING, "kind": "genbesoeg", "titel": "Genbesøg", "sted": "Aftales nærmere"},
        "netvaerk_link": "http://127.0.0.1:8000/netvaerk",
    },
    "opgave_ny": {"opgave": TASK, "link": "http://127.0.0.1:8000/k/T", "link_udloeber": date(2026, 2, 19)},
    "opgave_rykker": {"opgave": TASK, "nummer": 2, "link": "http://127.0.0.1:8000/k/TOKEN"},
    "opgave_eskalering": {"opgave": TASK, "nummer": 3, "link": "http://127.0.0.1:8000/opgaver/7"},
    "evaluering": {"link": "http://127.0.0.1:8000/evaluering/c0ffee"},
    "evaluering_paamindelse": {"link": "http://127.0.0.1:8000/evaluering/c0ffee", "nummer": 2},
    "ansoegning_kvittering": {
        "program": "Vold og seksuelle overgreb mod børn og unge",
        "ansoegning": {
            "nummer": 7,
            "modtaget": datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
            "mangler": ["underskrevet erklæring fra direktør eller centerchef (PDF)"],
        },
        "link": "http://127.0.0.1:8000/a/TOKEN",
    },
    "ansoegning_mangler": {
        "ansoegning": {"nummer": 7, "mangler": ["referat fra et ledelsesmøde (PDF)"]},
        "link": "http://127.0.0.1:8000/a/TOKEN",
    },
    "ansoegning_optaget": {
        "ansoegning": {"nummer": 7, "start": date(2026, 8, 17)},
        "link": "http://127.0.0.1:8000/a/TOKEN",
    },
    "ansoegning_udskudt": {
        "ansoegning": {"nummer": 7, "start": date(2027, 1, 4), "periode": "1. halvår 2027"},
        "link": "http://127.0.0.1:8000/a/TOKEN",
    },
    "ansoegning_afslag": {
        "ansoegning": {
            "nummer": 7,
            "begrundelse": "Den ledelsesmæssige opbakning fremstår ikke tydeligt nok",
        },
    },
    "faseskift": {
        "fase": {"nummer": 3, "antal": 11, "navn": "Arbejdsgruppe", "beskrivelse": "Kommunen nedsætter..."},
        "opgaver": [TASK],
        "link": "http://127.0.0.1:8000/forloeb/1",
    },
    "netvaerk_tilmeldt": {"link": "http://127.0.0.1:8000/netvaerk/TOKEN"},
    "netvaerk_invitation": {
        "moede": {**NETWORK_MEETING, "dagsorden": "1. Velkomst\n2. Erfaringer fra genbesøgene"},
        "link": "http://127.0.0.1:8000/netvaerk/TOKEN",
    },
    "netvaerk_flyttet": {
        "moede": {**NETWORK_MEETING, "tidspunkt": datetime(2026, 3, 4, 12, 30, tzinfo=UTC)},
        "tidligere": NETWORK_MEETING["tidspunkt"],
        "link": "http://127.0.0.1:8000/netvaerk/TOKEN",
    },
    "netvaerk_aflyst": {"moede": NETWORK_MEETING, "link": "http://127.0.0.1:8000/netvaerk/TOKEN"},
}
# Everything a template may use. Nothing about children: no names, CPR numbers or case content.
ALLOWED = {
    "kommune", "program", "konsulent", "modtager", "moede", "tidligere", "netvaerk_link",
    "opgave", "nummer", "link", "link_udloeber", "fase", "opgaver", "FORMAAL", "ansoegning",
}  # fmt: skip


def test_danish_date() -> None:
    assert danish_datetime(datetime(2026, 3, 3, 9, 0, tzinfo=UTC)) == "tirsdag den 3. marts 2026 kl. 10.00"
    # Summer time: 12.00 UTC is 14.00 in Copenhagen.
    assert danish_datetime(datetime(2026, 6, 2, 12, 0, tzinfo=UTC)) == "tirsdag den 2. juni 2026 kl. 14.00"


@pytest.mark.parametrize("name", TEMPLATES)
def test_golden(name: str) -> None:
    rendered = render(name, {**BASE, **CONTEXTS[name]})
    text = f"Emne: {rendered.subject}\n\n--- tekst ---\n{rendered.text}\n--- html ---\n{rendered.html}"
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("FORLOEB_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", TEMPLATES)
def test_missing_variable_fails_loudly(name: str) -> None:
    context = {**BASE, **CONTEXTS[name]}
    del context["kommune" if name != "opgave_rykker" else "link"]
    with pytest.raises(UndefinedError):
        render(name, context)


def test_templates_use_only_allowed_variables() -> None:
    env = _environment()
    for path in TEMPLATE_DIR.iterdir():
        assert env.loader is not None
        source = env.loader.get_source(env, path.name)[0]
        used = meta.find_undeclared_variables(env.parse(source))
        assert used <= ALLOWED, (path.name, used - ALLOWED)


def test_html_is_escaped() -> None:
    rendered = render("evaluering", {**BASE, "program": "<b>X</b>", "link": "http://x"})
    assert "<b>X</b>" not in rendered.html and "&lt;b&gt;" in rendered.html
    assert "<b>X</b>" in rendered.text
