"""Forms people fill in to finish a human task. Each is a pydantic model; the course flow waits
for one with `suspend_flow_run(wait_for_input=...)`, and the CLI/API validate against the same
model before resuming. Titles are Danish: the dashboard builds its forms from them."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from core.cpr import CPR_MESSAGE as CPR_MESSAGE  # re-exported: the services' messages
from core.cpr import any_contains_cpr

# Patterns are checked on the stripped text; written with optional space around them, the JSON
# schema (the API's OpenAPI document) says exactly what is accepted. `\s` is not the same set in
# pydantic's Rust regex, the schema's ECMA-262 and Python's `re` (U+0085, U+FEFF, U+001C-U+001F
# differ), so space is spelled out: the union of the three, the same characters in every engine.
SPACE = r"\t\n\x0b\x0c\r \x1c-\x1f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000\ufeff"
VISIBLE = rf"[^{SPACE}\x00-\x1f\x7f-\x9f]"
"""At least one character that is neither space nor a control character: "not blank"."""
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000, pattern=VISIBLE)
]
ShortText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=VISIBLE)
]
Email = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        max_length=254,
        pattern=rf"^[{SPACE}]*[^@{SPACE}]+@[^@{SPACE}]+\.[^@{SPACE}]+[{SPACE}]*$",
    ),
]
MeetingLink = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
_URL = rf"https://[^{SPACE}/?#]+\.[^{SPACE}/?#]+(?:[/?#][^{SPACE}]*)?"
HTTPS_URL = re.compile(rf"^{_URL}$")
HTTPS_URL_SCHEMA: dict[str, Any] = {"pattern": rf"^[{SPACE}]*{_URL}[{SPACE}]*$"}
"""`HTTPS_URL` for the JSON schema (the validator below gives the Danish message)."""
CaseReference = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True,
        to_lower=True,
        pattern=rf"^[{SPACE}]*[A-Za-zÆØÅæøå]{{1,10}}-?[0-9]{{1,4}}[{SPACE}]*$",
    ),
]
MUST_BE_TRUE: dict[str, Any] = {"const": True}
"""JSON schema of a checkbox a validator below requires ticked."""


class Form(BaseModel):
    """Base for every form: unknown fields are refused and no CPR number gets through."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _refuse_cpr(cls, data: Any) -> Any:
        if any_contains_cpr(data):
            raise ValueError(CPR_MESSAGE)
        return data


class BehovsafklaringForm(Form):
    formoede_dato: date = Field(title="Dato for formødet")
    antal_formoeder: int = Field(1, ge=1, le=2, title="Antal formøder holdt")
    fokus: Text = Field(title="Aftalt fokus for forløbet")


class Kontaktperson(Form):
    navn: ShortText = Field(title="Navn")
    rolle: ShortText = Field(title="Rolle")
    email: Email = Field(title="E-mail")


class SamarbejdsaftaleForm(Form):
    fokus: Text = Field(title="Fokus")
    maal: list[Text] = Field(min_length=1, title="Mål")
    tidsplan: Text = Field(title="Tidsplan")
    kontaktpersoner: list[Kontaktperson] = Field(min_length=1, title="Kontaktpersoner i kommunen")
    underskrevet_dato: date = Field(title="Dato for underskrift")
    antal_workshops: int = Field(3, ge=2, le=3, title="Antal workshops (2-3)")
    antal_sparringsmoeder: int = Field(2, ge=1, le=6, title="Antal ledersparringsmøder")


Arbejdsgrupperolle = Literal["faglig_leder", "myndighed", "almenomraade", "andet"]


class Arbejdsgruppemedlem(Form):
    navn: ShortText = Field(title="Navn")
    rolle: Arbejdsgrupperolle = Field(title="Rolle i arbejdsgruppen")
    email: Email | None = Field(None, title="E-mail")


def _has_member(role: str) -> dict[str, Any]:
    return {
        "properties": {
            "medlemmer": {"contains": {"properties": {"rolle": {"const": role}}, "required": ["rolle"]}}
        }
    }


class ArbejdsgruppeForm(Form):
    model_config = ConfigDict(
        json_schema_extra={"allOf": [_has_member(r) for r in ("faglig_leder", "myndighed", "almenomraade")]}
    )
    medlemmer: list[Arbejdsgruppemedlem] = Field(
        min_length=1,
        title="Medlemmer",
        description="The faglig leder, and at least one from myndighed and one from almenområdet.",
    )

    @model_validator(mode="after")
    def _composition(self) -> ArbejdsgruppeForm:
        roles = [m.rolle for m in self.medlemmer]
        missing = []
        if "faglig_leder" not in roles:
            missing.append("den faglige leder")
        if "myndighed" not in roles:
            missing.append("mindst én fra myndighed")
        if "almenomraade" not in roles:
            missing.append("mindst én fra almenområdet (skole, dagtilbud, sundhedspleje ...)")
        if missing:
            raise ValueError("Arbejdsgruppen mangler " + ", ".join(missing) + ".")
        return self


class DataindsamlingForm(Form):
    spoergeskema_udsendt: bool = Field(
        title="Spørgeskema sendt til medarbejderne", json_schema_extra=MUST_BE_TRUE
    )
    spoergeskema_modtaget: bool = Field(
        title="Besvarelser af spørgeskemaet modtaget", json_schema_extra=MUST_BE_TRUE
    )
    strategipapirer_modtaget: bool = Field(title="Strategipapirer modtaget", json_schema_extra=MUST_BE_TRUE)
    procedurer_modtaget: bool = Field(
        title="Procedurer og arbejdsgange modtaget", json_schema_extra=MUST_BE_TRUE
    )
    bemaerkninger: str = Field("", max_length=4000, title="Bemærkninger")

    @model_validator(mode="after")
    def _checklist_done(self) -> DataindsamlingForm:
        labels = {
            "spoergeskema_udsendt": "spørgeskemaet er sendt",
            "spoergeskema_modtaget": "besvarelserne er modtaget",
            "strategipapirer_modtaget": "strategipapirerne er modtaget",
            "procedurer_modtaget": "procedurerne er modtaget",
        }
        missing = [text for name, text in labels.items() if not getattr(self, name)]
        if missing:
            raise ValueError("Dataindsamlingen er ikke færdig: mangler at " + ", ".join(missing) + ".")
        return self


class SagsanalyseForm(Form):
    sagsreferencer: list[CaseReference] = Field(
        min_length=3,
        max_length=6,
        title="Anonyme sagsreferencer (3-6, fx 'sag-07')",
        description="Each once (capitals do not count: 'Sag-7' and 'sag-7' are the same).",
        json_schema_extra={"uniqueItems": True},
    )
    minianalyse_gennemfoert: bool = Field(title="Minianalysen er gennemført", json_schema_extra=MUST_BE_TRUE)

    @field_validator("sagsreferencer")
    @classmethod
    def _unique(cls, refs: list[str]) -> list[str]:
        if len(set(refs)) != len(refs):
            raise ValueError("Hver sagsreference må kun stå én gang.")
        return refs

    @model_validator(mode="after")
    def _analysis_done(self) -> SagsanalyseForm:
        if not self.minianalyse_gennemfoert:
            raise ValueError("Minianalysen skal være gennemført, før sagsanalysen kan afsluttes.")
        return self


Moedeform = Literal["fysisk", "virtuelt"]


class MoedeplanForm(Form):
    """A meeting's time and place. A virtual meeting carries its link (into the invitation and the
    .ics); a physical one may carry one too (a hybrid meeting)."""

    model_config = ConfigDict(
        json_schema_extra={  # a virtual meeting needs its link
            "anyOf": [
                {"properties": {"moedeform": {"const": "fysisk"}}},
                {"properties": {"link": {"type": "string"}}, "required": ["link"]},
            ]
        }
    )
    tidspunkt: datetime = Field(
        title="Tidspunkt (dansk tid)",
        description="Danish time: 2026-03-03T10:00 (no offset), or with an offset. On a Danish "
        "working day (not a weekend or public holiday; 422 otherwise).",
    )
    sted: ShortText = Field(title="Sted eller link")
    moedeform: Moedeform = Field("fysisk", title="Mødeform (fysisk eller virtuelt)")
    link: MeetingLink | None = Field(
        None, title="Mødelink (https, kræves ved virtuelt møde)", json_schema_extra=HTTPS_URL_SCHEMA
    )

    @field_validator("tidspunkt")
    @classmethod
    def _working_day(cls, value: datetime) -> datetime:
        from core.workdays import holiday_name, is_working_day

        day = value.date()
        if not is_working_day(day):
            why = holiday_name(day) or ("en lørdag" if day.weekday() == 5 else "en søndag")
            raise ValueError(f"{day.isoformat()} er ikke en arbejdsdag ({why}). Vælg en hverdag.")
        return value

    @field_validator("link")
    @classmethod
    def _https(cls, value: str | None) -> str | None:
        if value is not None and not HTTPS_URL.match(value):
            raise ValueError(
                "Mødelinket skal være en fuld https-adresse uden mellemrum, fx https://moede.example/abc."
            )
        return value

    @model_validator(mode="after")
    def _virtual_needs_link(self) -> MoedeplanForm:
        if self.moedeform == "virtuelt" and not self.link:
            raise ValueError(
                "Et virtuelt møde kræver et mødelink (https://...), så det kan stå i invitationen."
            )
        return self


class MoedeAfholdtForm(Form):
    afholdt_dato: date = Field(title="Dato mødet blev holdt")
    noter: str = Field("", max_length=4000, title="Noter (ingen personoplysninger om børn)")


class AfdaekningsworkshopForm(Form):
    afholdt_dato: date = Field(title="Dato workshoppen blev holdt")
    fokusomraader: list[Text] = Field(min_length=1, title="Valgte fokusområder")
    antal_workshops: int | None = Field(None, ge=2, le=3, title="Antal workshops (2-3), hvis ændret")


class Proevehandling(Form):
    beskrivelse: Text = Field(title="Prøvehandling")
    ansvarlig: ShortText = Field(title="Ansvarlig (rolle)")


class ProevehandlingerForm(Form):
    proevehandlinger: list[Proevehandling] = Field(min_length=1, title="Prøvehandlinger")
    erfaringer: str = Field("", max_length=4000, title="Erfaringer indtil nu")


class OpsamlingsmoedeForm(Form):
    afholdt_dato: date = Field(title="Dato for opsamlingsmødet")
    konklusioner: Text = Field(title="Konklusioner")
    naeste_skridt: str = Field("", max_length=4000, title="Næste skridt")


class EvalueringForm(Form):
    udsendt_dato: date = Field(title="Dato evalueringsskemaet blev sendt")
    antal_besvarelser: int = Field(ge=0, le=1000, title="Antal besvarelser")
    hovedpointer: str = Field("", max_length=4000, title="Hovedpointer")


class GenbesoegForm(Form):
    afholdt_dato: date = Field(title="Dato for genbesøget")
    noter: str = Field("", max_length=4000, title="Noter")
    tilmeldt_netvaerk: bool = Field(False, title="Kommunen er tilmeldt det tværkommunale netværk")


# --- Forms of the programmes inddragelse and overgreb (and shared ones) -------------------------
# Free text is about the municipality's practice and plans, never about a child or a family.


class OpstartsmoedeForm(Form):
    """The kick-off meeting: who the municipality's contact people are and what was agreed."""

    afholdt_dato: date = Field(title="Dato for opstartsmødet")
    kontaktpersoner: list[Kontaktperson] = Field(min_length=1, title="Kontaktpersoner i kommunen")
    aftaler: Text = Field(title="Aftaler fra mødet (tidsplan, roller, næste skridt)")


class InddragelseAfdaekningForm(Form):
    afholdt_dato: date = Field(title="Dato for afdækningsmødet")
    styrker: list[Text] = Field(
        min_length=1, max_length=10, title="Styrker i den nuværende inddragelsespraksis"
    )
    udfordringer: list[Text] = Field(
        min_length=1, max_length=10, title="Udfordringer i den nuværende inddragelsespraksis"
    )


class UdviklingsplanForm(Form):
    """The development plan: focus areas, goals and how many meetings, training days and
    supervisions the course holds (the counts of the repeated stages)."""

    godkendt_dato: date = Field(title="Dato udviklingsplanen blev godkendt")
    fokusomraader: list[Text] = Field(min_length=1, max_length=5, title="Valgte fokusområder (1-5)")
    maal: list[Text] = Field(min_length=1, max_length=10, title="Mål")
    antal_raadgivningsmoeder: int = Field(4, ge=2, le=8, title="Antal rådgivningsmøder (2-8)")
    antal_traeningsdage: int = Field(4, ge=2, le=8, title="Antal træningsdage hos Børns Vilkår (2-8)")
    antal_supervisioner: int = Field(4, ge=1, le=10, title="Antal supervisioner hos Børns Vilkår (1-10)")


class RaadgivningsmoedeForm(Form):
    model_config = ConfigDict(
        json_schema_extra={  # at least one area took part
            "anyOf": [
                {"properties": {area: {"const": True}}, "required": [area]}
                for area in ("deltog_myndighed", "deltog_udfoerer", "deltog_almenomraade")
            ]
        }
    )
    afholdt_dato: date = Field(title="Dato mødet blev holdt")
    deltog_myndighed: bool = Field(False, title="Myndighedsområdet deltog")
    deltog_udfoerer: bool = Field(False, title="Udførerområdet deltog")
    deltog_almenomraade: bool = Field(False, title="Almenområdet deltog")
    antal_deltagere: int = Field(ge=1, le=200, title="Antal deltagere")
    aftaler: str = Field(
        "", max_length=4000, title="Aftaler og næste skridt (ingen personoplysninger om børn)"
    )

    @model_validator(mode="after")
    def _some_area(self) -> RaadgivningsmoedeForm:
        if not (self.deltog_myndighed or self.deltog_udfoerer or self.deltog_almenomraade):
            raise ValueError("Angiv mindst ét område, der deltog (myndighed, udfører eller almenområdet).")
        return self


AktivitetStatus = Literal["planlagt", "i_gang", "gennemfoert"]


class Udviklingsaktivitet(Form):
    beskrivelse: Text = Field(title="Aktivitet")
    ansvarlig: ShortText = Field(title="Ansvarlig (rolle)")
    status: AktivitetStatus = Field("planlagt", title="Status")


class UdviklingsaktiviteterForm(Form):
    """The municipality's own development activities between the advisory meetings."""

    aktiviteter: list[Udviklingsaktivitet] = Field(min_length=1, max_length=20, title="Udviklingsaktiviteter")
    erfaringer: str = Field("", max_length=4000, title="Erfaringer indtil nu")


class KompetenceplanForm(Form):
    """Børns Vilkår's plan for the competence course; a count left empty comes from the plan."""

    antal_medarbejdere: int = Field(ge=1, le=300, title="Antal myndighedsmedarbejdere i forløbet")
    antal_faglige_ledere: int = Field(ge=1, le=50, title="Antal faglige ledere i forløbet")
    antal_traeningsdage: int | None = Field(
        None, ge=2, le=8, title="Antal træningsdage (2-8), hvis ændret fra udviklingsplanen"
    )
    antal_supervisioner: int | None = Field(
        None, ge=1, le=10, title="Antal supervisioner (1-10), hvis ændret fra udviklingsplanen"
    )


class TraeningsdagPlanForm(MoedeplanForm):
    varighed: Literal["hel", "halv"] = Field("hel", title="Varighed (hel eller halv dag)")
    tema: ShortText = Field(title="Tema for træningsdagen")


class SupervisionPlanForm(MoedeplanForm):
    supervisionsform: Literal["individuel", "faelles"] = Field(
        "faelles", title="Supervisionsform (individuel eller fælles)"
    )


class KompetenceaktivitetAfholdtForm(Form):
    """A training day or a supervision held: counts of participants only, no names."""

    model_config = ConfigDict(
        json_schema_extra={  # someone took part
            "anyOf": [
                {"properties": {"antal_medarbejdere": {"minimum": 1}}},
                {"properties": {"antal_ledere": {"minimum": 1}}},
            ]
        }
    )

    afholdt_dato: date = Field(title="Dato aktiviteten blev holdt")
    antal_medarbejdere: int = Field(ge=0, le=300, title="Antal deltagende medarbejdere")
    antal_ledere: int = Field(ge=0, le=50, title="Antal deltagende faglige ledere")
    noter: str = Field("", max_length=4000, title="Noter (ingen personoplysninger om børn)")

    @model_validator(mode="after")
    def _someone(self) -> KompetenceaktivitetAfholdtForm:
        if self.antal_medarbejdere + self.antal_ledere == 0:
            raise ValueError("Mindst én medarbejder eller leder skal have deltaget.")
        return self


Udvikling = Literal["tydelig", "nogen", "ingen"]


class AfsluttendeOpfoelgningForm(Form):
    """The closing follow-up: has the municipality's practice developed, and how to go on."""

    afholdt_dato: date = Field(title="Dato for den afsluttende opfølgning")
    udvikling: Udvikling = Field(title="Vurdering af udviklingen (tydelig, nogen eller ingen)")
    resultater: Text = Field(title="Resultater af forløbet")
    anbefalinger: list[Text] = Field(min_length=1, max_length=10, title="Anbefalinger til det videre arbejde")


class IndledendeAnalyseForm(Form):
    """The initial analysis of the municipality's starting point (overgreb)."""

    afsluttet_dato: date = Field(title="Dato analysen blev afsluttet")
    styrker: list[Text] = Field(min_length=1, max_length=10, title="Styrker i kommunens praksis")
    udfordringer: list[Text] = Field(min_length=1, max_length=10, title="Udfordringer i kommunens praksis")
    fokusomraader: list[Text] = Field(
        min_length=1, max_length=5, title="Prioriterede udviklingsområder (1-5)"
    )
    antal_udviklingsaktiviteter: int = Field(3, ge=1, le=6, title="Antal udviklingsaktiviteter (1-6)")


class BeredskabGennemgangForm(Form):
    gennemgaaet_dato: date = Field(title="Dato beredskabet blev gennemgået")
    senest_revideret: date | None = Field(None, title="Dato beredskabet senest blev revideret (hvis kendt)")
    anbefalinger: list[Text] = Field(
        min_length=1, max_length=15, title="Anbefalinger til opdatering af beredskabet"
    )


class BeredskabForm(Form):
    """The updated statutory beredskab: updated, known by staff and leaders, used systematically."""

    opdateret_dato: date = Field(title="Dato det opdaterede beredskab blev godkendt")
    opdateret: bool = Field(title="Beredskabet er opdateret", json_schema_extra=MUST_BE_TRUE)
    kendt_af_medarbejdere: bool = Field(
        title="Beredskabet er gjort kendt blandt medarbejderne", json_schema_extra=MUST_BE_TRUE
    )
    kendt_af_ledere: bool = Field(
        title="Beredskabet er gjort kendt blandt lederne", json_schema_extra=MUST_BE_TRUE
    )
    formidling: Text = Field(title="Sådan er beredskabet gjort kendt")
    systematisk_brug: Text = Field(
        title="Sådan bruges beredskabet systematisk ved bekymring, mistanke eller viden om overgreb"
    )

    @model_validator(mode="after")
    def _done(self) -> BeredskabForm:
        labels = {
            "opdateret": "beredskabet er opdateret",
            "kendt_af_medarbejdere": "det er gjort kendt blandt medarbejderne",
            "kendt_af_ledere": "det er gjort kendt blandt lederne",
        }
        missing = [text for name, text in labels.items() if not getattr(self, name)]
        if missing:
            raise ValueError("Beredskabet er ikke på plads: mangler at " + ", ".join(missing) + ".")
        return self


Aktivitetstype = Literal[
    "temadag", "workshop", "undervisning", "ledersparring", "tvaerfagligt_moede", "andet"
]


class UdviklingsaktivitetForm(Form):
    """One development activity held (overgreb)."""

    afholdt_dato: date = Field(title="Dato aktiviteten blev holdt")
    aktivitetstype: Aktivitetstype = Field(title="Type aktivitet")
    antal_deltagere: int = Field(ge=1, le=300, title="Antal deltagere")
    aftaler: str = Field(
        "", max_length=4000, title="Aftaler og næste skridt (ingen personoplysninger om børn)"
    )


FORMS: dict[str, type[Form]] = {
    "behovsafklaring": BehovsafklaringForm,
    "samarbejdsaftale": SamarbejdsaftaleForm,
    "arbejdsgruppe": ArbejdsgruppeForm,
    "dataindsamling": DataindsamlingForm,
    "sagsanalyse": SagsanalyseForm,
    "moedeplan": MoedeplanForm,
    "moede-afholdt": MoedeAfholdtForm,
    "afdaekningsworkshop": AfdaekningsworkshopForm,
    "proevehandlinger": ProevehandlingerForm,
    "opsamlingsmoede": OpsamlingsmoedeForm,
    "evaluering": EvalueringForm,
    "genbesoeg": GenbesoegForm,
    "opstartsmoede": OpstartsmoedeForm,
    "inddragelse-afdaekning": InddragelseAfdaekningForm,
    "udviklingsplan": UdviklingsplanForm,
    "raadgivningsmoede": RaadgivningsmoedeForm,
    "udviklingsaktiviteter": UdviklingsaktiviteterForm,
    "kompetenceplan": KompetenceplanForm,
    "traeningsdag-plan": TraeningsdagPlanForm,
    "supervision-plan": SupervisionPlanForm,
    "kompetenceaktivitet-afholdt": KompetenceaktivitetAfholdtForm,
    "afsluttende-opfoelgning": AfsluttendeOpfoelgningForm,
    "indledende-analyse": IndledendeAnalyseForm,
    "beredskab-gennemgang": BeredskabGennemgangForm,
    "beredskab": BeredskabForm,
    "udviklingsaktivitet": UdviklingsaktivitetForm,
}


def get_form(name: str) -> type[Form]:
    return FORMS[name]
