"""Golden test for the stage message added with the format-2 definitions (`fase_start`), rendered
with `notifications.render.render` and the context a stage message gets (kommune, program,
konsulent, modtager, fase {navn, beskrivelse}, link). Regenerate with FORLOEB_UPDATE_GOLDEN=1."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from jinja2 import UndefinedError

from models.programmes import load_catalog
from notifications import render as render_module
from notifications.render import render

GOLDEN = Path(__file__).parent / "golden"
NEW = ("fase_start",)
CONTEXT: dict[str, Any] = {
    "kommune": "Aarhus",
    "program": "Inddragelse af børn og unge i egen sag",
    "konsulent": "Konsulent Testesen",
    "modtager": "Fiktiv Leder",
    "fase": {
        "navn": "Opstart af kompetenceforløbet",
        "beskrivelse": "Børns Vilkår planlægger forløbet for myndighedsmedarbejdere og deres faglige ledere.",
    },
    "link": "",
}


@pytest.fixture(autouse=True)
def _registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """`render` knows only the names in `notifications.render.TEMPLATES`; until the new template is
    registered there (not this test's file), register it for the test."""
    known = render_module.TEMPLATES
    monkeypatch.setattr(render_module, "TEMPLATES", known + tuple(n for n in NEW if n not in known))


@pytest.mark.parametrize("name", NEW)
def test_golden(name: str) -> None:
    rendered = render(name, CONTEXT)
    text = f"Emne: {rendered.subject}\n\n--- tekst ---\n{rendered.text}\n--- html ---\n{rendered.html}"
    path = GOLDEN / f"{name}.txt"
    if os.environ.get("FORLOEB_UPDATE_GOLDEN"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", NEW)
def test_missing_variable_fails_loudly(name: str) -> None:
    for variable in ("kommune", "fase", "modtager"):
        context = {k: v for k, v in CONTEXT.items() if k != variable}
        with pytest.raises(UndefinedError):
            render(name, context)


def test_html_is_escaped() -> None:
    rendered = render("fase_start", {**CONTEXT, "fase": {"navn": "<b>X</b>", "beskrivelse": "a & b"}})
    assert "&lt;b&gt;X&lt;/b&gt;" in rendered.html and "a &amp; b" in rendered.html
    assert "<b>X</b>" in rendered.text


def test_every_stage_message_of_the_bundled_definitions_renders() -> None:
    """Each message a bundled definition sends renders with the stage's own name and description."""
    catalog = load_catalog()
    for programme in catalog.programmes.values():
        for stage in programme.stages:
            for message in (*stage.messages.on_start, *stage.messages.on_end):
                context = {
                    **CONTEXT,
                    "program": programme.name,
                    "fase": {"navn": stage.name, "beskrivelse": stage.description},
                    "link": "https://forloeb.example/x" if message.link != "none" else "",
                }
                rendered = render(message.template, context)
                assert stage.name in rendered.text or message.template != "fase_start"
                assert "Kære Fiktiv Leder" in rendered.text
