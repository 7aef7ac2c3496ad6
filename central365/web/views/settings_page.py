"""The Settings page: folder, Central source, Microsoft 365 connection, and the Scopes panel.

`GET /settings` shows the stored settings (never a secret), the mailbox's folders to pick from
and the scopes of the current token.  `POST /settings` with `action=save` validates the whole
form and stores it (creating a new folder when one was named), `action=test` tries the Central
source as typed and reports its record count and missing columns without saving anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from central365.appdb import AppSettings, User
from central365.errors import Central365Error, ConfigError, SourceError
from central365.model import CANONICAL_COLUMNS, REQUIRED_COLUMNS, CentralContact
from central365.web.deps import Admin, AdminCsrf, Caller, RuntimeDep
from central365.web.pages import render
from central365.web.runtime import Runtime
from central365.web.scopes import NOT_NEEDED, scopes_panel
from central365.web.settings_form import (
    NEW_FOLDER,
    SettingsForm,
    read_form,
    secret_change,
    to_app_settings,
    validate,
    with_stored_central,
)
from central365.web.targets import central_source

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class FolderOption:
    name: str
    label: str
    nested: bool


@dataclass(frozen=True, slots=True)
class CentralTest:
    """What "Test connection" found."""

    ok: bool
    records: int = 0
    active: int = 0
    unreadable_rows: int = 0
    problems: tuple[str, ...] = ()
    empty_columns: tuple[str, ...] = ()


def folder_options(
    runtime: Runtime, user: User, app: AppSettings
) -> tuple[list[FolderOption], str | None]:
    """The mailbox's contacts folders (nested ones marked), or why they could not be listed."""
    try:
        with runtime.connector.mailbox(user, app) as mailbox:
            found = mailbox.folders()
    except Central365Error as exc:
        return [], exc.message
    by_id = {f.id: f.display_name for f in found}
    options = []
    for info in found:
        parent = by_id.get(info.parent_folder_id)
        label = f"{info.display_name} (inside {parent})" if parent else info.display_name
        options.append(FolderOption(info.display_name, label, parent is not None))
    return options, None


def test_central(form: SettingsForm) -> CentralTest:
    """Read the source as typed: count records, name missing columns (nothing is stored)."""
    app = to_app_settings(form)
    records = active = unreadable = 0
    filled: set[str] = set()
    try:
        for row in central_source(app).read():
            if not isinstance(row, CentralContact):
                unreadable += 1
                continue
            records += 1
            active += row.status.strip().casefold() == "active"
            filled.update(c for c in ("title", "mobile", "telephone", "website") if getattr(row, c))
    except (SourceError, ConfigError) as exc:
        return CentralTest(False, problems=(exc.message, *exc.problems))
    optional = ("title", "mobile", "telephone", "website")
    return CentralTest(
        True, records, active, unreadable, (), tuple(c for c in optional if c not in filled)
    )


def _page(
    request: Request,
    runtime: Runtime,
    caller: Caller,
    form: SettingsForm,
    *,
    errors: Mapping[str, str] | None = None,
    test: CentralTest | None = None,
    status_code: int = 200,
) -> Response:
    app = runtime.load_app_settings()
    folders, folders_error = folder_options(runtime, caller.user, app)
    granted: frozenset[str] | None = None
    scope_error = None
    try:
        granted = runtime.connector.token(caller.user, app).granted
    except Central365Error as exc:
        scope_error = exc.message
    context: dict[str, Any] = {
        "form": form,
        "stored": app,
        "errors": dict(errors or {}),
        "test": test,
        "folders": folders,
        "folders_error": folders_error,
        "known_folder": any(f.name == form.folder_name for f in folders),
        "NEW_FOLDER": NEW_FOLDER,
        "columns": CANONICAL_COLUMNS,
        "mapping_open": bool(form.column_mapping)
        or any(k.startswith("map_") for k in errors or {}),
        "required_columns": REQUIRED_COLUMNS,
        "scopes": scopes_panel(
            app,
            granted,
            authority_host=runtime.settings.authority_host,
            redirect_uri=runtime.redirect_uri,
            error=scope_error,
        ),
        "not_needed": NOT_NEEDED,
        "saved": request.query_params.get("saved") == "1",
        "consented": request.query_params.get("consented") == "1",
    }
    return render(
        request,
        "settings.html",
        context,
        status_code=status_code,
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
    )


@router.get("/settings")
def settings_page(request: Request, caller: Admin, runtime: RuntimeDep) -> Response:
    return _page(request, runtime, caller, SettingsForm.of(runtime.load_app_settings()))


@router.post("/settings")
async def save_settings(request: Request, caller: AdminCsrf, runtime: RuntimeDep) -> Response:
    posted = await request.form()
    values = {k: v for k, v in posted.items() if isinstance(v, str)}
    stored = await run_in_threadpool(runtime.load_app_settings)
    form = with_stored_central(read_form(values), stored)
    if values.get("action") == "test":
        test = await run_in_threadpool(test_central, form)
        return await run_in_threadpool(
            _page, request, runtime, caller, form.without_secrets(), test=test
        )
    return await run_in_threadpool(_save, request, runtime, caller, form)


def _save(request: Request, runtime: Runtime, caller: Caller, form: SettingsForm) -> Response:
    stored = runtime.load_app_settings()
    errors = validate(form, stored)
    if not errors and form.new_folder:
        errors.update(_create_folder(runtime, caller.user, form, stored))
    if errors:
        return _page(
            request, runtime, caller, form.without_secrets(), errors=errors, status_code=400
        )
    runtime.app_settings.save(
        to_app_settings(form),
        client_secret=secret_change(form.client_secret, form.remove_client_secret),
        client_certificate_pem=secret_change(
            form.client_certificate, form.remove_client_certificate
        ),
        by=caller.display_name,
    )
    runtime.plans.forget()  # another folder, source or mailbox: plan again on the next visit
    return RedirectResponse("/settings?saved=1", status_code=303)


def _create_folder(
    runtime: Runtime, user: User, form: SettingsForm, stored: AppSettings
) -> dict[str, str]:
    """Create the named folder now (at the top level), unless it exists; a problem by field.

    The connection is the form's, signed in with the stored credentials: the form never
    carries a stored secret back, only whether one is kept.
    """
    app = replace(
        to_app_settings(form),
        has_client_secret=stored.has_client_secret,
        has_client_certificate=stored.has_client_certificate,
        updated_at=stored.updated_at,
    )
    try:
        with runtime.connector.mailbox(user, app) as mailbox:
            if mailbox.find_folder(form.folder_name) is None:
                mailbox.create_folder(form.folder_name)
    except Central365Error as exc:
        return {"new_folder_name": f"The folder could not be created: {exc.message}"}
    return {}
