"""Evalueringer (issue 15): the public evaluation form by personal link, closing an evaluation on
the consultant's task, and the results per course and per programme and period.

    /evaluering/<token>              the form, no login: one answer per link, anonymous
    /opgaver/<id>/luk-evaluering     close: completes the evaluation task with the counted numbers
    /evalueringer?program=&fra=&til=&forloeb=
                                     results: scales as charts, free text listed
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from core.errors import ForloebError, InvalidInput
from dashboard import charts
from dashboard.deps import CheckedForm
from dashboard.pages.common import Id, User, redirect
from dashboard.pages.kpi import selection
from dashboard.templating import render
from services import evaluation, kpi, read_model

router = APIRouter(include_in_schema=False)


def _error(request: Request, title: str, message: str, status_code: int) -> Response:
    return render(request, "link_error.html", {"title": title, "message": message}, status_code=status_code)


def _form(
    request: Request,
    token: str,
    link: evaluation.EvaluationLink,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return render(
        request,
        "evaluation_form.html",
        {"link": link, "token": token, "values": values or {}, "errors": errors or {}},
        status_code=status_code,
    )


def _read(request: Request, token: str) -> evaluation.EvaluationLink | Response:
    try:
        link = evaluation.read_link(token)
    except ForloebError:
        return _error(
            request,
            "Linket er ugyldigt",
            "Linket til evalueringen kan ikke bruges. Tjek at du har kopieret hele linket.",
            404,
        )
    if link.answered:
        return _error(
            request,
            "Evalueringen er besvaret",
            "Tak, du har allerede besvaret evalueringen med dette link.",
            410,
        )
    if link.closed:
        return _error(
            request,
            "Evalueringen er lukket",
            "Evalueringen er afsluttet, så der kan ikke længere svares.",
            410,
        )
    return link


@router.get("/evaluering/{token}")
def evaluation_form(request: Request, token: str) -> Response:
    link = _read(request, token[:100])
    return link if isinstance(link, Response) else _form(request, token, link)


@router.post("/evaluering/{token}")
def evaluation_submit(request: Request, token: str, form: CheckedForm) -> Response:
    link = _read(request, token[:100])
    if isinstance(link, Response):
        return link
    values = {q.key: str(form.get(q.key) or "") for q in link.form.questions}
    try:
        evaluation.submit(token, values)
    except InvalidInput as exc:
        errors = exc.details if isinstance(exc.details, dict) else {}
        return _form(request, token, link, values, errors, 422)
    except ForloebError as exc:
        return _error(request, "Svaret er ikke gemt", exc.message, exc.http_status)
    return render(request, "evaluation_done.html", {"link": link})


@router.post("/opgaver/{task_id}/luk-evaluering")
def close_evaluation(request: Request, task_id: Id, user: User, form: CheckedForm) -> Response:
    task = evaluation.close(task_id, actor=user.username, main_points=str(form.get("hovedpointer") or ""))
    return redirect(f"/forloeb/{task.course_id}?udfoert={task_id}")


@router.get("/evalueringer")
def evaluations_page(request: Request, user: User) -> Response:
    programme, period = selection(request)
    course = request.query_params.get("forloeb", "")
    course_id = int(course) if course.isdigit() and len(course) < 10 else None
    if course_id is not None:
        found = evaluation.results(course_id=course_id)
        counted = evaluation.status(course_id)
        heading = read_model.course_detail(course_id)
    else:
        found = evaluation.results(programme=programme, start=period.start, end=period.end)
        counted, heading = None, None
    return render(
        request,
        "evaluations.html",
        {
            "results": found,
            "charts": {r.programme: charts.evaluation_chart(r.questions) for r in found},
            "programmes": kpi.programme_options(),
            "programme": programme or "",
            "period": period,
            "course_id": course_id,
            "counted": counted,
            "detail": heading,
        },
    )
