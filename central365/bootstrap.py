"""Wire the adapters from settings: the Central source, the Graph mailbox, the service.

The only module that knows which concrete classes stand behind the ports; the CLI and the web
app call it once per command or request scope and close what it opened.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import httpx

from central365.config import AuthMode, Settings
from central365.core.errors import ConfigError
from central365.core.ports import ContactSource, Mailbox
from central365.engine.service import SyncService
from central365.graph import (
    ClientCredentialsAuth,
    DeviceCodeAuth,
    StaticTokenAuth,
    certificate_credential,
    connect,
    pfx_credential,
)
from central365.graph.auth import ClientCredential, certificate_thumbprint, trusting_session
from central365.sources import open_source


def app_credential(settings: Settings) -> ClientCredential:
    """The client secret, or MSAL's certificate credential from a .pfx or .pem file.

    A PEM file must hold the private key and the certificate; the thumbprint MSAL needs is
    computed from the certificate unless CENTRAL365_CLIENT_CERTIFICATE_THUMBPRINT gives it.
    """
    password = (
        settings.client_certificate_password.get_secret_value()
        if settings.client_certificate_password
        else None
    )
    path = settings.client_certificate
    if path is None:
        assert settings.client_secret is not None  # checked by load_settings
        return settings.client_secret.get_secret_value()
    if path.suffix.lower() in (".pfx", ".p12"):
        return pfx_credential(path, password)
    try:
        pem = path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The client certificate {path} cannot be read as PEM: {exc}.") from None
    thumbprint = settings.client_certificate_thumbprint
    if not thumbprint:
        try:
            thumbprint = certificate_thumbprint(pem)
        except ValueError:
            raise ConfigError(
                f"The client certificate {path} holds no PEM certificate: put the certificate "
                "beside the private key, or set CENTRAL365_CLIENT_CERTIFICATE_THUMBPRINT."
            ) from None
    return certificate_credential(pem, thumbprint, password)


def graph_auth(settings: Settings, on_device_code: Callable[[str], None]) -> httpx.Auth:
    """The httpx.Auth for the configured sign-in mode (see README: Pointing it at a real tenant)."""
    if settings.auth is AuthMode.SANDBOX:
        return StaticTokenAuth(settings.sandbox_token.get_secret_value())
    assert settings.client_id is not None  # checked by load_settings
    tenant = settings.tenant_id or "organizations"
    http_client = trusting_session(settings.ca_bundle) if settings.ca_bundle else None
    if settings.auth is AuthMode.APP:
        return ClientCredentialsAuth(
            tenant,
            settings.client_id,
            app_credential(settings),
            authority_host=settings.authority_host,
            http_client=http_client,
        )
    return DeviceCodeAuth(
        tenant,
        settings.client_id,
        settings.token_cache,
        show=on_device_code,
        authority_host=settings.authority_host,
        http_client=http_client,
    )


def mailbox_identity(settings: Settings, auth: httpx.Auth) -> str:
    """The mailbox as people name it: the configured one, or for `me` with device sign-in the
    signed-in person's username (so a folder's run lock is the same as on the homepage)."""
    if settings.mailbox == "me" and isinstance(auth, DeviceCodeAuth):
        return auth.account_username() or settings.mailbox
    return settings.mailbox


@contextmanager
def open_mailbox(
    settings: Settings,
    on_device_code: Callable[[str], None] = print,
    auth: httpx.Auth | None = None,
) -> Iterator[Mailbox]:
    """The configured mailbox over Graph; `auth` reuses a sign-in the caller already made."""
    verify: bool | str = str(settings.ca_bundle) if settings.ca_bundle else True
    with connect(
        settings.graph_url,
        settings.mailbox,
        auth or graph_auth(settings, on_device_code),
        timeout=settings.timeout,
        verify=verify,
    ) as mailbox:
        yield mailbox


def central_source(settings: Settings) -> ContactSource:
    assert settings.central is not None  # checked by load_settings
    return open_source(
        settings.central, table=settings.central_table, mapping_path=settings.central_mapping
    )


@contextmanager
def open_service(
    settings: Settings,
    on_device_code: Callable[[str], None] = print,
    auth: httpx.Auth | None = None,
) -> Iterator[SyncService]:
    """A SyncService over the configured Central source and Office 365 folder."""
    source = central_source(settings)
    with open_mailbox(settings, on_device_code, auth) as mailbox:
        yield SyncService(
            source,
            mailbox,
            settings.folder,
            run_deadline=settings.run_deadline,
            guard_thresholds=settings.guard_thresholds,
        )
