"""The public application form (issue 13): what a municipality writes when it applies for a
course. Aggregate numbers only, and the names, roles and e-mails of municipal staff: nothing about
children. CPR numbers are refused as in every form (`models.forms.Form`)."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field, model_validator

from models.forms import Email, Form, ShortText, Text

HelpScheme = Literal["task_force", "vold_overgreb", "viso_aere", "siri"]


class Kontakt(Form):
    navn: ShortText = Field(title="Navn")
    rolle: ShortText = Field(title="Rolle")
    email: Email = Field(title="E-mail")


class TidligereBistand(Form):
    ordning: HelpScheme = Field(title="Ordning")
    aar: int = Field(ge=2000, le=2100, title="År")


class ApplicationForm(Form):
    motivation: Text = Field(title="Motivation og baggrund for ansøgningen")
    udfordringer: Text = Field(title="Udfordringer i forhold til målgruppen")
    forventninger: Text = Field(title="Forventninger og mål for forløbet")
    forankring: Text = Field(title="Hvordan forløbet forankres i ledelsen")
    fokus: ShortText = Field(title="Ønsket fokus for forløbet (kort)")
    organisering: Text | None = Field(None, title="Kommunens organisering på børne- og ungeområdet")
    foretrukken_start: date | None = Field(None, title="Foretrukket opstart")
    kontaktpersoner: list[Kontakt] = Field(min_length=1, max_length=5, title="Kontaktpersoner")
    tidligere_bistand: list[TidligereBistand] = Field(
        default_factory=list, max_length=10, title="Tidligere bistand fra styrelserne"
    )
    ingen_tidligere_bistand: bool = Field(False, title="Ingen tidligere bistand")
    underretninger: int = Field(ge=0, le=1_000_000, title="Antal underretninger om målgruppen (seneste år)")
    foranstaltninger: int = Field(
        ge=0, le=1_000_000, title="Antal foranstaltninger for målgruppen (seneste år)"
    )
    underskriver_navn: ShortText | None = Field(None, title="Underskrevet af (navn)")
    underskriver_titel: Literal["Direktør", "Centerchef"] | None = Field(None, title="Underskriverens titel")
    underskrevet_dato: date | None = Field(None, title="Dato for underskrift")
    indledende_moede: bool = Field(False, title="Vi har holdt et indledende møde med Socialstyrelsen")
    direktoerbeslutning: bool = Field(False, title="Beslutningen om at søge er truffet på direktørniveau")

    @model_validator(mode="after")
    def _consistent(self) -> ApplicationForm:
        if self.ingen_tidligere_bistand and self.tidligere_bistand:
            raise ValueError(
                "Vælg enten 'ingen tidligere bistand' eller de ordninger, I har fået bistand fra."
            )
        return self
