"""What each front was told, as a `Connection`: start-up `Settings`, or the homepage's.

The command line describes one connection in `config.Settings`; the homepage keeps its own in
the database (`AppSettings`, edited on the Settings page) and adds the start-up settings it
does not let a page change (Graph URL, authority host, CA bundle, timeout, run deadline).
A worker running the homepage's runs uses `connection_from_app` too, without the web.

Must not: open anything or read a secret from a store: the caller passes the secrets it holds.
"""

from __future__ import annotations

from dataclasses import dataclass

from central365.appdb import AppSettings, AuthChoice, User, run_lock_key
from central365.config import Settings
from central365.core.errors import ConfigError
from central365.core.guards import GuardThresholds
from central365.core.policy import FieldPolicy
from central365.wiring.connection import Central, Connection, Credential, SignIn


def credential_from_settings(settings: Settings) -> Credential:
    """The app registration's credential as the command line was given it."""
    return Credential(
        secret=settings.client_secret.get_secret_value() if settings.client_secret else None,
        certificate_file=settings.client_certificate,
        password=(
            settings.client_certificate_password.get_secret_value()
            if settings.client_certificate_password
            else None
        ),
        thumbprint=settings.client_certificate_thumbprint,
    )


def connection_from_settings(settings: Settings) -> Connection:
    """The connection the command line's settings (TOML, environment) describe."""
    central = (
        Central(settings.central, settings.central_table, mapping_file=settings.central_mapping)
        if settings.central is not None
        else None
    )
    return Connection(
        central=central,
        sign_in=SignIn(
            mode=settings.auth,
            tenant=settings.tenant_id or "organizations",
            client_id=settings.client_id,
            credential=credential_from_settings(settings),
            authority_host=settings.authority_host,
            ca_bundle=settings.ca_bundle,
            token_cache=settings.token_cache,
            static_token=settings.sandbox_token.get_secret_value(),
        ),
        mailbox=settings.mailbox,
        folder=settings.folder,
        graph_url=settings.graph_url,
        timeout=settings.timeout,
        run_deadline=settings.run_deadline,
        guard_thresholds=settings.guard_thresholds,
        field_policies=settings.field_policies,
        deleted_contacts=settings.deleted_contacts,
    )


@dataclass(frozen=True, slots=True)
class Target:
    """One contacts folder of one mailbox, as the homepage plans and locks it.

    In delegated mode the signed-in person's own mailbox (Graph's `/me`, with their token —
    never another, whatever is stored); in app-only mode the configured shared or service
    mailbox (`/users/{mailbox}`, with the app's token).  Its `key` (mailbox identity + folder
    name, case-folded) names the cached plan and is the run lock.
    """

    graph_mailbox: str  # what Graph's path wants: "me", or the mailbox's UPN or id
    label: str  # what people see and History records: the mailbox's address
    folder_name: str

    @property
    def key(self) -> str:
        """The plan cache key and the run lock (appdb's `run_lock_key`)."""
        return run_lock_key(self.label, self.folder_name)


def target_of(app: AppSettings, user: User) -> Target:
    """The folder the homepage plans for this person under these settings."""
    if app.auth_mode is AuthChoice.APP_ONLY:
        if not app.target_mailbox:
            raise ConfigError(
                "App-only mode needs a target mailbox: set it on the Settings page "
                "(the shared or service mailbox's address)."
            )
        return Target(app.target_mailbox, app.target_mailbox, app.folder_name)
    # Delegated: always the person's own mailbox, whatever mailbox is stored (that one is for
    # app-only mode): a person's token never writes into someone else's mailbox from here.
    return Target("me", user.username or user.name, app.folder_name)


def connection_from_app(
    settings: Settings,
    app: AppSettings,
    target: Target,
    credential: Credential | None = None,
) -> Connection:
    """The connection the homepage's stored settings describe for one target.

    Its sign-in has no mode of its own: the homepage's identity client brings the person's or
    the app's token.  `credential` is the stored secret or certificate, for the identity client.
    """
    return Connection(
        central=Central(
            app.central_url, app.central_table or "contacts", mapping=dict(app.column_mapping)
        ),
        sign_in=SignIn(
            mode=None,
            tenant=app.tenant_id or "organizations",
            client_id=app.client_id,
            credential=credential or Credential(),
            authority_host=settings.authority_host,
            ca_bundle=settings.ca_bundle,
        ),
        mailbox=target.graph_mailbox,
        label=target.label,
        folder=target.folder_name,
        graph_url=settings.graph_url,
        timeout=settings.timeout,
        run_deadline=settings.run_deadline,
        guard_thresholds=guard_thresholds_of(settings, app),
        field_policies=field_policies_of(settings, app),
        deleted_contacts=app.deleted_contacts or settings.deleted_contacts,
    )


def guard_thresholds_of(settings: Settings, app: AppSettings) -> GuardThresholds:
    """The homepage's thresholds: the Settings page's when it set them, else the start-up ones."""
    return app.guard_thresholds or settings.guard_thresholds


def field_policies_of(settings: Settings, app: AppSettings) -> dict[str, FieldPolicy]:
    """The homepage's write policies: the Settings page's when it set them, else the start-up
    ones (`[fields]` of central365.toml, which stays the command line's source)."""
    if app.field_policies is not None:
        return dict(app.field_policies)
    return settings.field_policies
