from __future__ import annotations

import itertools
from datetime import date

import pytest
from pydantic import ValidationError

from core.workdays import is_working_day
from devtools.demo import sample_answer
from models.forms import FORMS, ArbejdsgruppeForm, MoedeplanForm, SagsanalyseForm
from models.programmes import ProgrammeDef, catalog, get_programme
from services.flow_steps import plan_stages


def _v1() -> ProgrammeDef:
    return get_programme("minoritetsetniske", 1)


def test_minoritetsetniske_has_the_eleven_stages_in_order() -> None:
    for version in (1, 2):
        keys = [stage.key for stage in get_programme("minoritetsetniske", version).stages]
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


def test_every_definition_validates_again_from_its_data() -> None:
    for programme in catalog().programmes.values():
        assert ProgrammeDef.model_validate(programme.model_dump()) == programme


def test_rounds_come_from_answers_within_bounds() -> None:
    v1 = _v1()
    workshops = v1.stage("workshops")
    assert v1.rounds(workshops, {}) == 3
    assert v1.rounds(workshops, {"samarbejdsaftale": {"antal_workshops": 2}}) == 2
    answers = {
        "samarbejdsaftale": {"antal_workshops": 2},
        "afdaekningsworkshop-afholdt": {"antal_workshops": 3},
    }
    assert v1.rounds(workshops, answers) == 3
    assert v1.rounds(workshops, {"samarbejdsaftale": {"antal_workshops": 9}}) == 3


def test_stage_plan_is_back_to_back_on_working_days() -> None:
    plan = plan_stages(_v1(), date(2026, 12, 19))  # a Saturday
    assert plan[0][4] == date(2026, 12, 21)
    for (*_, start, end), (*_, next_start, _) in itertools.pairwise(plan):
        assert start <= end < next_start
    assert all(is_working_day(start) and is_working_day(end) for *_, start, end in plan)


def test_stage_plan_of_two_tracks_runs_them_side_by_side_and_joins() -> None:
    programme = get_programme("inddragelse", 1)
    plan = {
        key: (track, start, end)
        for key, _name, track, _pos, start, end in plan_stages(programme, date(2027, 1, 4))
    }
    main, partner = programme.tracks
    first_partner = partner.stages[0]
    # The partner track starts after the stages it waits for, in parallel with the main track.
    for before in first_partner.after:
        assert plan[first_partner.key][1] > plan[before][2]
    join = next(s for s in main.stages if s.after)
    assert all(plan[join.key][1] > plan[k][2] for k in join.after)
    assert {plan[s.key][0] for s in partner.stages} == {partner.key}


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
