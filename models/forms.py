"""Forms people fill in to finish a human task. Each is a pydantic model; the course flow waits
for one with `suspend_flow_run(wait_for_input=...)`, and the CLI/API validate against the same
model before resuming. Titles are Danish: the dashboard builds its forms from them."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

from core.cpr import any_contains_cpr

CPR_MESSAGE = (
    "Teksten ser ud til at indeholde et CPR-nummer. CPR-numre må ikke registreres i forløbet; "
    "brug en anonym sagsreference som 'sag-07'."
)

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$"),
]
CaseReference = Annotated[
    str,
    StringConstraints(strip_whitespace=True, to_lower=True, pattern=r"^[A-Za-zÆØÅæøå]{1,10}-?[0-9]{1,4}$"),
]


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


class ArbejdsgruppeForm(Form):
    medlemmer: list[Arbejdsgruppemedlem] = Field(min_length=1, title="Medlemmer")

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
    spoergeskema_udsendt: bool = Field(title="Spørgeskema sendt til medarbejderne")
    spoergeskema_modtaget: bool = Field(title="Besvarelser af spørgeskemaet modtaget")
    strategipapirer_modtaget: bool = Field(title="Strategipapirer modtaget")
    procedurer_modtaget: bool = Field(title="Procedurer og arbejdsgange modtaget")
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
        min_length=3, max_length=6, title="Anonyme sagsreferencer (3-6, fx 'sag-07')"
    )
    minianalyse_gennemfoert: bool = Field(title="Minianalysen er gennemført")

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


class MoedeplanForm(Form):
    tidspunkt: datetime = Field(title="Tidspunkt (dansk tid)")
    sted: ShortText = Field(title="Sted eller link")

    @field_validator("tidspunkt")
    @classmethod
    def _working_day(cls, value: datetime) -> datetime:
        from core.workdays import holiday_name, is_working_day

        day = value.date()
        if not is_working_day(day):
            why = holiday_name(day) or ("en lørdag" if day.weekday() == 5 else "en søndag")
            raise ValueError(f"{day.isoformat()} er ikke en arbejdsdag ({why}). Vælg en hverdag.")
        return value


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
}


def get_form(name: str) -> type[Form]:
    return FORMS[name]
