"""Programme definitions as versioned, declarative data (spec), validated at load.

A course (instance) is pinned to the (programme, version) it started with, so changing a
definition means adding a new version here; running courses keep theirs. Adding a stage or a
programme touches only this file (and maybe `forms.py`), never the flow.
"""

from __future__ import annotations

import re
from datetime import time
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from models.forms import FORMS

KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class Definition(BaseModel):
    """Base of every part of a programme definition: unknown keys refused, immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Reminder(Definition):
    """A reminder before a meeting: `days` calendar days or `working_days` working days before,
    sent at `at` (Copenhagen time). A date that is not a working day moves earlier."""

    days: int = Field(0, ge=0)
    working_days: int = Field(0, ge=0)
    at: time = time(8, 0)
    template: str = "moede_paamindelse"

    @property
    def kind(self) -> str:
        """Stable name, part of the reminder run's idempotency key."""
        return f"paamindelse-{self.days}d" if self.days else f"paamindelse-{self.working_days}ad"


DEFAULT_REMINDERS = (Reminder(days=7), Reminder(working_days=1))


class MeetingRule(Definition):
    """What a step does to a meeting.

    plan:     the answer (`MoedeplanForm`) gives the time and place; a meeting is created.
    hold:     the answer records the meeting as held.
    schedule: no person is asked; the meeting is put `months` after the date in the answer
              field `after` ("step-key.field"), on the next working day at `at`.
    """

    kind: str
    action: Literal["plan", "hold", "schedule"]
    after: str | None = None
    months: int = 0
    at: time = time(10, 0)
    reminders: tuple[Reminder, ...] = DEFAULT_REMINDERS


class StepDef(Definition):
    key: str
    title: str
    """Danish task title; `{n}` is replaced by the round number in repeated stages."""
    form: str | None = None
    """Name in `models.forms.FORMS`; None for automatic steps (meeting `schedule`)."""
    assignee: Literal["konsulent", "kommune"] = "konsulent"
    due_working_days: int = Field(10, ge=0)
    meeting: MeetingRule | None = None

    @model_validator(mode="after")
    def _check(self) -> StepDef:
        if not KEBAB.match(self.key):
            raise ValueError(f"step key {self.key!r} must be kebab-case (pause keys allow no '_')")
        if self.form is None and (self.meeting is None or self.meeting.action != "schedule"):
            raise ValueError(f"step {self.key!r}: only a meeting 'schedule' step may have no form")
        if self.form is not None and self.form not in FORMS:
            raise ValueError(f"step {self.key!r}: unknown form {self.form!r}")
        return self


class RepeatRule(Definition):
    """Run the stage's steps once per round; the count comes from earlier answers."""

    count_from: list[str]
    """'step-key.field' references, first one with a value wins."""
    default: int
    minimum: int = 1
    maximum: int = 6


class StageDef(Definition):
    key: str
    name: str
    description: str
    planned_weeks: int = Field(ge=0)
    steps: list[StepDef] = Field(min_length=1)
    repeat: RepeatRule | None = None
    notify_on_start: tuple[str, ...] = ()
    """Message templates sent when the stage starts (e.g. the evaluation request)."""


class ProgrammeDef(Definition):
    key: str
    version: int = Field(ge=1)
    name: str
    description: str
    revisit_months: int = 6
    stages: list[StageDef] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_references(self) -> ProgrammeDef:
        seen_steps: dict[str, StepDef] = {}
        stage_keys: set[str] = set()
        all_keys: set[str] = set()
        for stage in self.stages:
            if not KEBAB.match(stage.key) or stage.key in stage_keys:
                raise ValueError(f"stage key {stage.key!r} must be unique and kebab-case")
            stage_keys.add(stage.key)
            for ref in stage.repeat.count_from if stage.repeat else []:
                self._check_ref(ref, seen_steps, f"stage {stage.key!r} repeat")
            for step in stage.steps:
                if step.key in all_keys:
                    raise ValueError(f"step key {step.key!r} is used twice")
                all_keys.add(step.key)
                if step.meeting and step.meeting.after:
                    self._check_ref(step.meeting.after, seen_steps, f"step {step.key!r}")
                # Steps of repeated stages get a round suffix, so they cannot be referenced.
                if stage.repeat is None:
                    seen_steps[step.key] = step
        return self

    @staticmethod
    def _check_ref(ref: str, seen: dict[str, StepDef], where: str) -> None:
        step_key, _, field = ref.partition(".")
        step = seen.get(step_key)
        if step is None or step.form is None:
            raise ValueError(f"{where}: {ref!r} must name an earlier, non-repeated step with a form")
        if field not in FORMS[step.form].model_fields:
            raise ValueError(f"{where}: form {step.form!r} has no field {field!r}")

    def meeting_reminders(self, kind: str) -> tuple[Reminder, ...]:
        """The reminders for a meeting kind: from the first rule that plans or schedules it."""
        for stage in self.stages:
            for step in stage.steps:
                if step.meeting and step.meeting.kind == kind and step.meeting.action != "hold":
                    return step.meeting.reminders
        return DEFAULT_REMINDERS

    def stage(self, key: str) -> StageDef:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    @cached_property
    def stage_position(self) -> dict[str, int]:
        return {stage.key: index for index, stage in enumerate(self.stages, start=1)}

    def rounds(self, stage: StageDef, answers: dict[str, dict[str, Any]]) -> int:
        """How many rounds a stage runs, given the answers so far."""
        if stage.repeat is None:
            return 1
        rule = stage.repeat
        for ref in rule.count_from:
            step_key, _, field = ref.partition(".")
            value = answers.get(step_key, {}).get(field)
            if isinstance(value, int):
                return max(rule.minimum, min(rule.maximum, value))
        return rule.default

    @staticmethod
    def step_key(stage: StageDef, step: StepDef, round_no: int) -> str:
        return step.key if stage.repeat is None else f"{step.key}-{round_no}"


def _meeting_steps(prefix: str, what: str, kind: str, *, who: str = "konsulent") -> list[StepDef]:
    """A meeting that is planned (time and place), then registered as held."""
    return [
        StepDef(
            key=f"{prefix}-planlaegning",
            title=f"Planlæg {what}",
            form="moedeplan",
            assignee="konsulent",
            due_working_days=5,
            meeting=MeetingRule(kind=kind, action="plan"),
        ),
        StepDef(
            key=f"{prefix}-afholdt",
            title=f"Registrér at {what} er holdt",
            form="moede-afholdt",
            assignee=who,  # type: ignore[arg-type]
            meeting=MeetingRule(kind=kind, action="hold"),
        ),
    ]


MINORITETSETNISKE_V1 = ProgrammeDef(
    key="minoritetsetniske",
    version=1,
    name="Socialt udsatte minoritetsetniske børn og unge",
    description=(
        "Rådgivningsforløb på ca. 6 måneder for kommunens myndighedsområde på børne- og "
        "ungeområdet, med genbesøg efter 6 måneder."
    ),
    stages=[
        StageDef(
            key="behovsafklaring",
            name="Behovsafklaring",
            description="1-2 formøder, hvor fokus for forløbet aftales.",
            planned_weeks=2,
            steps=[
                StepDef(key="behovsafklaring", title="Hold formøde og aftal fokus", form="behovsafklaring"),
            ],
        ),
        StageDef(
            key="samarbejdsaftale",
            name="Samarbejdsaftale",
            description="Skriftlig aftale om fokus, mål, tidsplan og roller.",
            planned_weeks=2,
            steps=[
                StepDef(
                    key="samarbejdsaftale",
                    title="Indgå samarbejdsaftale",
                    form="samarbejdsaftale",
                ),
            ],
        ),
        StageDef(
            key="arbejdsgruppe",
            name="Arbejdsgruppe",
            description=(
                "Kommunen nedsætter en intern arbejdsgruppe med faglig leder, myndighed og almenområdet."
            ),
            planned_weeks=2,
            steps=[
                StepDef(
                    key="arbejdsgruppe",
                    title="Registrér arbejdsgruppens medlemmer",
                    form="arbejdsgruppe",
                    assignee="kommune",
                ),
            ],
        ),
        StageDef(
            key="dataindsamling",
            name="Dataindsamling",
            description="Spørgeskema til medarbejdere, strategipapirer og procedurer.",
            planned_weeks=3,
            steps=[
                StepDef(
                    key="dataindsamling",
                    title="Afslut dataindsamlingen (tjekliste)",
                    form="dataindsamling",
                    assignee="kommune",
                    due_working_days=15,
                ),
            ],
        ),
        StageDef(
            key="sagsanalyse",
            name="Sagsanalyse",
            description="Minianalyse og gennemgang af 3-6 sager (kun anonyme sagsreferencer).",
            planned_weeks=3,
            steps=[
                StepDef(
                    key="sagsanalyse",
                    title="Registrér sagsanalysen",
                    form="sagsanalyse",
                    due_working_days=15,
                ),
            ],
        ),
        StageDef(
            key="afdaekningsworkshop",
            name="Afdækningsworkshop",
            description="Fund fra analysen præsenteres, og fokusområder vælges.",
            planned_weeks=3,
            steps=[
                StepDef(
                    key="afdaekningsworkshop-planlaegning",
                    title="Planlæg afdækningsworkshoppen",
                    form="moedeplan",
                    due_working_days=5,
                    meeting=MeetingRule(kind="afdaekningsworkshop", action="plan"),
                ),
                StepDef(
                    key="afdaekningsworkshop-afholdt",
                    title="Registrér afdækningsworkshoppen og de valgte fokusområder",
                    form="afdaekningsworkshop",
                    meeting=MeetingRule(kind="afdaekningsworkshop", action="hold"),
                ),
            ],
        ),
        StageDef(
            key="workshops",
            name="Workshops med prøvehandlinger",
            description="2-3 rådgivningsdage; imellem dem afprøver kommunen prøvehandlinger.",
            planned_weeks=8,
            repeat=RepeatRule(
                count_from=[
                    "afdaekningsworkshop-afholdt.antal_workshops",
                    "samarbejdsaftale.antal_workshops",
                ],
                default=3,
                minimum=2,
                maximum=3,
            ),
            steps=[
                *_meeting_steps("workshop", "workshop {n}", "workshop"),
                StepDef(
                    key="proevehandlinger",
                    title="Registrér prøvehandlinger efter workshop {n}",
                    form="proevehandlinger",
                    assignee="kommune",
                ),
            ],
        ),
        StageDef(
            key="ledersparring",
            name="Ledersparring",
            description="Sparringsmøder med ledelsen i myndighedsafdelingen.",
            planned_weeks=3,
            repeat=RepeatRule(
                count_from=["samarbejdsaftale.antal_sparringsmoeder"], default=2, minimum=1, maximum=6
            ),
            steps=_meeting_steps("ledersparring", "ledersparringsmøde {n}", "ledersparring"),
        ),
        StageDef(
            key="opsamlingsmoede",
            name="Opsamlingsmøde",
            description="Resultater og retning for det videre arbejde.",
            planned_weeks=2,
            steps=[
                StepDef(
                    key="opsamlingsmoede-planlaegning",
                    title="Planlæg opsamlingsmødet",
                    form="moedeplan",
                    due_working_days=5,
                    meeting=MeetingRule(kind="opsamlingsmoede", action="plan"),
                ),
                StepDef(
                    key="opsamlingsmoede",
                    title="Registrér opsamlingsmødet og konklusionerne",
                    form="opsamlingsmoede",
                    meeting=MeetingRule(kind="opsamlingsmoede", action="hold"),
                ),
            ],
        ),
        StageDef(
            key="evaluering",
            name="Evaluering",
            description="Kort evalueringsskema til deltagerne på mail.",
            planned_weeks=2,
            notify_on_start=("evaluering",),
            steps=[
                StepDef(key="evaluering", title="Registrér evalueringens besvarelser", form="evaluering"),
            ],
        ),
        StageDef(
            key="genbesoeg",
            name="Genbesøg",
            description="Genbesøg ca. 6 måneder efter opsamlingsmødet og invitation til netværk.",
            planned_weeks=26,
            steps=[
                StepDef(
                    key="genbesoeg-planlaegning",
                    title="Genbesøg planlægges 6 måneder efter opsamlingsmødet",
                    meeting=MeetingRule(
                        kind="genbesoeg",
                        action="schedule",
                        after="opsamlingsmoede.afholdt_dato",
                        months=6,
                        reminders=(Reminder(days=14, template="genbesoeg_paamindelse"),),
                    ),
                ),
                StepDef(
                    key="genbesoeg",
                    title="Registrér genbesøget",
                    form="genbesoeg",
                    meeting=MeetingRule(kind="genbesoeg", action="hold"),
                ),
            ],
        ),
    ],
)

PROGRAMMES: dict[tuple[str, int], ProgrammeDef] = {(p.key, p.version): p for p in [MINORITETSETNISKE_V1]}

MEETING_TITLES = {
    "formoede": "Formøde",
    "afdaekningsworkshop": "Afdækningsworkshop",
    "workshop": "Workshop",
    "ledersparring": "Ledersparring",
    "opsamlingsmoede": "Opsamlingsmøde",
    "genbesoeg": "Genbesøg",
}


def latest_version(key: str) -> ProgrammeDef:
    versions = [p for (k, _), p in PROGRAMMES.items() if k == key]
    if not versions:
        raise KeyError(key)
    return max(versions, key=lambda p: p.version)


def get_programme(key: str, version: int) -> ProgrammeDef:
    return PROGRAMMES[(key, version)]


def programme_keys() -> list[str]:
    return sorted({k for k, _ in PROGRAMMES})
