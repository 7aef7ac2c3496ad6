"""The Settings form: its fields, read from a submitted form and checked as a whole.

`read_form` turns the posted values into a `SettingsForm`; `validate` checks every field and
returns all problems at once, keyed by field name, so the page can show each message next to
its field.  The sign-in, mailbox and folder rules are the command line's too
(`central365.wiring.checks`); this module adds the form's own (the Central URL, the table, the
column mapping, a pasted certificate) and says each problem in the form's words.  Secrets are write-only: an empty secret or certificate field keeps the stored one,
the "remove" boxes delete it, and neither value is ever put back into a page.  The Central URL
is shown with its passwords masked (`mask_secrets`); a mask that comes back stands for the
stored password as long as the URL still names the same user on the same host
(`with_stored_central`), and is never stored as a password.  The tenant is not a field: it is
the start-up setting, shown read-only.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from cryptography.hazmat.primitives.serialization import load_pem_private_key
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from central365.appdb import AppSettings, AuthChoice
from central365.core.errors import ConfigError
from central365.core.model import CANONICAL_COLUMNS
from central365.sources.redact import MASK, mask_secrets
from central365.wiring.checks import Draft, FieldProblem, Rule, Setting, problems_of
from central365.wiring.connection import Credential, SignInMode
from central365.wiring.sign_in import msal_credential

NEW_FOLDER = "__new__"


@dataclass(frozen=True)
class SettingsForm:
    """What the Settings form holds (the secrets only as typed, never as stored)."""

    folder_name: str
    central_url: str
    central_table: str
    column_mapping: Mapping[str, str]
    auth_mode: str
    tenant_id: str
    client_id: str
    target_mailbox: str
    new_folder: bool = False
    import_file: str = ""
    client_secret: str = field(default="", repr=False)
    remove_client_secret: bool = False
    client_certificate: str = field(default="", repr=False)
    remove_client_certificate: bool = False

    @classmethod
    def of(cls, app: AppSettings) -> SettingsForm:
        return cls(
            folder_name=app.folder_name,
            central_url=masked_central(app.central_url),
            central_table=app.central_table,
            column_mapping=dict(app.column_mapping),
            auth_mode=app.auth_mode.value,
            tenant_id=app.tenant_id or "",
            client_id=app.client_id or "",
            target_mailbox=app.target_mailbox or "",
        )

    def without_typed_secrets(self) -> SettingsForm:
        """The form to show again after a problem: a typed secret or certificate is dropped.

        The Central URL stays as typed here: the page masks it, and seals the typed copy.
        """
        return replace(self, client_secret="", client_certificate="")


def masked_central(url: str) -> str:
    """The Central URL as shown on the page: every password becomes `***`."""
    return mask_secrets(url)


def _parsed(url: str) -> URL | None:
    if "://" not in url:
        return None
    try:
        return make_url(url)
    except (ArgumentError, ValueError):
        return None


def _secret_keys(url: URL) -> list[str]:
    """The query parameters `mask_secrets` hides."""
    return [k for k in url.query if mask_secrets(f"{k}=x") != f"{k}=x"]


def holds_mask(url: str) -> bool:
    """Does the URL still carry the page's mask where a password goes?"""
    parsed = _parsed(url)
    if parsed is None:
        return False
    return parsed.password == MASK or any(parsed.query[k] == MASK for k in _secret_keys(parsed))


def with_stored_central(form: SettingsForm, stored: AppSettings) -> SettingsForm:
    """The submitted form with the stored passwords where the page's masks came back.

    The whole masked URL back means the stored URL.  A mask in an edited URL stands for the
    stored password only when the URL still names the same kind of database, user, host and
    port: a password is never sent somewhere it was not typed for.
    """
    if form.central_url == masked_central(stored.central_url):
        return replace(form, central_url=stored.central_url)
    posted, before = _parsed(form.central_url), _parsed(stored.central_url)
    if posted is None or before is None or not holds_mask(form.central_url):
        return form
    same_place = (posted.drivername, posted.username, posted.host, posted.port) == (
        before.drivername,
        before.username,
        before.host,
        before.port,
    )
    if not same_place:
        return form
    restored = posted
    if posted.password == MASK and before.password is not None:
        restored = restored.set(password=before.password)
    query = dict(posted.query)
    for key in _secret_keys(posted):
        if query[key] == MASK and key in before.query:
            query[key] = before.query[key]
    restored = restored.set(query=query)
    return replace(form, central_url=restored.render_as_string(hide_password=False))


def central_url_problem(url: str) -> str | None:
    """What is wrong with the form of a Central URL (where it may point is `SourcePolicy`'s)."""
    if not url:
        return (
            "Upload a Central export, choose a file of the import folder, or give a database URL."
        )
    if url.casefold().startswith("csv:"):
        return None if url[4:].strip() else "Give the path of the export after csv:."
    if "://" not in url:
        return "This is neither csv:PATH nor a database URL such as postgresql+psycopg://host/db."
    try:
        make_url(url)
    except (ArgumentError, ValueError):
        return (
            "This database URL cannot be read: write it as "
            "postgresql+psycopg://user:password@host/database (a port is a number)."
        )
    if holds_mask(url):
        return (
            "Type the password again: *** stands for the stored password only while the "
            "user, host and port stay the same."
        )
    return None


def _text(form: Mapping[str, str], name: str) -> str:
    return form.get(name, "").strip()


def read_form(form: Mapping[str, str]) -> SettingsForm:
    """The submitted Settings (a new folder's name wins when "new folder" was chosen)."""
    choice = _text(form, "folder_choice")
    new_folder = choice == NEW_FOLDER or (not choice and bool(_text(form, "new_folder_name")))
    mapping = {
        column: _text(form, f"map_{column}")
        for column in CANONICAL_COLUMNS
        if _text(form, f"map_{column}") and _text(form, f"map_{column}") != column
    }
    return SettingsForm(
        folder_name=_text(form, "new_folder_name") if new_folder else choice,
        new_folder=new_folder,
        central_url=_text(form, "central_url"),
        central_table=_text(form, "central_table") or "contacts",
        column_mapping=mapping,
        auth_mode=_text(form, "auth_mode") or AuthChoice.DELEGATED.value,
        tenant_id="",  # the start-up setting's, set by the page: never taken from the form
        client_id=_text(form, "client_id"),
        target_mailbox=_text(form, "target_mailbox"),
        import_file=_text(form, "import_file"),
        client_secret=form.get("client_secret", ""),
        remove_client_secret=form.get("remove_client_secret") == "on",
        client_certificate=form.get("client_certificate", "").strip(),
        remove_client_certificate=form.get("remove_client_certificate") == "on",
    )


def _certificate_problem(pem: str) -> str | None:
    try:
        load_pem_private_key(pem.encode("ascii"), password=None)
        msal_credential(Credential(certificate_pem=pem))
    except ConfigError:
        return "Paste the certificate too: the PEM must hold the private key and the certificate."
    except (ValueError, TypeError, UnicodeEncodeError):
        return "This is not an unencrypted PEM private key with its certificate."
    return None


#: The form's field for each connection setting the one check speaks of (the folder's field
#: depends on whether a new folder is named).
_FORM_FIELDS = {
    Setting.TENANT: "auth_mode",  # the tenant is the start-up setting: the mode is what to change
    Setting.CLIENT_ID: "client_id",
    Setting.CREDENTIAL: "client_secret",
    Setting.MAILBOX: "target_mailbox",
}


def _form_words(problem: FieldProblem) -> str:
    """A connection problem as the sentence shown beside its field."""
    if problem.field is Setting.TENANT:
        return (
            "App-only access needs the tenant's id, which the server's operator sets at "
            "start-up: choose delegated access until it is set."
        )
    if problem.field is Setting.FOLDER and problem.rule is Rule.MISSING:
        return "Choose a contacts folder, or give the name of a new one."
    if problem.field is Setting.MAILBOX and problem.rule is Rule.MISSING:
        return "App-only access writes into a named mailbox: give its address."
    return problem.message


def draft_of(form: SettingsForm, stored: AppSettings, mode: AuthChoice) -> Draft:
    """The form as the one connection check (`central365.wiring.checks`) reads it.

    A credential is kept when one is stored and not removed, or one is typed now.
    """
    keeps_secret = (stored.has_client_secret and not form.remove_client_secret) or bool(
        form.client_secret.strip()
    )
    keeps_certificate = (
        stored.has_client_certificate and not form.remove_client_certificate
    ) or bool(form.client_certificate)
    return Draft(
        mode=SignInMode.APP if mode is AuthChoice.APP_ONLY else None,
        folder=form.folder_name,
        tenant=form.tenant_id,
        client_id=form.client_id,
        has_credential=keeps_secret or keeps_certificate,
        mailbox=form.target_mailbox,
    )


def _connection_problems(
    form: SettingsForm, stored: AppSettings, mode: AuthChoice
) -> dict[str, str]:
    """The connection check's problems, each under its form field, in the form's words."""
    folder_field = "new_folder_name" if form.new_folder else "folder_choice"
    problems: dict[str, str] = {}
    for problem in problems_of(draft_of(form, stored, mode)):
        name = folder_field if problem.field is Setting.FOLDER else _FORM_FIELDS[problem.field]
        problems[name] = _form_words(problem)
    return problems


def validate(form: SettingsForm, stored: AppSettings) -> dict[str, str]:
    """Every problem of the form, by field name; empty when it can be saved."""
    problems: dict[str, str] = {}
    central_problem = central_url_problem(form.central_url)
    if central_problem:
        problems["central_url"] = central_problem
    if not re.fullmatch(r"[A-Za-z0-9_$.\- ]{1,128}", form.central_table):
        problems["central_table"] = "Give the table or view's name (schema.table is allowed)."
    seen: dict[str, str] = {}
    for column, source in form.column_mapping.items():
        if source.casefold() in seen:
            problems[f"map_{column}"] = (
                f"Column {source!r} is already used for {seen[source.casefold()]}."
            )
        seen[source.casefold()] = column
    try:
        mode = AuthChoice(form.auth_mode)
    except ValueError:
        problems["auth_mode"] = "Choose delegated or app-only access."
        mode = AuthChoice.DELEGATED
    if form.client_certificate:
        certificate_problem = _certificate_problem(form.client_certificate)
        if certificate_problem:
            problems["client_certificate"] = certificate_problem
    problems.update(_connection_problems(form, stored, mode))
    return problems


def to_app_settings(form: SettingsForm) -> AppSettings:
    """The record to store (the repository keeps the secrets apart)."""
    return AppSettings(
        folder_name=form.folder_name,
        central_url=form.central_url,
        central_table=form.central_table,
        column_mapping=dict(form.column_mapping),
        auth_mode=AuthChoice(form.auth_mode),
        tenant_id=form.tenant_id or None,
        client_id=form.client_id or None,
        target_mailbox=form.target_mailbox or None,
    )


def secret_change(typed: str, remove: bool) -> str | None:
    """`SettingsRepository.save`'s convention: None keeps, "" removes, text replaces."""
    if typed.strip():
        return typed.strip()
    return "" if remove else None
