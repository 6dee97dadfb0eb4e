"""Server-rendered pages (Danish), one module and one router per area; `dashboard.app` includes
them all. Reads come from `services.read_model`; writes go through the services (`courses`,
`meetings`, `outbox_admin`, `accounts`, `task_links`), each recording who did it.

    auth                login, logout, `/` and `/healthz`
    overview            /oversigt
    courses             /forloeb/ny, /forloeb/<id>
    tasks               /opgaver, /opgaver/<id> (the task's form), /opgaver/<id>/kommunelink
    municipality_links  /k/<token>: the municipality's task form, no login
    meetings            /moeder/<id>/flyt, /moeder/<id>/aflys
    notifications       /notifikationer, /notifikationer/<id>/send-igen
    municipalities      /kommuner
    accounts            /konto, /konsulenter (admins)
    operations          /drift: Driftsstatus, courses to repair (admins)
    privacy             /adgangslog (+ .csv): the access log; /slet-person: erasure on request (admins)
    kpi                 /noegletal: Nøgletal per programme and period, CSV/XLSX exports
    evaluation          /evaluering/<token> (no login), /opgaver/<id>/luk-evaluering, /evalueringer
    network             /netvaerk (sign-up, no login), /netvaerk/<token> (leave), /netvaerk/oversigt,
                        /netvaerk/moeder[/<id>/flyt|aflys]

Shared: `common` (who is asking, redirects, `form_page`: the one way to show a form with its
errors) and `task_form` (a task's generated form, for the task page and the link page).

Every handler is a plain `def`: FastAPI runs it in its thread pool, so a form submit that waits on
the database, Prefect, a mail server or argon2 never holds up anyone else's page. A posted form is
read and its CSRF token checked by the `CheckedForm` dependency (`dashboard.deps`) before the
handler runs. `tests/web/test_web_never_blocks.py` keeps it that way.
"""
