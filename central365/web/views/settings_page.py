"""The Settings page: folder, Central source, Microsoft 365 connection, and the Scopes panel.

`GET /settings` shows the stored settings (never a secret, passwords in the Central URL masked),
the mailbox's folders to pick from and the scopes of the current token.  `POST /settings` with
`action=save` validates the whole form and stores it (creating a new folder when one was named),
`action=test` tries the Central source as typed and reports its columns, record count and the
line numbers of unreadable rows — never the source's content — without saving anything.
`POST /settings/upload` takes a Central export as a streamed, size-capped upload and makes it
the Central source.

Where Central may be is `SourcePolicy`'s decision (uploads, the import folder, allowed hosts):
the web never reads another server path or probes another host.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import MappingProxyType
from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from central365.appdb import AppSettings, User
from central365.core.errors import Central365Error, ConfigError
from central365.core.model import CANONICAL_COLUMNS, REQUIRED_COLUMNS
from central365.sources import ColumnMapping, CsvSource, SqlSource, mask_secrets, open_source
from central365.sources.survey import SourceSurvey, survey
from central365.web.deps import Admin, AdminCsrf, Caller, RuntimeDep
from central365.web.guard_form import (
    GUARD_FIELDS,
    guard_problems,
    read_guards,
    shown_values,
    thresholds_of,
)
from central365.web.pages import render_page
from central365.web.runtime import Runtime
from central365.web.scopes import NOT_NEEDED, scopes_panel
from central365.web.settings_form import (
    NEW_FOLDER,
    SettingsForm,
    central_url_problem,
    masked_central,
    read_form,
    secret_change,
    to_app_settings,
    validate,
    with_stored_central,
)
from central365.web.source_policy import Allowed, SourcePolicy
from central365.web.sync_policy_form import (
    DELETED_CONTACTS_FIELD,
    DELETED_WORDS,
    POLICY_WORDS,
    deleted_contacts_of,
    policies_of,
    policy_problems,
    policy_rows,
    read_policies,
    shown_policies,
)
from central365.web.uploads import (
    FILE_FIELD,
    UploadFolder,
    UploadRefused,
    receive_upload,
    text_problem,
)
from central365.wiring.settings import field_policies_of, guard_thresholds_of
from central365.wiring.sign_in import SECRET_WARNING

logger = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True, slots=True)
class FolderOption:
    name: str
    label: str
    nested: bool


@dataclass(frozen=True, slots=True)
class CentralCheck:
    """What *Test connection* or an upload found, as the page shows it."""

    survey: SourceSurvey
    upload_name: str = ""  # the uploaded file's name, as the browser sent it

    @property
    def ok(self) -> bool:
        return self.survey.ok


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


def _mapping(renames: Mapping[str, str]) -> ColumnMapping:
    return ColumnMapping(renames=MappingProxyType(dict(renames)))


def test_central(url: str, form: SettingsForm) -> SourceSurvey:
    """Survey the source at `url` (already allowed by the policy); nothing is stored."""
    try:
        source = open_source(
            url, table=form.central_table or "contacts", mapping=_mapping(form.column_mapping)
        )
    except Central365Error as exc:
        return SourceSurvey(problems=tuple(mask_secrets(p) for p in exc.problems or (exc.message,)))
    assert isinstance(source, CsvSource | SqlSource)  # what open_source builds
    return survey(source)


def configured_tenant(runtime: Runtime, app: AppSettings) -> str:
    """The tenant the page shows: the start-up setting (the stored one before it existed)."""
    return runtime.settings.tenant_id or app.tenant_id or ""


def _page(
    request: Request,
    runtime: Runtime,
    caller: Caller,
    form: SettingsForm,
    *,
    errors: Mapping[str, str] | None = None,
    test: CentralCheck | None = None,
    upload: CentralCheck | None = None,
    status_code: int = 200,
    guards: Mapping[str, str] | None = None,
    policies: Mapping[str, str] | None = None,
) -> Response:
    app = runtime.load_app_settings()
    policy = SourcePolicy.of(runtime.settings)
    folders, folders_error = folder_options(runtime, caller.user, app)
    granted: frozenset[str] | None = None
    scope_error = None
    try:
        granted = runtime.connector.token(caller.user, app).granted
    except Central365Error as exc:
        scope_error = exc.message
    import_files = policy.import_files()
    chosen_file = form.import_file or next(
        (n for n in import_files if policy.import_url(n) == form.central_url), ""
    )
    context: dict[str, Any] = {
        "form": replace(form, central_url=masked_central(form.central_url)),
        "sealed_central": _sealed_typed_central(runtime, form, app),
        "stored": app,
        "errors": dict(errors or {}),
        "test": test,
        "upload": upload,
        "stored_upload": policy.stored_upload(app.central_url) is not None,
        "import_files": import_files,
        "has_import_dir": policy.import_dir is not None,
        "chosen_file": chosen_file,
        "upload_limit_mib": max(1, runtime.settings.upload_max_bytes // (1024 * 1024)),
        "FILE_FIELD": FILE_FIELD,
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
            authority_host=runtime.clients.browser_authority_host(),
            redirect_uri=runtime.redirect_uri,
            error=scope_error,
        ),
        "not_needed": NOT_NEEDED,
        "SECRET_WARNING": SECRET_WARNING,
        "guard_fields": GUARD_FIELDS,
        "guards": guards or shown_values(guard_thresholds_of(runtime.settings, app)),
        "policy_rows": policy_rows(),
        "policy_words": POLICY_WORDS,
        "deleted_words": DELETED_WORDS,
        "deleted_field": DELETED_CONTACTS_FIELD,
        "policies": _shown_policies(runtime, app, policies),
        "saved": request.query_params.get("saved") == "1",
        "consented": request.query_params.get("consented") == "1",
    }
    return render_page(
        request,
        "settings.html",
        context,
        status_code=status_code,
        user_name=caller.user.name,
        csrf_token=caller.csrf_token,
    )


def _shown_policies(
    runtime: Runtime, app: AppSettings, typed: Mapping[str, str] | None
) -> dict[str, str]:
    """The selects: as typed (a refused save), blanks filled from what applies now."""
    stored = shown_policies(
        field_policies_of(runtime.settings, app),
        app.deleted_contacts or runtime.settings.deleted_contacts,
    )
    return stored | {k: v for k, v in (typed or {}).items() if v}


def _shown_form(runtime: Runtime, app: AppSettings) -> SettingsForm:
    return replace(SettingsForm.of(app), tenant_id=configured_tenant(runtime, app))


@router.get("/settings")
def settings_page(request: Request, caller: Admin, runtime: RuntimeDep) -> Response:
    app = runtime.load_app_settings()
    # A stored URL that cannot be used (saved by an older version, or its file has gone) is
    # shown with its problem beside the field, never as a server error.
    problem = _stored_central_problem(runtime, app)
    errors = {"central_url": problem} if problem else None
    return _page(request, runtime, caller, _shown_form(runtime, app), errors=errors)


def _stored_central_problem(runtime: Runtime, app: AppSettings) -> str | None:
    problem = central_url_problem(app.central_url)
    if problem:
        return problem
    verdict = SourcePolicy.of(runtime.settings).check(app.central_url, app.central_url)
    return None if isinstance(verdict, Allowed) else verdict.problem


#: What a sealed Central URL in the page starts with, so no other sealed text passes for one.
_SEALED_PURPOSE = "settings-central-url:"


def _sealed_typed_central(runtime: Runtime, form: SettingsForm, stored: AppSettings) -> str:
    """The typed Central URL, sealed, when the page shows it masked and it is not the stored one.

    *Test connection* or a refused save shows a newly typed password as `***`; the sealed copy
    in a hidden field lets the next save keep what was typed rather than the stored password.
    """
    if (
        form.central_url == stored.central_url
        or masked_central(form.central_url) == form.central_url
    ):
        return ""
    return runtime.secret_box.seal(_SEALED_PURPOSE + form.central_url)


def _typed_central(runtime: Runtime, values: Mapping[str, str], shown: str) -> str | None:
    """The URL the page sealed, when the form came back with its masked copy unchanged."""
    sealed = values.get("central_url_sealed", "")
    if not sealed:
        return None
    try:
        opened = runtime.secret_box.open(sealed)
    except (ConfigError, ValueError):
        return None
    url = opened.removeprefix(_SEALED_PURPOSE)
    if url == opened or masked_central(url) != shown:
        return None
    return url


def _posted_form(
    values: Mapping[str, str], runtime: Runtime, stored: AppSettings
) -> tuple[SettingsForm, dict[str, str]]:
    """The form as posted, with the configured tenant, the chosen import file and the passwords
    behind masks (the ones typed before, else the stored ones); a problem when the chosen import
    file is not one of the folder's."""
    form = replace(read_form(values), tenant_id=configured_tenant(runtime, stored))
    if form.import_file:
        url = SourcePolicy.of(runtime.settings).import_url(form.import_file)
        if url is None:
            return form, {"import_file": "This file is no longer in the import folder."}
        form = replace(form, central_url=url)
    typed = _typed_central(runtime, values, form.central_url)
    if typed is not None:
        return replace(form, central_url=typed), {}
    return with_stored_central(form, stored), {}


def _allowed_central(runtime: Runtime, form: SettingsForm, stored: AppSettings) -> str | Allowed:
    """The form's Central URL as the policy allows it, or the problem for its field."""
    problem = central_url_problem(form.central_url)
    if problem:
        return problem
    verdict = SourcePolicy.of(runtime.settings).check(form.central_url, stored.central_url)
    return verdict if isinstance(verdict, Allowed) else verdict.problem


@router.post("/settings")
async def save_settings(request: Request, caller: AdminCsrf, runtime: RuntimeDep) -> Response:
    posted = await request.form()
    values = {k: v for k, v in posted.items() if isinstance(v, str)}
    stored = await run_in_threadpool(runtime.load_app_settings)
    form, errors = await run_in_threadpool(_posted_form, values, runtime, stored)
    guards = read_guards(values)
    policies = read_policies(values)
    if values.get("action") == "test":
        return await run_in_threadpool(
            _test, request, runtime, caller, form, stored, errors, guards, policies
        )
    return await run_in_threadpool(_save, request, runtime, caller, form, errors, guards, policies)


def _test(
    request: Request,
    runtime: Runtime,
    caller: Caller,
    form: SettingsForm,
    stored: AppSettings,
    errors: dict[str, str],
    guards: Mapping[str, str] | None = None,
    policies: Mapping[str, str] | None = None,
) -> Response:
    allowed = _allowed_central(runtime, form, stored)
    if errors:
        found = SourceSurvey(problems=tuple(errors.values()))
    elif isinstance(allowed, Allowed):
        found = test_central(allowed.url, form)
    else:
        found = SourceSurvey(problems=(allowed,))
    return _page(
        request,
        runtime,
        caller,
        form.without_typed_secrets(),
        test=CentralCheck(found),
        errors=errors,
        guards=guards,
        policies=policies,
    )


def _save(
    request: Request,
    runtime: Runtime,
    caller: Caller,
    form: SettingsForm,
    errors: dict[str, str],
    guards: Mapping[str, str] | None = None,
    policies: Mapping[str, str] | None = None,
) -> Response:
    stored = runtime.load_app_settings()
    guards = guards or {}
    policies = policies or {}
    errors = {
        **validate(form, stored),
        **guard_problems(guards),
        **policy_problems(policies),
        **errors,
    }
    if "central_url" not in errors and "import_file" not in errors:
        allowed = _allowed_central(runtime, form, stored)
        if isinstance(allowed, Allowed):
            form = replace(form, central_url=allowed.url)
        else:
            errors["central_url"] = allowed
    if not errors and form.new_folder:
        errors.update(_create_folder(runtime, caller.user, form, stored))
    if errors:
        return _page(
            request,
            runtime,
            caller,
            form.without_typed_secrets(),
            errors=errors,
            status_code=400,
            guards=guards,
            policies=policies,
        )
    runtime.app_settings.save(
        replace(
            to_app_settings(form),
            guard_thresholds=thresholds_of(guards, runtime.settings.guard_thresholds),
            field_policies=policies_of(policies, runtime.settings.field_policies),
            deleted_contacts=deleted_contacts_of(policies, runtime.settings.deleted_contacts),
        ),
        client_secret=secret_change(form.client_secret, form.remove_client_secret),
        client_certificate_pem=secret_change(
            form.client_certificate, form.remove_client_certificate
        ),
        by=caller.display_name,
    )
    _forget_replaced_upload(runtime, stored.central_url, form.central_url)
    runtime.plans.forget()  # another folder, source or mailbox: plan again on the next visit
    return RedirectResponse("/settings?saved=1", status_code=303)


def _forget_replaced_upload(runtime: Runtime, before: str, after: str) -> None:
    """Delete the upload the stored settings named, once they name another source."""
    upload = SourcePolicy.of(runtime.settings).stored_upload(before)
    if upload is not None and upload != SourcePolicy.of(runtime.settings).stored_upload(after):
        UploadFolder(runtime.settings.data_dir).delete(upload)


@router.post("/settings/upload")
async def upload_central(request: Request, caller: Admin, runtime: RuntimeDep) -> Response:
    """A Central export, streamed to the uploads folder; used as the source when it is usable.

    The CSRF token is checked by `receive_upload` as the body streams (it comes before the
    file), so this route does not take the `Csrf` dependency, which would read the whole body.
    """
    folder = UploadFolder(runtime.settings.data_dir)
    try:
        received = await receive_upload(
            request,
            folder,
            limit=runtime.settings.upload_max_bytes,
            csrf_expected=caller.csrf_token,
        )
    except UploadRefused as exc:
        return await run_in_threadpool(_upload_refused, request, runtime, caller, exc.problem)
    return await run_in_threadpool(
        _use_upload, request, runtime, caller, received.path, received.filename
    )


def _upload_refused(
    request: Request,
    runtime: Runtime,
    caller: Caller,
    problem: str,
    found: SourceSurvey | None = None,
) -> Response:
    app = runtime.load_app_settings()
    check = CentralCheck(found, "") if found is not None else None
    return _page(
        request,
        runtime,
        caller,
        _shown_form(runtime, app),
        errors={FILE_FIELD: problem},
        upload=check,
        status_code=400,
    )


def _use_upload(
    request: Request, runtime: Runtime, caller: Caller, path: Path, filename: str
) -> Response:
    folder = UploadFolder(runtime.settings.data_dir)
    problem = text_problem(path)
    if problem is not None:
        folder.delete(path)
        return _upload_refused(request, runtime, caller, problem)
    stored = runtime.load_app_settings()
    found = survey(CsvSource(path, mapping=_mapping(stored.column_mapping)))
    if not found.ok:
        folder.delete(path)
        return _upload_refused(
            request,
            runtime,
            caller,
            "The export was not used: it lacks what Central's contacts need (see below).",
            found,
        )
    url = f"csv:{path}"
    runtime.app_settings.save(replace(stored, central_url=url), by=caller.display_name)
    _forget_replaced_upload(runtime, stored.central_url, url)
    runtime.plans.forget()
    logger.info(
        "A Central export of %d records was uploaded by %s", found.records, caller.display_name
    )
    return _page(
        request,
        runtime,
        caller,
        _shown_form(runtime, runtime.load_app_settings()),
        upload=CentralCheck(found, filename),
    )


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
