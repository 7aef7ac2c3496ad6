"""The e-mail alerts page of the Settings (admins only): where alerts about unattended runs go.

`GET /settings/alerts` shows the SMTP settings in force — the ones saved here, else the
start-up `[smtp]` settings — never the password.  `POST /settings/alerts` with `action=save`
checks the whole form and stores it (the password sealed); `action=test` sends a test e-mail
with the settings as typed, without saving, and says in one sentence what failed.  Sending waits
at most `smtp.sender.DEFAULT_TIMEOUT` seconds for the server, in the thread pool.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from central365.core.errors import Central365Error
from central365.smtp import AlertMail
from central365.web.alert_form import (
    SECURITY_CHOICES,
    AlertForm,
    alert_problems,
    keeps_stored_password,
    password_change,
    read_alert_form,
    to_alert_mail,
)
from central365.web.deps import Admin, AdminCsrf, Caller, RuntimeDep
from central365.web.pages import render_page
from central365.web.runtime import Runtime
from central365.wiring.alerting import alert_mail, send_test_email, start_up_mail

logger = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)


def _in_force(runtime: Runtime) -> tuple[AlertMail | None, bool]:
    """The settings in force (saved here, else start-up), and whether they are the saved ones."""
    saved = runtime.alert_mail.load()
    if saved is not None:
        return saved, True
    return start_up_mail(runtime.settings), False


def _page(
    request: Request,
    runtime: Runtime,
    caller: Caller,
    form: AlertForm,
    *,
    errors: Mapping[str, str] | None = None,
    sent: str | None = None,
    failed: str | None = None,
    status_code: int = 200,
) -> Response:
    mail, saved = _in_force(runtime)
    context: dict[str, Any] = {
        "form": form.without_password(),
        "errors": dict(errors or {}),
        "mail": mail,
        "from_start_up": mail is not None and not saved,
        "security_choices": SECURITY_CHOICES,
        "sent": sent,
        "failed": failed,
        "saved": request.query_params.get("saved") == "1",
    }
    return render_page(
        request,
        "alert_settings.html",
        context,
        status_code=status_code,
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
    )


@router.get("/settings/alerts")
def alerts_page(request: Request, caller: Admin, runtime: RuntimeDep) -> Response:
    return _page(request, runtime, caller, AlertForm.of(_in_force(runtime)[0]))


@router.post("/settings/alerts")
async def post_alerts(request: Request, caller: AdminCsrf, runtime: RuntimeDep) -> Response:
    posted = await request.form()
    values = {k: v for k, v in posted.items() if isinstance(v, str)}
    form = read_alert_form(values)
    if values.get("action") == "test":
        return await run_in_threadpool(_test, request, runtime, caller, form)
    return await run_in_threadpool(_save, request, runtime, caller, form)


def _save(request: Request, runtime: Runtime, caller: Caller, form: AlertForm) -> Response:
    stored, _ = _in_force(runtime)
    errors = alert_problems(form, stored)
    if errors:
        return _page(request, runtime, caller, form, errors=errors, status_code=400)
    change = password_change(form, stored)
    saved = runtime.alert_mail.load()
    if change is None and saved is None:
        # The password kept is the start-up one: the saved settings now carry it themselves.
        start_up = runtime.settings.smtp_password
        change = start_up.get_secret_value() if start_up else ""
    runtime.alert_mail.save(to_alert_mail(form), password=change, by=caller.display_name)
    logger.info("The e-mail alert settings were changed by user %d.", caller.user.id)
    return RedirectResponse("/settings/alerts?saved=1", status_code=303)


def _test(request: Request, runtime: Runtime, caller: Caller, form: AlertForm) -> Response:
    stored, _ = _in_force(runtime)
    errors = alert_problems(form, stored)
    if errors:
        return _page(request, runtime, caller, form, errors=errors, status_code=400)
    try:
        password = form.password
        if keeps_stored_password(form, stored):
            found = alert_mail(runtime.settings, runtime.alert_mail)
            password = found[1] if found is not None else ""
        mail = to_alert_mail(form)
        send_test_email(mail, password, caller.display_name)
    except Central365Error as exc:
        return _page(request, runtime, caller, form, failed=exc.message)
    sent = f"A test e-mail was sent to {', '.join(mail.recipients)}."
    return _page(request, runtime, caller, form, sent=sent)
