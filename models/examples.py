"""A valid, made-up answer for each form: demo data, tests and the forms' examples use these.
No personal data about children: case references are opaque ("sag-01"), people are staff."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from core.workdays import add_working_days, next_working_day, revisit_date


def sample_answer(kind: str, base: date) -> dict[str, Any]:
    """A valid answer for each form, with dates around `base` (meetings on working days)."""

    def day(offset_working_days: int) -> str:
        return add_working_days(next_working_day(base), offset_working_days).isoformat()

    def at(offset_working_days: int) -> str:
        return (
            datetime.combine(date.fromisoformat(day(offset_working_days)), datetime.min.time())
            .replace(hour=10)
            .isoformat()
        )

    answers: dict[str, dict[str, Any]] = {
        "behovsafklaring": {"formoede_dato": day(0), "fokus": "Opsporing og håndtering af underretninger"},
        "samarbejdsaftale": {
            "fokus": "Styrket praksis i sager om minoritetsetniske børn og unge",
            "maal": ["Fælles sprog om bekymring", "Bedre samarbejde med skoler og dagtilbud"],
            "tidsplan": "Seks måneder med tre workshops",
            "kontaktpersoner": [
                {
                    "navn": "Demo Kontaktperson",
                    "rolle": "Faglig leder",
                    "email": "faglig.leder@kommune.example",
                }
            ],
            "underskrevet_dato": day(0),
            "antal_workshops": 2,
            "antal_sparringsmoeder": 1,
        },
        "arbejdsgruppe": {
            "medlemmer": [
                {"navn": "Demo Leder", "rolle": "faglig_leder"},
                {"navn": "Demo Rådgiver", "rolle": "myndighed"},
                {"navn": "Demo Skoleleder", "rolle": "almenomraade"},
            ]
        },
        "dataindsamling": {
            "spoergeskema_udsendt": True,
            "spoergeskema_modtaget": True,
            "strategipapirer_modtaget": True,
            "procedurer_modtaget": True,
        },
        "sagsanalyse": {
            "sagsreferencer": ["sag-01", "sag-02", "sag-03", "sag-04"],
            "minianalyse_gennemfoert": True,
        },
        "moedeplan": {"tidspunkt": at(10), "sted": "Rådhuset, mødelokale 2"},
        "moede-afholdt": {"afholdt_dato": day(0), "noter": "God dialog"},
        "afdaekningsworkshop": {"afholdt_dato": day(0), "fokusomraader": ["Underretninger", "Samarbejde"]},
        "proevehandlinger": {
            "proevehandlinger": [{"beskrivelse": "Fast sparring om bekymringer", "ansvarlig": "Faglig leder"}]
        },
        "opsamlingsmoede": {"afholdt_dato": day(0), "konklusioner": "Fortsæt med fast sparring"},
        "evaluering": {"udsendt_dato": day(0), "antal_besvarelser": 12},
        "genbesoeg": {"afholdt_dato": revisit_date(base, 6).isoformat(), "tilmeldt_netvaerk": True},
        "opstartsmoede": {
            "afholdt_dato": day(0),
            "kontaktpersoner": [
                {
                    "navn": "Demo Kontaktperson",
                    "rolle": "Faglig leder",
                    "email": "faglig.leder@kommune.example",
                }
            ],
            "aftaler": "Tidsplan og roller aftalt; næste møde er afdækningen",
        },
        "inddragelse-afdaekning": {
            "afholdt_dato": day(0),
            "styrker": ["Børnesamtaler holdes i de fleste sager"],
            "udfordringer": ["Barnets perspektiv følges sjældent op i handleplanen"],
        },
        "udviklingsplan": {
            "godkendt_dato": day(0),
            "fokusomraader": ["Børnesamtalen", "Netværksinddragelse"],
            "maal": ["Barnets perspektiv står i alle handleplaner"],
            "antal_raadgivningsmoeder": 3,
            "antal_traeningsdage": 2,
            "antal_supervisioner": 2,
        },
        "raadgivningsmoede": {
            "afholdt_dato": day(0),
            "deltog_myndighed": True,
            "deltog_almenomraade": True,
            "antal_deltagere": 9,
            "aftaler": "Fast punkt om inddragelse på teammøderne",
        },
        "udviklingsaktiviteter": {
            "aktiviteter": [{"beskrivelse": "Ny skabelon til børnesamtaler", "ansvarlig": "Faglig leder"}]
        },
        "kompetenceplan": {"antal_medarbejdere": 18, "antal_faglige_ledere": 2},
        "traeningsdag-plan": {
            "tidspunkt": at(10),
            "sted": "Virtuelt møde",
            "moedeform": "virtuelt",
            "link": "https://moede.example/traeningsdag",
            "varighed": "halv",
            "tema": "Samtaler med børn",
        },
        "supervision-plan": {
            "tidspunkt": at(10),
            "sted": "Rådhuset, mødelokale 3",
            "supervisionsform": "faelles",
        },
        "kompetenceaktivitet-afholdt": {"afholdt_dato": day(0), "antal_medarbejdere": 14, "antal_ledere": 2},
        "afsluttende-opfoelgning": {
            "afholdt_dato": day(0),
            "udvikling": "tydelig",
            "resultater": "Fælles praksis er beskrevet og taget i brug",
            "anbefalinger": ["Følg op på praksis hvert halve år"],
        },
        "indledende-analyse": {
            "afsluttet_dato": day(0),
            "styrker": ["Godt samarbejde mellem skole og myndighed"],
            "udfordringer": ["Beredskabet er ikke kendt af alle medarbejdere"],
            "fokusomraader": ["Opsporing i dagtilbud", "Brug af beredskabet"],
            "antal_udviklingsaktiviteter": 2,
        },
        "beredskab-gennemgang": {
            "gennemgaaet_dato": day(0),
            "anbefalinger": ["Beskriv roller og ansvar ved mistanke om overgreb"],
        },
        "beredskab": {
            "opdateret_dato": day(0),
            "opdateret": True,
            "kendt_af_medarbejdere": True,
            "kendt_af_ledere": True,
            "formidling": "Temamøde for alle medarbejdere og ledere",
            "systematisk_brug": "Beredskabet er fast punkt på teammøder ved bekymring",
        },
        "udviklingsaktivitet": {"afholdt_dato": day(0), "aktivitetstype": "temadag", "antal_deltagere": 25},
    }
    return dict(answers[kind])
