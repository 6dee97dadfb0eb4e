"""Programme definitions, format 2: versioned data files, validated at load.

One YAML file per programme version in `models/definitions/` (and, optionally, in the directory
FORLOEB_PROGRAMME_DIR, so a new version can be added without a code release). The format's
reference for people who define programmes is `docs/PROGRAMMES.md`.

A course (instance) is pinned to the (programme, version) it started with; adding a version never
changes a running course. A file with problems is refused with every problem and its location
(`load_file`), and the versions that are valid are served as before (`catalog`).

The format maps onto BPMN 2.0: roles are lanes, tracks run in parallel (parallel gateways), a stage's
`after` is a join, human steps are user tasks, `starts` and meeting `schedule` are timers, and a
stage's `repeat` is a sequential multi-instance.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, time
from functools import cached_property
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from models.forms import FORMS

KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
DEFINITIONS_DIR = Path(__file__).resolve().parent / "definitions"
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "notifications" / "templates"

Semantic = Literal[
    "meeting_time", "location", "meeting_mode", "meeting_link", "held_date", "contacts", "participants"
]
"""What a form field means to the course, so no code depends on a field's name:
meeting_time (datetime) the meeting's time; location (text) its place; meeting_mode 'fysisk' or
'virtuelt'; meeting_link the link of a virtual meeting (into the invitation and .ics); held_date
(date) the day a meeting was held; contacts the municipality's contact people (name, role, e-mail:
they receive the municipality's mails); participants the people taking part (counted, not mailed)."""


class Definition(BaseModel):
    """Base of every part of a programme definition: unknown keys refused, immutable once loaded."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Organisation(Definition):
    key: str
    name: str
    kind: Literal["agency", "municipality", "partner"]
    """agency: the consultant's; municipality: the course's municipality; partner: another
    organisation running a track or co-facilitating."""
    email: str | None = None
    """A partner's address for tasks and mails when the course has no contact person of its own."""


class Role(Definition):
    """A lane: who does a step. Its tasks and mails go to the people of its organisation: for the
    agency the course's consultant, for the municipality the course's contact people, for a partner
    its contact people on the course (else the organisation's address)."""

    key: str
    name: str
    organisation: str
    answers: Literal["login", "link"]
    """login: in the dashboard's inbox; link: a signed link in a mail, no account needed."""


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


class MeetingKind(Definition):
    key: str
    title: str
    purpose: str = ""
    """One Danish sentence on what the meeting is for, in the invitation and the reminders."""
    invite: tuple[str, ...] = ()
    """Roles whose people get the invitation, reminders and changes (the consultant always does)."""
    reminders: tuple[Reminder, ...] = DEFAULT_REMINDERS


class FormUse(Definition):
    """A form the programme uses: the model (in `models.forms.FORMS`) and what its fields mean."""

    key: str
    model: str
    fields: dict[Semantic, str] = Field(default_factory=dict)

    def field(self, semantic: Semantic) -> str | None:
        return self.fields.get(semantic)


class MeetingRule(Definition):
    """What a step does to a meeting.

    plan:     the answer gives the time and place (the form's meeting_time/location); a meeting is created.
    hold:     the answer records the meeting as held (the form's held_date).
    schedule: no person is asked; the meeting is put `months` after the date in `after`
              ("step-key.field"), on the next working day at `at`.
    """

    kind: str
    action: Literal["plan", "hold", "schedule"]
    after: str | None = None
    months: int = Field(0, ge=0)
    at: time = time(10, 0)


class StepDef(Definition):
    key: str
    title: str
    """Danish task title; `{n}` is replaced by the round number in repeated stages."""
    form: str | None = None
    """A key in the programme's `forms`; none for automatic steps (meeting `schedule`)."""
    assignee: str = "konsulent"
    """A role key."""
    due_working_days: int = Field(10, ge=0)
    meeting: MeetingRule | None = None


class RepeatRule(Definition):
    """Run the stage's steps once per round; the count comes from earlier answers, within bounds."""

    count_from: tuple[str, ...] = ()
    """'step-key.field' references, the first one with a value wins."""
    default: int = Field(ge=1)
    minimum: int = Field(1, ge=1)
    maximum: int = Field(ge=1)


class Timer(Definition):
    """Begin `months` months after the date in `after` ("step-key.field", a required date field),
    or `weeks_before` weeks earlier than that, on a working day. Waits with no process held."""

    after: str
    months: int = Field(0, ge=0)
    weeks_before: int = Field(0, ge=0)


class StageMessage(Definition):
    template: str
    """Name of a template in notifications/templates (its .subject.txt, .txt and .html)."""
    to: tuple[str, ...] = ("kommune",)
    """Roles whose people receive it."""
    link: Literal["none", "evaluation", "course"] = "none"
    """evaluation: the evaluation form's link (FORLOEB_EVALUATION_URL); course: the course page."""


class StageMessages(Definition):
    on_start: tuple[StageMessage, ...] = ()
    on_end: tuple[StageMessage, ...] = ()


class StageDef(Definition):
    key: str
    name: str
    description: str
    planned_weeks: int = Field(ge=0)
    steps: tuple[StepDef, ...] = Field(min_length=1)
    after: tuple[str, ...] = ()
    """Join: stages (usually of other tracks) that must be finished before this one begins."""
    starts: Timer | None = None
    repeat: RepeatRule | None = None
    messages: StageMessages = StageMessages()


class TrackDef(Definition):
    key: str
    name: str
    owner: str
    """The role that runs the track."""
    stages: tuple[StageDef, ...] = Field(min_length=1)


MONTH_DAY = re.compile(r"^(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$")


class RoundDef(Definition):
    """An application round that comes back every year: it opens, has a deadline, and the courses
    it gives start from the preferred start (the first such date after the deadline). Dates are
    'MM-DD'."""

    key: str
    name: str
    opens: str
    deadline: str
    preferred_start: str


class CapacityDef(Definition):
    """How many courses may start per period: a half-year (January-June, July-December) or a year."""

    per: Literal["half-year", "year"]
    courses: int = Field(ge=1)


class IntakeDef(Definition):
    """How municipalities apply for the programme (issue 13)."""

    mode: Literal["rounds", "continuous"]
    """rounds: only while one of `rounds` is open; continuous: any day."""
    rounds: tuple[RoundDef, ...] = ()
    capacity: CapacityDef
    requires_intro_talk: bool = False
    """An 'indledende drøftelse' must be registered for the municipality before it may apply."""
    recommends_meeting: bool = False
    """A prior meeting is recommended: the form asks whether one was held (recorded, not required)."""
    director_decision: bool = False
    """The decision to apply must be taken at director level: the form asks to confirm it."""
    asks_organisation: bool = False
    """The form asks for the municipality's organisation of the children-and-youth area."""


class EvaluationQuestion(Definition):
    """One question of the evaluation form: a scale from 1 to 5, or free text."""

    key: str
    text: str
    """The question in Danish."""
    kind: Literal["scale", "text"]
    """scale: answered 1-5 (shown as a chart in the results); text: free text (CPR refused)."""
    low: str = "I meget lav grad"
    """The scale's label at 1."""
    high: str = "I meget høj grad"
    """The scale's label at 5."""
    required: bool = False
    """Scales are always required; free text may be."""


class EvaluationDef(Definition):
    """The evaluation form sent when a stage's message has `link: evaluation` (issue 15): each
    recipient gets a personal link, answers once, without login, anonymously towards the consultant."""

    intro: str = ""
    """A Danish sentence or two at the top of the form."""
    questions: tuple[EvaluationQuestion, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Problem:
    """One problem in a definition file: where (a path in the file, and its line when known)."""

    where: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        at = f"linje {self.line}: " if self.line else ""
        return f"{at}{self.where}: {self.message}" if self.where else f"{at}{self.message}"


class DefinitionError(ValueError):
    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(str(p) for p in problems))


class ProgrammeDef(Definition):
    format: Literal[2] = 2
    key: str
    version: int = Field(ge=1)
    name: str
    description: str
    organisations: tuple[Organisation, ...] = Field(min_length=1)
    roles: tuple[Role, ...] = Field(min_length=1)
    meeting_kinds: tuple[MeetingKind, ...] = ()
    forms: tuple[FormUse, ...] = ()
    tracks: tuple[TrackDef, ...] = Field(min_length=1)
    intake: IntakeDef | None = None
    """How municipalities apply (optional: a programme without it takes no applications)."""
    evaluation: EvaluationDef | None = None
    """The evaluation form (optional: required when a stage message has `link: evaluation`)."""

    @model_validator(mode="after")
    def _check(self) -> ProgrammeDef:
        problems = check_definition(self)
        if problems:
            raise ValueError("\n".join(f"{p.where}: {p.message}" for p in problems))
        return self

    # --- lookups ------------------------------------------------------------------------------

    @cached_property
    def stages(self) -> tuple[StageDef, ...]:
        """Every stage, track by track (the main track first)."""
        return tuple(stage for track in self.tracks for stage in track.stages)

    @cached_property
    def main_track(self) -> TrackDef:
        return self.tracks[0]

    @cached_property
    def track_of(self) -> dict[str, TrackDef]:
        return {stage.key: track for track in self.tracks for stage in track.stages}

    @cached_property
    def stage_position(self) -> dict[str, int]:
        """Stage key -> its number within its track (1, 2, ...)."""
        return {s.key: i for t in self.tracks for i, s in enumerate(t.stages, start=1)}

    def stage(self, key: str) -> StageDef:
        for stage in self.stages:
            if stage.key == key:
                return stage
        raise KeyError(key)

    def role(self, key: str) -> Role:
        for role in self.roles:
            if role.key == key:
                return role
        raise KeyError(key)

    def organisation(self, key: str) -> Organisation:
        for organisation in self.organisations:
            if organisation.key == key:
                return organisation
        raise KeyError(key)

    def organisation_of(self, role_key: str) -> Organisation:
        return self.organisation(self.role(role_key).organisation)

    def form(self, key: str) -> FormUse:
        for form in self.forms:
            if form.key == key:
                return form
        raise KeyError(key)

    def meeting_kind(self, key: str) -> MeetingKind:
        for kind in self.meeting_kinds:
            if kind.key == key:
                return kind
        raise KeyError(key)

    def meeting_reminders(self, kind: str) -> tuple[Reminder, ...]:
        try:
            return self.meeting_kind(kind).reminders
        except KeyError:
            return DEFAULT_REMINDERS

    def meeting_title(self, kind: str) -> str:
        try:
            return self.meeting_kind(kind).title
        except KeyError:
            return kind

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

    def step_of_task(self, task_key: str) -> tuple[StageDef, StepDef, int] | None:
        """(stage, step, round) of a task key, also a repeated step's ("workshop-afholdt-2")."""
        for stage in self.stages:
            for step in stage.steps:
                if task_key == step.key and stage.repeat is None:
                    return stage, step, 1
                if stage.repeat is not None and task_key.startswith(step.key + "-"):
                    suffix = task_key.removeprefix(step.key + "-")
                    if suffix.isdigit():
                        return stage, step, int(suffix)
        return None

    def predecessors(self, stage_key: str) -> tuple[str, ...]:
        """Stages that must be finished before `stage_key` begins: the one before it in its track
        and its joins."""
        track = self.track_of[stage_key]
        keys = [s.key for s in track.stages]
        index = keys.index(stage_key)
        before = (keys[index - 1],) if index else ()
        return before + tuple(k for k in self.stage(stage_key).after if k not in before)

    def ancestors(self, stage_key: str) -> set[str]:
        """Every stage certainly finished before `stage_key` begins."""
        seen: set[str] = set()
        todo = list(self.predecessors(stage_key))
        while todo:
            key = todo.pop()
            if key not in seen and key in self.track_of:
                seen.add(key)
                todo.extend(self.predecessors(key))
        return seen

    def last_stages(self) -> tuple[str, ...]:
        return tuple(track.stages[-1].key for track in self.tracks)


# --- checks ----------------------------------------------------------------------------------


def _dupes(items: Iterator[tuple[str, str]], what: str) -> list[Problem]:
    seen: dict[str, str] = {}
    problems = []
    for key, where in items:
        if not KEBAB.match(key):
            problems.append(Problem(where, f"{what} {key!r} skal være kebab-case (a-z, 0-9 og '-')"))
        if key in seen:
            problems.append(Problem(where, f"{what} {key!r} findes allerede ({seen[key]})"))
        else:
            seen[key] = where
    return problems


def _has_cycle(graph: dict[str, tuple[str, ...]]) -> list[str]:
    """A cycle in `graph` (node -> predecessors) as a list of nodes, or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for before in graph.get(node, ()):
            if state.get(before) == 1:
                return [*stack[stack.index(before) :], before]
            if before not in state:
                found = visit(before)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return []

    for node in graph:
        if node not in state:
            found = visit(node)
            if found:
                return found
    return []


def template_exists(name: str) -> bool:
    """A message template with all three parts (what `notifications.render` renders)."""
    return all((TEMPLATES_DIR / f"{name}{suffix}").is_file() for suffix in (".subject.txt", ".txt", ".html"))


def check_definition(p: ProgrammeDef) -> list[Problem]:
    """Every cross-reference problem of a structurally valid definition, with its location."""
    problems: list[Problem] = []
    if not KEBAB.match(p.key):
        problems.append(Problem("key", f"programnøglen {p.key!r} skal være kebab-case"))
    problems += _dupes(
        ((o.key, f"organisations[{i}]") for i, o in enumerate(p.organisations)), "organisation"
    )
    problems += _dupes(((r.key, f"roles[{i}]") for i, r in enumerate(p.roles)), "rolle")
    problems += _dupes(((k.key, f"meeting_kinds[{i}]") for i, k in enumerate(p.meeting_kinds)), "mødetype")
    problems += _dupes(((f.key, f"forms[{i}]") for i, f in enumerate(p.forms)), "formular")
    problems += _dupes(((t.key, f"tracks[{i}]") for i, t in enumerate(p.tracks)), "spor")
    problems += _dupes(
        (
            (s.key, f"tracks[{ti}].stages[{si}]")
            for ti, t in enumerate(p.tracks)
            for si, s in enumerate(t.stages)
        ),
        "fase",
    )
    problems += _dupes(
        (
            (step.key, f"tracks[{ti}].stages[{si}].steps[{xi}]")
            for ti, t in enumerate(p.tracks)
            for si, s in enumerate(t.stages)
            for xi, step in enumerate(s.steps)
        ),
        "trin",
    )
    organisations = {o.key: o for o in p.organisations}
    roles = {r.key for r in p.roles}
    kinds = {k.key for k in p.meeting_kinds}
    forms = {f.key: f for f in p.forms}
    stage_keys = {s.key for t in p.tracks for s in t.stages}
    if not any(o.kind == "agency" for o in p.organisations):
        problems.append(
            Problem("organisations", "der mangler en organisation med kind: agency (konsulentens)")
        )
    if not any(o.kind == "municipality" for o in p.organisations):
        problems.append(Problem("organisations", "der mangler en organisation med kind: municipality"))
    for i, role in enumerate(p.roles):
        if role.organisation not in organisations:
            problems.append(Problem(f"roles[{i}].organisation", f"ukendt organisation {role.organisation!r}"))
    for i, kind in enumerate(p.meeting_kinds):
        for invited in kind.invite:
            if invited not in roles:
                problems.append(Problem(f"meeting_kinds[{i}].invite", f"ukendt rolle {invited!r}"))
        for j, reminder in enumerate(kind.reminders):
            if not template_exists(reminder.template):
                problems.append(
                    Problem(
                        f"meeting_kinds[{i}].reminders[{j}].template",
                        f"skabelonen {reminder.template!r} findes ikke",
                    )
                )
    for i, form in enumerate(p.forms):
        model = FORMS.get(form.model)
        if model is None:
            problems.append(Problem(f"forms[{i}].model", f"ukendt formularmodel {form.model!r}"))
            continue
        for semantic, field in form.fields.items():
            if field not in model.model_fields:
                problems.append(
                    Problem(
                        f"forms[{i}].fields.{semantic}", f"formularen {form.model!r} har intet felt {field!r}"
                    )
                )
    graph: dict[str, tuple[str, ...]] = {}
    for ti, track in enumerate(p.tracks):
        if track.owner not in roles:
            problems.append(Problem(f"tracks[{ti}].owner", f"ukendt rolle {track.owner!r}"))
        for si, stage in enumerate(track.stages):
            where = f"tracks[{ti}].stages[{si}]"
            before = (track.stages[si - 1].key,) if si else ()
            graph[stage.key] = before + stage.after
            for j, ref in enumerate(stage.after):
                if ref not in stage_keys:
                    problems.append(
                        Problem(f"{where}.after[{j}]", f"join til en fase, der ikke findes: {ref!r}")
                    )
                elif ref == stage.key:
                    problems.append(Problem(f"{where}.after[{j}]", "en fase kan ikke vente på sig selv"))
            if stage.repeat is not None:
                rule = stage.repeat
                if not rule.minimum <= rule.default <= rule.maximum:
                    problems.append(
                        Problem(f"{where}.repeat", "gentagelse skal have minimum <= default <= maximum")
                    )
            for mi, message in enumerate((*stage.messages.on_start, *stage.messages.on_end)):
                if not template_exists(message.template):
                    problems.append(
                        Problem(
                            f"{where}.messages", f"skabelonen {message.template!r} findes ikke (nr. {mi + 1})"
                        )
                    )
                for receiver in message.to:
                    if receiver not in roles:
                        problems.append(Problem(f"{where}.messages", f"ukendt rolle {receiver!r}"))
                if message.link == "evaluation" and p.evaluation is None:
                    problems.append(
                        Problem(
                            f"{where}.messages", "link: evaluation kræver et evaluation-afsnit med spørgsmål"
                        )
                    )
            for xi, step in enumerate(stage.steps):
                problems += _check_step(step, f"{where}.steps[{xi}]", roles, kinds, forms)
    if p.intake is not None:
        problems += _check_intake(p.intake)
    if p.evaluation is not None:
        problems += _dupes(
            ((q.key, f"evaluation.questions[{i}]") for i, q in enumerate(p.evaluation.questions)), "spørgsmål"
        )
    cycle = _has_cycle(graph)
    if cycle:
        problems.append(Problem("tracks", "faserne venter i ring på hinanden: " + " -> ".join(cycle)))
        return problems
    if problems:
        return problems
    # References to answers: only steps certainly answered before (an ancestor stage, not repeated).
    for ti, track in enumerate(p.tracks):
        for si, stage in enumerate(track.stages):
            where = f"tracks[{ti}].stages[{si}]"
            earlier = _answer_fields(p, stage.key, forms)
            for j, ref in enumerate(stage.repeat.count_from if stage.repeat else ()):
                problems += _check_ref(ref, earlier, f"{where}.repeat.count_from[{j}]", "int")
            if stage.starts is not None:
                problems += _check_ref(stage.starts.after, earlier, f"{where}.starts.after", "date")
            own = dict(earlier)
            for xi, step in enumerate(stage.steps):
                meeting = step.meeting
                if meeting is not None and meeting.action == "schedule" and meeting.after:
                    problems += _check_ref(meeting.after, own, f"{where}.steps[{xi}].meeting.after", "date")
                if step.form and stage.repeat is None:
                    own[step.key] = FORMS[forms[step.form].model].model_fields
    return problems


def _check_intake(intake: IntakeDef) -> list[Problem]:
    problems = _dupes(((r.key, f"intake.rounds[{i}]") for i, r in enumerate(intake.rounds)), "runde")
    if intake.mode == "rounds" and not intake.rounds:
        problems.append(Problem("intake.rounds", "mode: rounds kræver mindst én ansøgningsrunde"))
    if intake.mode == "continuous" and intake.rounds:
        problems.append(Problem("intake.rounds", "mode: continuous (løbende optag) har ingen runder"))
    for i, round_ in enumerate(intake.rounds):
        for name in ("opens", "deadline", "preferred_start"):
            value = getattr(round_, name)
            if not MONTH_DAY.match(value) or value == "02-29":
                problems.append(
                    Problem(
                        f"intake.rounds[{i}].{name}", f"{value!r} skal være en dag som 'MM-DD', fx '03-15'"
                    )
                )
        if (
            MONTH_DAY.match(round_.opens)
            and MONTH_DAY.match(round_.deadline)
            and round_.opens > round_.deadline
        ):
            problems.append(Problem(f"intake.rounds[{i}]", "runden skal åbne før fristen (samme kalenderår)"))
    return problems


def _check_step(
    step: StepDef, where: str, roles: set[str], kinds: set[str], forms: dict[str, FormUse]
) -> list[Problem]:
    problems = []
    if step.assignee not in roles:
        problems.append(Problem(f"{where}.assignee", f"ukendt rolle {step.assignee!r}"))
    if step.form is not None and step.form not in forms:
        problems.append(Problem(f"{where}.form", f"ukendt formular {step.form!r} (ikke i programmets forms)"))
    rule = step.meeting
    if step.form is None and (rule is None or rule.action != "schedule"):
        problems.append(Problem(where, "kun et mødetrin med action: schedule må være uden formular"))
    if rule is None:
        return problems
    if rule.kind not in kinds:
        problems.append(Problem(f"{where}.meeting.kind", f"ukendt mødetype {rule.kind!r}"))
    form = forms.get(step.form) if step.form else None
    if rule.action == "plan" and form is not None and form.field("meeting_time") is None:
        problems.append(Problem(f"{where}.form", f"formularen {form.key!r} angiver ikke meeting_time"))
    if rule.action == "hold" and form is not None and form.field("held_date") is None:
        problems.append(Problem(f"{where}.form", f"formularen {form.key!r} angiver ikke held_date"))
    if rule.action == "schedule":
        if step.form is not None:
            problems.append(Problem(f"{where}.form", "et schedule-trin spørger ingen og har ingen formular"))
        if not rule.after:
            problems.append(Problem(f"{where}.meeting.after", "schedule kræver after: 'trin.felt'"))
    return problems


def _answer_fields(p: ProgrammeDef, stage_key: str, forms: dict[str, FormUse]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in p.ancestors(stage_key):
        stage = p.stage(key)
        if stage.repeat is not None:
            continue
        for step in stage.steps:
            if step.form:
                found[step.key] = FORMS[forms[step.form].model].model_fields
    return found


def _check_ref(ref: str, earlier: dict[str, Any], where: str, kind: str) -> list[Problem]:
    step_key, _, field = ref.partition(".")
    fields = earlier.get(step_key)
    if fields is None:
        return [Problem(where, f"{ref!r} skal pege på et trin med formular i en fase, der er afsluttet før")]
    info = fields.get(field)
    if info is None:
        return [Problem(where, f"trinnet {step_key!r} har intet felt {field!r}")]
    wanted: type = int if kind == "int" else date
    annotation = info.annotation
    args = [a for a in get_args(annotation) if a is not type(None)]
    if kind == "int" and len(args) == 1:  # an optional count: the next reference, else the default
        annotation = args[0]
    if annotation is not wanted:
        what = "et helt tal" if kind == "int" else "en dato (et påkrævet datofelt)"
        return [Problem(where, f"feltet {ref!r} er ikke {what}")]
    return []


# --- loading ---------------------------------------------------------------------------------


def _line_of(root: Any, path: tuple[Any, ...]) -> int | None:
    """The line of `path` in a composed YAML node tree (pydantic's error location)."""
    import yaml

    node = root
    line = getattr(node, "start_mark", None)
    for part in path:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == str(part)), None)
            if match is None:
                break
            node = match
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
        else:
            break
        line = node.start_mark
    return line.line + 1 if line is not None else None


def _path(where: str) -> tuple[Any, ...]:
    parts: list[Any] = []
    for name, index in re.findall(r"([^.\[\]]+)|\[(\d+)\]", where):
        parts.append(int(index) if index else name)
    return tuple(parts)


def parse(text: str, source: str) -> ProgrammeDef:
    """A definition from YAML text, or `DefinitionError` listing every problem with its line."""
    import yaml

    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise DefinitionError(
            source,
            [Problem("", f"ugyldig YAML: {getattr(exc, 'problem', exc)}", mark.line + 1 if mark else None)],
        ) from None
    if not isinstance(data, dict):
        raise DefinitionError(source, [Problem("", "filen skal indeholde et program (en YAML-mapping)")])
    try:
        return ProgrammeDef.model_validate(data)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            loc = tuple(error["loc"])
            if error["type"] == "value_error" and not loc:
                for raw in str(error["ctx"]["error"]).splitlines():
                    where, _, message = raw.partition(": ")
                    problems.append(Problem(where, message, _line_of(root, _path(where))))
                continue
            where = ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in loc).replace(".[", "[")
            problems.append(Problem(where, error["msg"], _line_of(root, loc)))
        raise DefinitionError(source, problems) from None


def load_file(path: Path) -> ProgrammeDef:
    return parse(path.read_text(encoding="utf-8"), path.name)


@dataclass(frozen=True)
class Catalog:
    programmes: dict[tuple[str, int], ProgrammeDef]
    refused: dict[str, list[Problem]]
    """File name -> its problems: files that were not loaded."""
    files: dict[tuple[str, int], Path]


def definition_files(extra_dir: Path | None = None) -> list[Path]:
    files = sorted(DEFINITIONS_DIR.glob("*.yaml"))
    if extra_dir is not None and extra_dir.is_dir():
        files += sorted(extra_dir.glob("*.yaml"))
    return files


def load_catalog(extra_dir: Path | None = None) -> Catalog:
    """Every valid definition; an invalid file is refused (and listed), the others serve on."""
    programmes: dict[tuple[str, int], ProgrammeDef] = {}
    files: dict[tuple[str, int], Path] = {}
    refused: dict[str, list[Problem]] = {}
    for path in definition_files(extra_dir):
        try:
            programme = load_file(path)
        except DefinitionError as exc:
            refused[str(path)] = exc.problems
            continue
        ident = (programme.key, programme.version)
        if ident in programmes:
            refused[str(path)] = [
                Problem(
                    "version",
                    f"{programme.key} version {programme.version} findes allerede ({files[ident].name})",
                )
            ]
            continue
        programmes[ident] = programme
        files[ident] = path
    return Catalog(programmes, refused, files)


_CATALOG: Catalog | None = None


def catalog() -> Catalog:
    global _CATALOG
    if _CATALOG is None:
        from core.settings import get_settings

        _CATALOG = load_catalog(get_settings().programme_dir)
    return _CATALOG


def reload_catalog() -> Catalog:
    global _CATALOG
    _CATALOG = None
    return catalog()


def latest_version(key: str) -> ProgrammeDef:
    versions = [p for (k, _), p in catalog().programmes.items() if k == key]
    if not versions:
        raise KeyError(key)
    return max(versions, key=lambda p: p.version)


def get_programme(key: str, version: int) -> ProgrammeDef:
    return catalog().programmes[(key, version)]


def find_programme(key: str, version: int) -> ProgrammeDef | None:
    return catalog().programmes.get((key, version))


def programme_keys() -> list[str]:
    return sorted({k for k, _ in catalog().programmes})


def versions(key: str) -> list[ProgrammeDef]:
    return sorted((p for (k, _), p in catalog().programmes.items() if k == key), key=lambda p: p.version)
