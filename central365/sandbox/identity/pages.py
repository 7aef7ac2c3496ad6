"""The HTML the identity platform shows people: sign-in, device code, errors, form_post.

Self-contained pages: no external assets, no inline script, one inline `<style>` block that
the `Content-Security-Policy` header allows by its hash.  The one script is the form_post
page's same-origin `AUTOSUBMIT_PATH` (it presses "Continue", as Entra's page does by itself);
without JavaScript the person presses it.  Every action is a labelled `<button>` in
a POST form, so the pages work with a keyboard, a screen reader, or a test driving them with
plain HTTP (`Sign in as Demo User` is the button's text).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from html import escape

from central365.sandbox.identity.errors import OAuthError
from central365.sandbox.identity.registry import DemoUser, RegisteredApp

#: Form fields the sign-in forms add next to the original query.
USER_FIELD = "sandbox_user"
ACTION_FIELD = "sandbox_action"
USER_CODE_FIELD = "user_code"
#: Served by `routes.py`: submits the form_post page's form once the page has loaded.
AUTOSUBMIT_PATH = "/_sandbox/identity/autosubmit.js"
AUTOSUBMIT_JS = (
    'document.addEventListener("DOMContentLoaded", function () {\n'
    '  document.getElementById("autosubmit").submit();\n'
    "});\n"
)

_STYLE = """
body { font-family: system-ui, sans-serif; background: #f3f2f1; margin: 0; color: #1b1b1b; }
main { max-width: 30rem; margin: 3rem auto; background: #fff; padding: 2rem;
       box-shadow: 0 2px 6px rgba(0, 0, 0, .2); }
h1 { font-size: 1.5rem; margin-top: 0; }
.note { color: #5e5e5e; font-size: .9rem; }
.consent { background: #eef4fb; padding: .75rem; border-left: 4px solid #0067b8; }
.error { background: #fde7e9; padding: .75rem; border-left: 4px solid #a4262c; }
form { margin: .75rem 0; }
button { font: inherit; padding: .5rem 1rem; min-width: 12rem; cursor: pointer;
         background: #0067b8; color: #fff; border: 1px solid #0067b8; }
button.secondary { background: #fff; color: #1b1b1b; border-color: #8a8886; }
button:focus { outline: 3px solid #1b1b1b; outline-offset: 2px; }
input[type=text] { font: inherit; padding: .4rem; width: 12rem; }
code { background: #f3f2f1; padding: 0 .25rem; }
"""


@dataclass(frozen=True)
class Page:
    """An HTML document and the headers it must be served with."""

    html: str
    status: int = 200
    script: bool = False

    @property
    def headers(self) -> dict[str, str]:
        digest = base64.b64encode(hashlib.sha256(_STYLE.encode()).digest()).decode()
        script = " script-src 'self';" if self.script else ""
        return {
            "Content-Security-Policy": (
                f"default-src 'none'; style-src 'sha256-{digest}';{script} base-uri 'none'; "
                "frame-ancestors 'none'"
            ),
            "X-Frame-Options": "DENY",
            "X-Content-Type-Options": "nosniff",
            "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store",
        }


def _document(title: str, body: str, status: int = 200, *, script: bool = False) -> Page:
    head_script = f'<script src="{AUTOSUBMIT_PATH}" defer></script>' if script else ""
    return Page(
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style>{head_script}</head>"
        f"<body><main>{body}</main></body></html>",
        status,
        script,
    )


def _hidden(fields: Mapping[str, str]) -> str:
    return "".join(
        f'<input type="hidden" name="{escape(k)}" value="{escape(v)}">'
        for k, v in fields.items()
        if k not in (USER_FIELD, ACTION_FIELD)
    )


def _consent(app: RegisteredApp, scopes: Iterable[str]) -> str:
    listed = ", ".join(escape(s) for s in scopes) or "(nothing beyond signing in)"
    return (
        f'<p class="consent"><strong>{escape(app.display_name)}</strong> '
        f"(<code>{escape(app.client_id)}</code>) asks for: {listed}</p>"
    )


def roles_in_words(user: DemoUser, app: RegisteredApp) -> str:
    """The user's app roles on `app` as a person reads them, and whether they are an admin."""
    titles = []
    for value in user.roles_on(app.client_id):
        role = app.role(value)
        titles.append(f"{role.title if role else value} ({value})")
    words = f"role: {', '.join(titles)}" if titles else "no app role"
    if user.directory_admin:
        words += "; directory admin (may grant admin consent)"
    return words


def _user_forms(
    users: Iterable[DemoUser],
    app: RegisteredApp,
    action: str,
    fields: Mapping[str, str],
    grants: Mapping[str, str] | None,
) -> str:
    forms = []
    for user in users:
        granted = f" — grants: {grants.get(user.oid, '')}" if grants is not None else ""
        forms.append(
            f'<form method="post" action="{escape(action)}">{_hidden(fields)}'
            f'<input type="hidden" name="{USER_FIELD}" value="{escape(user.oid)}">'
            f'<button type="submit" name="{ACTION_FIELD}" value="signin">'
            f"Sign in as {escape(user.name)}</button>"
            f'<div class="note">{escape(user.username)} — {escape(roles_in_words(user, app))}'
            f"{escape(granted)}</div></form>"
        )
    return "".join(forms)


def _cancel_form(action: str, fields: Mapping[str, str], label: str = "Cancel") -> str:
    return (
        f'<form method="post" action="{escape(action)}">{_hidden(fields)}'
        f'<button type="submit" class="secondary" name="{ACTION_FIELD}" value="cancel">'
        f"{escape(label)}</button></form>"
    )


def sign_in_page(
    app: RegisteredApp,
    users: Iterable[DemoUser],
    *,
    action: str,
    fields: Mapping[str, str],
    requested: Iterable[str],
    grants: Mapping[str, str],
    login_hint: str | None = None,
) -> Page:
    """The authorize page: one "Sign in as <name>" button per demo user, and Cancel."""
    ordered = sorted(
        users, key=lambda u: not (login_hint and u.username.casefold() == login_hint.casefold())
    )
    body = (
        "<h1>Sign in</h1>"
        '<p class="note">central365 sandbox — a local stand-in for the Microsoft identity '
        "platform. No password: pick a demo user.</p>"
        f"{_consent(app, requested)}"
        f"{_user_forms(ordered, app, action, fields, grants)}"
        f"{_cancel_form(action, fields)}"
    )
    return _document("Sign in to your account", body)


def error_page(error: OAuthError) -> Page:
    """Shown when the app cannot be told (unknown client, untrusted redirect URI)."""
    body = (
        "<h1>Sorry, but we're having trouble signing you in.</h1>"
        f'<p class="error"><strong>{escape(error.error)}</strong><br>'
        f"AADSTS{error.aadsts}: {escape(error.description)}</p>"
    )
    return _document("Sign in error", body, 400)


def form_post_page(redirect_uri: str, fields: Mapping[str, str]) -> Page:
    """`response_mode=form_post`: the answer as a form posted on to the app's redirect URI."""
    body = (
        "<h1>Signing you in</h1>"
        f'<form id="autosubmit" method="post" action="{escape(redirect_uri)}">'
        f"{_hidden(fields)}"
        '<button type="submit">Continue to the application</button></form>'
    )
    return _document("Continue", body, script=True)


def device_code_page(action: str, problem: str | None = None) -> Page:
    """`/devicelogin`: enter the code the device showed."""
    error = f'<p class="error">{escape(problem)}</p>' if problem else ""
    body = (
        "<h1>Enter code</h1>"
        f"{error}"
        '<p class="note">Enter the code displayed on your app or device.</p>'
        f'<form method="post" action="{escape(action)}">'
        f'<label for="code">Code</label> <input type="text" id="code" '
        f'name="{USER_CODE_FIELD}" autocomplete="off" required> '
        '<button type="submit">Next</button></form>'
    )
    return _document("Enter code", body, 400 if problem else 200)


def device_sign_in_page(
    app: RegisteredApp,
    users: Iterable[DemoUser],
    *,
    action: str,
    user_code: str,
    requested: Iterable[str],
    grants: Mapping[str, str],
) -> Page:
    fields = {USER_CODE_FIELD: user_code}
    body = (
        "<h1>Sign in</h1>"
        f'<p class="note">Signing in on another device with code <code>{escape(user_code)}'
        "</code>.</p>"
        f"{_consent(app, requested)}"
        f"{_user_forms(users, app, action, fields, grants)}"
        f"{_cancel_form(action, fields)}"
    )
    return _document("Sign in", body)


def message_page(title: str, text: str) -> Page:
    return _document(title, f"<h1>{escape(title)}</h1><p>{escape(text)}</p>")


def _permission_list(app: RegisteredApp, lines: Iterable[tuple[str, str]]) -> str:
    items = "".join(
        f"<li><code>{escape(permission)}</code> — {escape(kind)}</li>" for permission, kind in lines
    )
    return (
        f'<div class="consent"><strong>{escape(app.display_name)}</strong> '
        f"(<code>{escape(app.client_id)}</code>) asks for these permissions, for everyone in "
        f"your organization:<ul>{items}</ul></div>"
    )


def admin_consent_sign_in_page(
    app: RegisteredApp,
    users: Iterable[DemoUser],
    *,
    action: str,
    fields: Mapping[str, str],
    lines: Iterable[tuple[str, str]],
) -> Page:
    """The admin consent endpoint's first step: who is granting (an admin must)."""
    body = (
        "<h1>Sign in to grant admin consent</h1>"
        '<p class="note">central365 sandbox — only a directory admin may grant consent for the '
        "whole organization. No password: pick a demo user.</p>"
        f"{_permission_list(app, lines)}"
        f"{_user_forms(users, app, action, fields, None)}"
        f"{_cancel_form(action, fields)}"
    )
    return _document("Sign in to your account", body)


def need_admin_page(
    app: RegisteredApp, user: DemoUser, *, action: str, fields: Mapping[str, str]
) -> Page:
    """A user who is no admin tried to grant admin consent (Entra's "Need admin approval")."""
    body = (
        "<h1>Need admin approval</h1>"
        f'<p class="error">{escape(app.display_name)} needs permission to access resources in '
        "your organization that only an admin can grant. Please ask an admin to grant "
        "permission to this app before you can use it.<br>"
        f"AADSTS90094: {escape(user.name)} ({escape(user.username)}) holds no directory role "
        "that may grant admin consent.</p>"
        f'<form method="post" action="{escape(action)}">{_hidden(fields)}'
        '<button type="submit">Have an admin account? Sign in with that account</button></form>'
        f"{_cancel_form(action, fields, 'Return to the application without granting consent')}"
    )
    return _document("Need admin approval", body, 403)


def admin_consent_page(
    app: RegisteredApp,
    user: DemoUser,
    *,
    action: str,
    fields: Mapping[str, str],
    lines: Iterable[tuple[str, str]],
) -> Page:
    """The admin's decision: Accept (for the whole organization) or Cancel."""
    body = (
        "<h1>Permissions requested</h1>"
        f'<p class="note">Signed in as {escape(user.name)} ({escape(user.username)}). '
        "Accept for your organization?</p>"
        f"{_permission_list(app, lines)}"
        f'<form method="post" action="{escape(action)}">{_hidden(fields)}'
        f'<input type="hidden" name="{USER_FIELD}" value="{escape(user.oid)}">'
        f'<button type="submit" name="{ACTION_FIELD}" value="accept">Accept</button></form>'
        f"{_cancel_form(action, fields)}"
    )
    return _document("Permissions requested", body)
