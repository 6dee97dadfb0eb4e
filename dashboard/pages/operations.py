"""Driftsstatus (admins): courses whose app database and Prefect state disagree, in Danish, with
one button per course to repair it and one for all (every repair audited with the admin)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from dashboard.deps import CheckedForm
from dashboard.pages.common import Admin, Id, redirect
from dashboard.templating import render
from services import recovery

router = APIRouter(include_in_schema=False)


@router.get("/drift")
def operations_page(request: Request, user: Admin) -> Response:
    p = request.query_params
    return render(
        request,
        "operations.html",
        {
            "diagnosis": recovery.diagnose(),
            "runners": recovery.live_runners(),
            "repaired": p.get("rettet"),
            "failed": p.get("fejl"),
        },
    )


@router.post("/drift/forloeb/{course_id}/genoptag")
def resume_course(course_id: Id, user: Admin, form: CheckedForm) -> Response:
    done = recovery.resume_course(course_id, actor=user.username)
    return redirect(f"/drift?rettet={course_id}" if done else "/drift")


@router.post("/drift/ret-alle")
def repair_all(user: Admin, form: CheckedForm) -> Response:
    failed = 0
    for finding in recovery.diagnose().findings:
        if finding.kind not in recovery.REPAIRS:
            continue
        try:
            recovery.repair(finding, actor=user.username)
        except Exception:  # shown on the page afterwards: the finding is still there
            failed += 1
    return redirect(f"/drift?fejl={failed}" if failed else "/drift?rettet=alle")
