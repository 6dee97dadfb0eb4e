"""The application pages and API (issue 13): the public form (no login, CSRF, uploads), the
municipality's own link (documents only for it, withdrawal), Ansøgninger, the application page with
scores and a decision, Kapacitet, and the JSON API."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.clock import today
from services import applications
from tests.integration.test_applications import DOCS, answers, run_application
from tests.support.pdf import MINUTES, SIGNED, pdf_with_text
from tests.support.web import PASSWORD, client, csrf_from, logged_in
from tests.support.web import application_form as _form

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_public_form_uploads_link_and_consultant_decision() -> None:
    anon = client()
    page = anon.get("/ansoeg/overgreb")
    assert page.status_code == 200 and "Send ansøgningen" in page.text and "løbende optag" in page.text
    token = csrf_from(page.text)
    files = {
        "dokument_referat": ("referat.pdf", MINUTES, "application/pdf"),
        "dokument_underskrift": ("../../etc/erklæring.pdf", SIGNED, "application/pdf"),
    }
    done = anon.post("/ansoeg/overgreb", data={**_form(), "csrf_token": token}, files=files)
    assert done.status_code == 201, done.text
    link = done.text.split('id="application-link" href="')[1].split('"')[0]
    path = link
    row = applications.list_applications()[0]
    assert row.municipality == "Kolding" and row.gate_ok
    detail = applications.application_detail(row.id)
    assert {d.filename for d in detail.documents} == {"referat.pdf", "erklæring.pdf"}
    # The municipality's own link shows its documents; a forged link shows nothing.
    own = anon.get(path)
    assert own.status_code == 200 and "erklæring.pdf" in own.text
    pdf = anon.get(f"{path}/dokumenter/{detail.documents[0].id}")
    assert pdf.status_code == 200 and pdf.content == MINUTES
    assert anon.get(path[:-3] + "xyz").status_code == 403
    assert anon.get(f"/ansoegninger/{row.id}/dokumenter/{detail.documents[0].id}").status_code == 303  # login
    # A second open application from Kolding is refused, nothing stored.
    again = anon.post(
        "/ansoeg/overgreb",
        data={**_form(), "csrf_token": token},
        files={"dokument_referat": ("r.pdf", MINUTES)},
    )
    assert again.status_code == 409 and "allerede en åben ansøgning" in again.text
    assert len(applications.list_applications()) == 1

    assert detail.application.flow_run_id is not None
    run_application(detail.application.flow_run_id)
    kk = logged_in()
    listing = kk.get("/ansoegninger")
    assert listing.status_code == 200 and f'data-application="{row.id}"' in listing.text
    page = kk.get(f"/ansoegninger/{row.id}")
    assert "✓ opfyldt" in page.text and "Kvittering for ansøgning" in page.text
    token = csrf_from(page.text)
    scored = kk.post(f"/ansoegninger/{row.id}/vurdering", data={"csrf_token": token, "point_motivation": "4"})
    assert scored.status_code == 303
    bad = kk.post(f"/ansoegninger/{row.id}/afgoerelse", data={"csrf_token": token, "afgoerelse": "reject"})
    assert bad.status_code == 422 and "Vælg en begrundelse" in bad.text
    start = (today() + timedelta(days=40)).isoformat()
    decided = kk.post(
        f"/ansoegninger/{row.id}/afgoerelse",
        data={"csrf_token": token, "afgoerelse": "accept", "start": start},
    )
    assert decided.status_code == 303
    assert applications.application_detail(row.id).application.status.value == "accepted"
    capacity = kk.get("/kapacitet")
    assert capacity.status_code == 200 and 'data-programme="overgreb"' in capacity.text
    # The API shows the same.
    api = client()
    auth = ("kk", PASSWORD)
    listed = api.get("/api/applications", auth=auth).json()
    assert listed[0]["id"] == row.id and listed[0]["status"] == "accepted"
    assert api.get(f"/api/applications/{row.id}", auth=auth).json()["application"]["gate_ok"] is True
    assert any(
        r["programme"] == "overgreb" and r["used"] == 1 for r in api.get("/api/capacity", auth=auth).json()
    )
    refused = api.post(
        f"/api/applications/{row.id}/decision", json={"decision": "reject", "reason": "minimum"}, auth=auth
    )
    assert refused.status_code == 409 and refused.headers["content-type"].startswith(
        "application/problem+json"
    )
    # The municipality withdraws through its link.
    own = anon.get(path)
    withdrawn = anon.post(f"{path}/traek-tilbage", data={"csrf_token": csrf_from(own.text)})
    assert withdrawn.status_code == 200 and "trukket tilbage" in withdrawn.text


@pytest.mark.parametrize(
    ("change", "files", "words"),
    [
        ({"motivation": ""}, {}, "motivation: skal udfyldes"),
        ({"udfordringer": "Se 010203-1234"}, {}, "CPR-nummer"),
        ({}, {"dokument_referat": ("referat.pdf", b"GIF89a not a pdf")}, "ikke en PDF"),
        ({}, {"dokument_referat": ("r.pdf", pdf_with_text("Barn 010203-1234"))}, "CPR-nummer"),
        ({"kommune": ""}, {}, "Vælg kommunen"),
    ],
)
def test_bad_input_on_the_public_form_stores_nothing(change: dict[str, str], files: dict, words: str) -> None:  # type: ignore[type-arg]
    anon = client()
    token = csrf_from(anon.get("/ansoeg/overgreb").text)
    response = anon.post(
        "/ansoeg/overgreb", data={**_form(**change), "csrf_token": token}, files=files or None
    )
    assert response.status_code == 422 and words in response.text
    assert "010203" not in response.text
    assert applications.list_applications() == []


def test_the_form_needs_its_csrf_token_and_a_closed_round_says_when_the_next_opens() -> None:
    anon = client()
    anon.get("/ansoeg/overgreb")
    assert anon.post("/ansoeg/overgreb", data=_form()).status_code == 403
    page = anon.get("/ansoeg/minoritetsetniske")
    state = applications.intake_state("minoritetsetniske")
    assert page.status_code == 200 and state.message in page.text
    assert ("Send ansøgningen" in page.text) == state.open


def test_application_api_needs_a_login() -> None:
    assert client().get("/api/applications").status_code == 401
    applications.submit("overgreb", "Vejle", answers(), DOCS)
    assert client().get("/ansoegninger").status_code == 303
