from __future__ import annotations

import itertools
from datetime import date

import pytest
from pydantic import ValidationError

from core.workdays import is_working_day
from devtools.demo import sample_answer
from models.forms import FORMS, ArbejdsgruppeForm, MoedeplanForm, SagsanalyseForm
from models.programmes import (
    MINORITETSETNISKE_V1,
    PROGRAMMES,
    MeetingRule,
    ProgrammeDef,
    RepeatRule,
    StageDef,
    StepDef,
    get_programme,
)
from services.flow_steps import plan_stages


def test_minoritetsetniske_has_the_eleven_stages_in_order() -> None:
    keys = [stage.key for stage in MINORITETSETNISKE_V1.stages]
    assert keys == [
        "behovsafklaring",
        "samarbejdsaftale",
        "arbejdsgruppe",
        "dataindsamling",
        "sagsanalyse",
        "afdaekningsworkshop",
        "workshops",
        "ledersparring",
        "opsamlingsmoede",
        "evaluering",
        "genbesoeg",
    ]
    assert get_programme("minoritetsetniske", 1) is MINORITETSETNISKE_V1


def test_every_definition_validates_again_from_its_data() -> None:
    for programme in PROGRAMMES.values():
        assert ProgrammeDef.model_validate(programme.model_dump()) == programme


def _stage(key: str, steps: list[StepDef], repeat: RepeatRule | None = None) -> StageDef:
    return StageDef(key=key, name=key, description="", planned_weeks=1, steps=steps, repeat=repeat)


def test_definitions_refuse_bad_keys_forms_and_references() -> None:
    with pytest.raises(ValidationError, match="kebab-case"):
        StepDef(key="bad_key", title="x", form="behovsafklaring")
    with pytest.raises(ValidationError, match="unknown form"):
        StepDef(key="a", title="x", form="nope")
    with pytest.raises(ValidationError, match="only a meeting 'schedule'"):
        StepDef(key="a", title="x")
    step = StepDef(key="a", title="x", form="behovsafklaring")
    with pytest.raises(ValidationError, match="used twice"):
        ProgrammeDef(
            key="p", version=1, name="p", description="", stages=[_stage("s1", [step]), _stage("s2", [step])]
        )
    later = StepDef(
        key="b", title="x", meeting=MeetingRule(kind="genbesoeg", action="schedule", after="a.no_such_field")
    )
    with pytest.raises(ValidationError, match="no field"):
        ProgrammeDef(key="p", version=1, name="p", description="", stages=[_stage("s1", [step, later])])
    repeat = RepeatRule(count_from=["missing.x"], default=2)
    with pytest.raises(ValidationError, match="earlier, non-repeated step"):
        ProgrammeDef(key="p", version=1, name="p", description="", stages=[_stage("s1", [step], repeat)])


def test_rounds_come_from_answers_within_bounds() -> None:
    workshops = MINORITETSETNISKE_V1.stage("workshops")
    assert MINORITETSETNISKE_V1.rounds(workshops, {}) == 3
    assert MINORITETSETNISKE_V1.rounds(workshops, {"samarbejdsaftale": {"antal_workshops": 2}}) == 2
    answers = {
        "samarbejdsaftale": {"antal_workshops": 2},
        "afdaekningsworkshop-afholdt": {"antal_workshops": 3},
    }
    assert MINORITETSETNISKE_V1.rounds(workshops, answers) == 3
    assert MINORITETSETNISKE_V1.rounds(workshops, {"samarbejdsaftale": {"antal_workshops": 9}}) == 3


def test_stage_plan_is_back_to_back_on_working_days() -> None:
    plan = plan_stages(MINORITETSETNISKE_V1, date(2026, 12, 19))  # a Saturday
    assert plan[0][2] == date(2026, 12, 21)
    for (_, _, start, end), (_, _, next_start, _) in itertools.pairwise(plan):
        assert start <= end < next_start
    assert all(is_working_day(start) and is_working_day(end) for _, _, start, end in plan)


@pytest.mark.parametrize("kind", sorted(FORMS))
def test_sample_answers_validate(kind: str) -> None:
    answer = sample_answer(kind, date(2026, 3, 2))
    form = FORMS[kind].model_validate(answer)
    stored = form.model_dump(mode="json")
    # Every field of the sample is kept (none dropped or renamed) and what is stored reads back
    # as the same answer, as the flow reads it after a resume.
    assert set(answer) <= set(stored)
    assert FORMS[kind].model_validate(stored) == form


def test_working_group_needs_leader_authority_and_general_area() -> None:
    with pytest.raises(ValidationError) as error:
        ArbejdsgruppeForm.model_validate({"medlemmer": [{"navn": "A", "rolle": "myndighed"}]})
    message = str(error.value)
    assert "den faglige leder" in message and "almenområdet" in message and "fra myndighed" not in message


def test_case_analysis_needs_three_to_six_opaque_unique_references() -> None:
    ok = {"sagsreferencer": ["sag-01", "SAG-02", "sag03"], "minianalyse_gennemfoert": True}
    assert SagsanalyseForm.model_validate(ok).sagsreferencer == ["sag-01", "sag-02", "sag03"]
    for refs in (["sag-01", "sag-02"], [f"sag-{i}" for i in range(7)], ["sag-01", "sag-01", "sag-02"]):
        with pytest.raises(ValidationError):
            SagsanalyseForm.model_validate({"sagsreferencer": refs, "minianalyse_gennemfoert": True})
    with pytest.raises(ValidationError):
        SagsanalyseForm.model_validate(
            {"sagsreferencer": ["barnets navn", "b-1", "c-2"], "minianalyse_gennemfoert": True}
        )
    with pytest.raises(ValidationError, match="CPR"):
        SagsanalyseForm.model_validate(
            {"sagsreferencer": ["010100-1234", "b-1", "c-2"], "minianalyse_gennemfoert": True}
        )


def test_meetings_only_on_working_days() -> None:
    assert MoedeplanForm.model_validate({"tidspunkt": "2026-03-03 10:00", "sted": "Rådhuset"})
    with pytest.raises(ValidationError, match="Grundlovsdag"):
        MoedeplanForm.model_validate({"tidspunkt": "2026-06-05 10:00", "sted": "Rådhuset"})
    with pytest.raises(ValidationError, match="lørdag"):
        MoedeplanForm.model_validate({"tidspunkt": "2026-03-07 10:00", "sted": "Rådhuset"})


def test_forms_refuse_unknown_fields() -> None:
    with pytest.raises(ValidationError, match="extra"):
        MoedeplanForm.model_validate({"tidspunkt": "2026-03-03 10:00", "sted": "x", "barnets_navn": "x"})
