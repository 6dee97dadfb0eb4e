"""The bundled programme definitions (format 2) load and say what the seeds say; every kind of bad
definition is refused with every problem and its line."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from models.forms import FORMS
from models.programmes import DEFINITIONS_DIR, DefinitionError, ProgrammeDef, load_catalog, parse


@pytest.fixture(scope="module")
def programmes() -> dict[tuple[str, int], ProgrammeDef]:
    catalog = load_catalog()
    assert catalog.refused == {}, {name: [str(p) for p in ps] for name, ps in catalog.refused.items()}
    return catalog.programmes


def _stages(programme: ProgrammeDef, track: str) -> list[str]:
    return [s.key for t in programme.tracks if t.key == track for s in t.stages]


def _steps(programme: ProgrammeDef) -> list[str]:
    return [step.key for stage in programme.stages for step in stage.steps]


# --- the bundled files ---------------------------------------------------------------------------


def test_every_bundled_file_loads(programmes: dict[tuple[str, int], ProgrammeDef]) -> None:
    assert {
        ("minoritetsetniske", 1),
        ("minoritetsetniske", 2),
        ("inddragelse", 1),
        ("overgreb", 1),
    } <= set(programmes)
    for path in DEFINITIONS_DIR.glob("*.yaml"):
        programme = parse(path.read_text(encoding="utf-8"), path.name)
        assert path.stem == f"{programme.key}-v{programme.version}"


def test_every_form_of_every_programme_is_a_registered_model(
    programmes: dict[tuple[str, int], ProgrammeDef],
) -> None:
    for programme in programmes.values():
        for form in programme.forms:
            assert form.model in FORMS
            # sample_answer is looked up by the form's key (the task kind): keys equal model names.
            assert form.key == form.model


def test_minoritetsetniske_v2_keeps_the_stages_and_steps_of_v1(
    programmes: dict[tuple[str, int], ProgrammeDef],
) -> None:
    v1, v2 = programmes[("minoritetsetniske", 1)], programmes[("minoritetsetniske", 2)]
    assert [s.key for s in v2.stages] == [s.key for s in v1.stages]
    assert len(v2.stages) == 11 and len(v2.tracks) == 1
    assert _steps(v2) == _steps(v1)
    for old, new in zip(v1.stages, v2.stages, strict=True):
        assert [s.form for s in new.steps] == [s.form for s in old.steps]
        assert new.repeat == old.repeat


def test_minoritetsetniske_v2_ankestyrelsen_and_siri_co_facilitate(
    programmes: dict[tuple[str, int], ProgrammeDef],
) -> None:
    v2 = programmes[("minoritetsetniske", 2)]
    for role in ("ankestyrelsen", "siri"):
        assert v2.organisation_of(role).kind == "partner"
        assert v2.role(role).answers == "link"
        assert v2.organisation_of(role).email and v2.organisation_of(role).email.endswith(".example")
    for kind in ("afdaekningsworkshop", "workshop"):
        assert {"kommune", "ankestyrelsen", "siri"} <= set(v2.meeting_kind(kind).invite)
    for kind in ("ledersparring", "opsamlingsmoede", "genbesoeg"):
        assert v2.meeting_kind(kind).invite == ("kommune",)
    plan = v2.form("moedeplan")
    assert plan.field("meeting_mode") == "moedeform" and plan.field("meeting_link") == "link"


def test_inddragelse_has_a_main_track_and_boerns_vilkaars_parallel_track(
    programmes: dict[tuple[str, int], ProgrammeDef],
) -> None:
    p = programmes[("inddragelse", 1)]
    assert [(t.key, t.owner) for t in p.tracks] == [("hoved", "konsulent"), ("kompetence", "boerns-vilkaar")]
    assert _stages(p, "hoved") == [
        "opstartsmoede",
        "afdaekning",
        "udviklingsplan",
        "udviklingsarbejde",
        "afsluttende-opfoelgning",
        "evaluering",
    ]
    assert _stages(p, "kompetence") == ["kompetence-opstart", "traeningsdage", "supervision"]
    partner = p.organisation_of("boerns-vilkaar")
    assert (partner.kind, partner.email) == ("partner", "forloeb@boernsvilkaar.example")
    assert p.role("boerns-vilkaar").answers == "link"
    # Split after the plan, join before the closing follow-up.
    assert p.stage("kompetence-opstart").after == ("udviklingsplan",)
    assert p.predecessors("kompetence-opstart") == ("udviklingsplan",)
    assert p.predecessors("afsluttende-opfoelgning") == ("udviklingsarbejde", "supervision")
    assert {"traeningsdage", "udviklingsplan", "opstartsmoede"} <= p.ancestors("afsluttende-opfoelgning")
    assert p.last_stages() == ("evaluering", "supervision")
    # The partner's steps are the partner's.
    for key in ("kompetence-opstart", "traeningsdage", "supervision"):
        assert {s.assignee for s in p.stage(key).steps} == {"boerns-vilkaar"}
    # Whole and half training days, individual and joint supervision; physical or virtual.
    assert FORMS["traeningsdag-plan"].model_fields["varighed"].annotation.__args__ == ("hel", "halv")
    assert FORMS["supervision-plan"].model_fields["supervisionsform"].annotation.__args__ == (
        "individuel",
        "faelles",
    )
    for key in ("moedeplan", "traeningsdag-plan", "supervision-plan"):
        assert p.form(key).field("meeting_link") == "link"


def test_inddragelse_counts_come_from_the_plan(programmes: dict[tuple[str, int], ProgrammeDef]) -> None:
    p = programmes[("inddragelse", 1)]
    meetings, days, supervision = (p.stage(k) for k in ("udviklingsarbejde", "traeningsdage", "supervision"))
    assert (meetings.repeat, days.repeat, supervision.repeat) != (None, None, None)
    plan = {
        "udviklingsplan": {"antal_raadgivningsmoeder": 5, "antal_traeningsdage": 3, "antal_supervisioner": 6}
    }
    assert (p.rounds(meetings, plan), p.rounds(days, plan), p.rounds(supervision, plan)) == (5, 3, 6)
    # Børns Vilkår's own plan overrides; out of bounds is clamped; no answer gives the default.
    changed = {**plan, "kompetenceplan": {"antal_traeningsdage": 7, "antal_supervisioner": None}}
    assert (p.rounds(days, changed), p.rounds(supervision, changed)) == (7, 6)
    assert p.rounds(meetings, {"udviklingsplan": {"antal_raadgivningsmoeder": 50}}) == 8
    assert (p.rounds(meetings, {}), p.rounds(days, {}), p.rounds(supervision, {})) == (4, 4, 4)
    assert p.step_of_task("traeningsdag-afholdt-2") == (days, days.steps[1], 2)


def test_overgreb_stages_beredskab_and_the_timer(programmes: dict[tuple[str, int], ProgrammeDef]) -> None:
    p = programmes[("overgreb", 1)]
    assert len(p.tracks) == 1
    assert _stages(p, "hoved") == [
        "indledende-analyse",
        "beredskab",
        "udviklingsaktiviteter",
        "afsluttende-opfoelgning",
        "evaluering",
    ]
    assert 48 <= sum(s.planned_weeks for s in p.stages) <= 56  # about 12 months
    beredskab = p.stage("beredskab")
    updated = beredskab.steps[-1]
    assert (updated.assignee, updated.form) == ("kommune", "beredskab")
    activities = p.stage("udviklingsaktiviteter")
    assert activities.repeat is not None
    assert p.rounds(activities, {"indledende-analyse": {"antal_udviklingsaktiviteter": 2}}) == 2
    follow_up = p.stage("afsluttende-opfoelgning")
    assert follow_up.starts is not None and follow_up.starts.after == "opstartsmoede.afholdt_dato"
    assert follow_up.starts.months == 10
    assert [m.template for m in p.stage("evaluering").messages.on_start] == ["evaluering"]


def test_the_beredskab_form_asks_for_updated_known_and_used() -> None:
    from pydantic import ValidationError

    from models.examples import sample_answer

    answer = sample_answer("beredskab", date(2026, 3, 2))
    FORMS["beredskab"].model_validate(answer)
    with pytest.raises(ValidationError, match="lederne"):
        FORMS["beredskab"].model_validate({**answer, "kendt_af_ledere": False})


def test_meeting_plans_are_physical_or_virtual_with_a_link() -> None:
    from pydantic import ValidationError

    plan = FORMS["moedeplan"]
    old = plan.model_validate({"tidspunkt": "2026-03-03 10:00", "sted": "Rådhuset"})
    assert (old.moedeform, old.link) == ("fysisk", None)  # answers stored before v2 still read
    virtual = {"tidspunkt": "2026-03-03 10:00", "sted": "Teams", "moedeform": "virtuelt"}
    with pytest.raises(ValidationError, match="virtuelt møde kræver et mødelink"):
        plan.model_validate(virtual)
    with pytest.raises(ValidationError, match="https"):
        plan.model_validate({**virtual, "link": "http://moede.example/a"})
    assert plan.model_validate({**virtual, "link": " https://moede.example/a?x=1 "}).link == (
        "https://moede.example/a?x=1"
    )
    for name in ("traeningsdag-plan", "supervision-plan"):
        with pytest.raises(ValidationError, match="mødelink"):
            FORMS[name].model_validate({**virtual, "tema": "x"} if name == "traeningsdag-plan" else virtual)


@pytest.mark.parametrize("kind", sorted(FORMS))
def test_sample_answers_validate(kind: str) -> None:
    from models.examples import sample_answer

    answer = sample_answer(kind, date(2026, 3, 2))
    form = FORMS[kind].model_validate(answer)
    assert FORMS[kind].model_validate(form.model_dump(mode="json")) == form


# --- bad definitions -----------------------------------------------------------------------------

GOOD = """\
format: 2
key: proeve
version: 1
name: Prøve
description: Et lille program til test.
organisations:
  - {key: socialstyrelsen, name: Socialstyrelsen, kind: agency}
  - {key: kommune, name: Kommunen, kind: municipality}
  - {key: partner, name: Partner, kind: partner, email: p@partner.example}
roles:
  - {key: konsulent, name: Konsulent, organisation: socialstyrelsen, answers: login}
  - {key: kommune, name: Kommunen, organisation: kommune, answers: link}
  - {key: partner, name: Partner, organisation: partner, answers: link}
meeting_kinds:
  - {key: moede, title: Møde, invite: [kommune]}
forms:
  - {key: behovsafklaring, model: behovsafklaring}
  - {key: samarbejdsaftale, model: samarbejdsaftale, fields: {contacts: kontaktpersoner}}
  - {key: moedeplan, model: moedeplan, fields: {meeting_time: tidspunkt, location: sted}}
  - {key: moede-afholdt, model: moede-afholdt, fields: {held_date: afholdt_dato}}
evaluation:
  questions: [{key: udbytte, text: "Udbytte?", kind: scale}]
tracks:
  - key: hoved
    name: Hoved
    owner: konsulent
    stages:
      - key: start
        name: Start
        description: Start.
        planned_weeks: 2
        steps:
          - {key: aftale, title: Aftale, form: samarbejdsaftale}
      - key: moeder
        name: Møder
        description: Møder.
        planned_weeks: 4
        repeat: {count_from: [aftale.antal_workshops], default: 2, minimum: 1, maximum: 3}
        steps:
          - {key: moede-plan, title: "Møde {n}", form: moedeplan, meeting: {kind: moede, action: plan}}
          - key: moede-holdt
            title: "Møde {n} holdt"
            form: moede-afholdt
            meeting: {kind: moede, action: hold}
      - key: slut
        name: Slut
        description: Slut.
        planned_weeks: 2
        after: [partner-fase]
        messages:
          on_start: [{template: evaluering, to: [kommune], link: evaluation}]
        steps:
          - {key: slut, title: Slut, form: behovsafklaring}
  - key: partnerspor
    name: Partnerspor
    owner: partner
    stages:
      - key: partner-fase
        name: Partnerfase
        description: Partnerens fase.
        planned_weeks: 3
        after: [start]
        steps:
          - {key: partner-trin, title: Partnerens trin, form: behovsafklaring, assignee: partner}
"""


def _line(text: str, marker: str) -> int:
    """The 1-based line of the only line containing `marker`."""
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if marker in line]
    assert len(lines) == 1, (marker, lines)
    return lines[0]


def _bad(old: str, new: str) -> tuple[str, list]:
    assert old in GOOD, old
    text = GOOD.replace(old, new, 1)
    with pytest.raises(DefinitionError) as error:
        parse(text, "proeve-v1.yaml")
    assert error.value.source == "proeve-v1.yaml"
    assert error.value.problems
    return text, error.value.problems


def _has(problems: list, pattern: str, line: int) -> None:
    found = [p for p in problems if re.search(pattern, p.message)]
    assert found, (pattern, [str(p) for p in problems])
    assert any(p.line == line for p in found), (line, [str(p) for p in found])
    assert any(f"linje {line}" in str(p) for p in found)


def test_the_small_definition_is_valid() -> None:
    p = parse(GOOD, "proeve-v1.yaml")
    assert p.predecessors("slut") == ("moeder", "partner-fase")


def test_unknown_form_is_refused_with_its_line() -> None:
    text, problems = _bad(
        "{key: slut, title: Slut, form: behovsafklaring}", "{key: slut, title: Slut, form: nope}"
    )
    _has(problems, r"ukendt formular 'nope'", _line(text, "form: nope"))


def test_unknown_form_model_is_refused_with_its_line() -> None:
    text, problems = _bad(
        "{key: behovsafklaring, model: behovsafklaring}", "{key: behovsafklaring, model: nope}"
    )
    _has(problems, r"ukendt formularmodel 'nope'", _line(text, "model: nope"))


def test_form_field_that_the_model_does_not_have_is_refused() -> None:
    text, problems = _bad("location: sted}", "location: adresse}")
    _has(problems, r"intet felt 'adresse'", _line(text, "location: adresse"))


@pytest.mark.parametrize(
    ("old", "new", "marker"),
    [
        (
            "form: behovsafklaring, assignee: partner}",
            "form: behovsafklaring, assignee: nobody}",
            "assignee: nobody",
        ),
        ("    owner: partner\n", "    owner: nobody\n", "owner: nobody"),
        (
            "{key: moede, title: Møde, invite: [kommune]}",
            "{key: moede, title: Møde, invite: [nobody]}",
            "[nobody]",
        ),
        ("to: [kommune], link: evaluation}", "to: [nobody], link: evaluation}", "to: [nobody]"),
    ],
)
def test_unknown_role_is_refused_with_its_line(old: str, new: str, marker: str) -> None:
    text, problems = _bad(old, new)
    _has(problems, r"ukendt rolle 'nobody'", _line(text, marker))


def test_role_of_an_unknown_organisation_is_refused() -> None:
    text, problems = _bad("organisation: partner, answers", "organisation: ukendt, answers")
    _has(problems, r"ukendt organisation 'ukendt'", _line(text, "organisation: ukendt"))


def test_join_to_a_missing_stage_is_refused_with_its_line() -> None:
    text, problems = _bad("after: [partner-fase]", "after: [findes-ikke]")
    _has(problems, r"join til en fase, der ikke findes: 'findes-ikke'", _line(text, "findes-ikke"))


def test_a_cycle_across_tracks_is_refused() -> None:
    # start waits for partner-fase, which waits for start.
    text, problems = _bad(
        "        planned_weeks: 2\n        steps:\n          - {key: aftale",
        ("        planned_weeks: 2\n        after: [partner-fase]\n        steps:\n          - {key: aftale"),
    )
    # The location is the tracks as a whole (the line of the first track), not one stage's `after`.
    _has(
        problems,
        r"venter i ring.*start.*partner-fase|venter i ring.*partner-fase.*start",
        _line(text, "key: hoved"),
    )


def test_a_cycle_within_a_track_is_refused() -> None:
    text, problems = _bad("after: [partner-fase]", "after: [partner-fase, slut]")
    _has(problems, r"kan ikke vente på sig selv", _line(text, "after: [partner-fase, slut]"))
    text, problems = _bad(
        "        planned_weeks: 4\n        repeat:",
        "        planned_weeks: 4\n        after: [slut]\n        repeat:",
    )
    _has(problems, r"venter i ring", _line(text, "key: hoved"))


@pytest.mark.parametrize(
    ("repeat", "pattern"),
    [
        ("repeat: {count_from: [aftale.antal_workshops]}", r"Field required"),
        ("repeat: {count_from: [aftale.antal_workshops], default: 2}", r"Field required"),
        (
            "repeat: {count_from: [aftale.antal_workshops], default: 5, minimum: 1, maximum: 3}",
            r"minimum <= default",
        ),
        (
            "repeat: {count_from: [aftale.antal_workshops], default: 2, minimum: 0, maximum: 3}",
            r"greater than",
        ),
    ],
)
def test_a_repeat_without_bounds_is_refused(repeat: str, pattern: str) -> None:
    text, problems = _bad(
        "repeat: {count_from: [aftale.antal_workshops], default: 2, minimum: 1, maximum: 3}", repeat
    )
    _has(problems, pattern, _line(text, "repeat:"))


def test_a_repeat_counted_from_a_later_or_wrong_field_is_refused() -> None:
    text, problems = _bad("count_from: [aftale.antal_workshops]", "count_from: [slut.antal_formoeder]")
    _has(problems, r"afsluttet før", _line(text, "count_from"))
    text, problems = _bad("count_from: [aftale.antal_workshops]", "count_from: [aftale.underskrevet_dato]")
    _has(problems, r"ikke et helt tal", _line(text, "count_from"))


def test_a_repeat_counted_from_a_text_list_is_refused() -> None:
    text, problems = _bad("count_from: [aftale.antal_workshops]", "count_from: [aftale.maal]")
    _has(problems, r"ikke et helt tal", _line(text, "count_from"))


def test_a_timer_after_a_datetime_field_is_refused() -> None:
    step = "          - {key: aftale, title: Aftale, form: samarbejdsaftale}\n"
    text = GOOD.replace(
        step,
        step
        + "          - {key: formoede, title: F, form: moedeplan, meeting: {kind: moede, action: plan}}\n",
    ).replace(
        "        after: [start]\n",
        "        after: [start]\n        starts: {after: formoede.tidspunkt, months: 1}\n",
    )
    with pytest.raises(DefinitionError) as error:
        parse(text, "proeve-v1.yaml")
    _has(error.value.problems, r"ikke en dato", _line(text, "starts:"))


def test_a_timer_after_a_field_that_is_no_date_is_refused() -> None:
    text, problems = _bad(
        "        after: [start]\n", "        after: [start]\n        starts: {after: aftale.tidsplan}\n"
    )
    _has(problems, r"ikke en dato", _line(text, "starts:"))
    text, problems = _bad(
        "        after: [start]\n", "        after: [start]\n        starts: {after: slut.formoede_dato}\n"
    )
    _has(problems, r"afsluttet før", _line(text, "starts:"))


@pytest.mark.parametrize(
    ("old", "new", "marker", "what"),
    [
        ("{key: kommune, name: Kommunen,", "{key: socialstyrelsen, name: K,", "name: K,", "organisation"),
        ("{key: partner, name: Partner, org", "{key: kommune, name: P, org", "name: P,", "rolle"),
        ("      - key: slut\n", "      - key: start\n", None, "fase"),
        ("{key: slut, title: Slut, form", "{key: aftale, title: Slut, form", "title: Slut", "trin"),
        ("{key: partner-trin,", "{key: aftale,", "Partnerens trin", "trin"),
        ("{key: moede-afholdt, model", "{key: moedeplan, model", "model: moede-afholdt", "formular"),
        ("  - key: partnerspor\n", "  - key: hoved\n", None, "spor"),
    ],
)  # fmt: skip
def test_a_duplicate_key_is_refused_with_the_line_of_the_second(
    old: str, new: str, marker: str | None, what: str
) -> None:
    text, problems = _bad(old, new)
    if marker is None:  # the second occurrence of the repeated key line
        marker_lines = [i for i, line in enumerate(text.splitlines(), start=1) if line == new.rstrip("\n")]
        line = marker_lines[-1]
    else:
        line = _line(text, marker)
    _has(problems, rf"{what} '[a-z-]+' findes allerede", line)


def test_a_key_that_is_not_kebab_case_is_refused() -> None:
    text, problems = _bad("{key: moede-plan,", "{key: Moede_Plan,")
    _has(problems, r"kebab-case", _line(text, "Moede_Plan"))


def test_a_message_template_that_does_not_exist_is_refused() -> None:
    text, problems = _bad("template: evaluering, to: [kommune]", "template: findes_ikke, to: [kommune]")
    # The location is the stage's `messages` (its first line, on_start), not the one message.
    _has(problems, r"skabelonen 'findes_ikke' findes ikke", _line(text, "on_start:"))
    text, problems = _bad(
        "{key: moede, title: Møde, invite: [kommune]}",
        "{key: moede, title: Møde, invite: [kommune], reminders: [{days: 3, template: findes_ikke}]}",
    )
    _has(problems, r"skabelonen 'findes_ikke' findes ikke", _line(text, "findes_ikke"))


@pytest.mark.parametrize(
    ("old", "new", "marker"),
    [
        ("name: Prøve\n", "name: Prøve\nfarve: rød\n", "farve"),
        ("        planned_weeks: 3\n", "        planned_weeks: 3\n        varighed: 3\n", "varighed"),
        ("{key: slut, title: Slut, form", "{key: slut, title: Slut, hvem: x, form", "hvem: x"),
        ("meeting: {kind: moede, action: hold}", "meeting: {kind: moede, action: hold, sted: x}", "sted: x"),
        ("kind: partner, email", "kind: partner, telefon: '1', email", "telefon"),
    ],
)  # fmt: skip
def test_unknown_keys_are_refused_with_their_line(old: str, new: str, marker: str) -> None:
    text, problems = _bad(old, new)
    _has(problems, r"Extra inputs are not permitted", _line(text, marker))


def test_meeting_rules_are_checked() -> None:
    text, problems = _bad("meeting: {kind: moede, action: hold}", "meeting: {kind: ukendt, action: hold}")
    _has(problems, r"ukendt mødetype 'ukendt'", _line(text, "kind: ukendt"))
    text, problems = _bad("            form: moede-afholdt\n", "            form: moedeplan\n")
    # The location is the step's form (the line of `form:`).
    _has(problems, r"angiver ikke held_date", _line(text, "            form: moedeplan"))
    text, problems = _bad("{key: slut, title: Slut, form: behovsafklaring}", "{key: slut, title: Slut}")
    _has(problems, r"kun et mødetrin med action: schedule", _line(text, "{key: slut, title: Slut}"))


def test_every_problem_is_listed_at_once() -> None:
    text = GOOD.replace("assignee: partner}", "assignee: nobody}").replace(
        "after: [partner-fase]", "after: [x-y]"
    )
    text = text.replace(
        "{key: slut, title: Slut, form: behovsafklaring}", "{key: slut, title: Slut, form: nope}"
    )
    with pytest.raises(DefinitionError) as error:
        parse(text, "proeve-v1.yaml")
    lines = {p.line for p in error.value.problems}
    assert {_line(text, "assignee: nobody"), _line(text, "x-y"), _line(text, "form: nope")} <= lines
    assert "proeve-v1.yaml" in str(error.value)


def test_yaml_syntax_errors_and_non_mappings_are_refused() -> None:
    with pytest.raises(DefinitionError) as error:
        parse(GOOD.replace("name: Prøve\n", "name: [Prøve\n"), "x.yaml")
    assert error.value.problems[0].line is not None and "YAML" in error.value.problems[0].message
    with pytest.raises(DefinitionError, match="mapping"):
        parse("- a\n- b\n", "x.yaml")


def test_a_bad_file_is_refused_and_the_good_ones_are_served(tmp_path: Path) -> None:
    (tmp_path / "proeve-v1.yaml").write_text(GOOD.replace("form: behovsafklaring}", "form: nope}", 1))
    (tmp_path / "proeve-v2.yaml").write_text(GOOD.replace("version: 1", "version: 2"))
    (tmp_path / "dublet.yaml").write_text(GOOD.replace("version: 1", "version: 2"))
    catalog = load_catalog(tmp_path)
    assert ("proeve", 2) in catalog.programmes and ("proeve", 1) not in catalog.programmes
    assert ("inddragelse", 1) in catalog.programmes
    refused = {name.rsplit("/", 1)[-1]: problems for name, problems in catalog.refused.items()}
    assert set(refused) == {"proeve-v1.yaml", "proeve-v2.yaml"} or set(refused) == {
        "proeve-v1.yaml",
        "dublet.yaml",
    }
    assert any("findes allerede" in p.message for ps in refused.values() for p in ps)


def test_the_annotated_example_in_the_format_reference_is_valid() -> None:
    doc = (DEFINITIONS_DIR.parent.parent / "docs" / "PROGRAMMES.md").read_text(encoding="utf-8")
    example = doc.split("## An annotated example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    p = parse(example, "PROGRAMMES.md")
    assert [t.key for t in p.tracks] == ["hoved", "kompetence"]
    assert p.predecessors("opfoelgning") == ("plan", "traeningsdage")
