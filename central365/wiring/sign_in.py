"""From a `SignIn` description to msal's credential and the `httpx.Auth` that carries tokens.

The one place that reads a client certificate (a .pfx path, a PEM file, or the PEM text the
homepage stores) and computes the thumbprint msal needs; both fronts use it.  The token flows
themselves live in `central365.graph.auth` (`TokenProviderAuth` and its msal subclasses).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx

from central365.core.errors import ConfigError
from central365.graph.auth import (
    ClientCredential,
    ClientCredentialsAuth,
    DeviceCodeAuth,
    StaticTokenAuth,
    certificate_credential,
    certificate_thumbprint,
    pfx_credential,
    trusting_session,
)
from central365.wiring.connection import Credential, SignIn, SignInMode

_STORED_WITHOUT_CERTIFICATE = (
    "The stored client certificate holds no PEM certificate: paste the private key "
    "and the certificate together on the Settings page."
)


#: Said wherever the app signs in with a secret and no certificate (the CLI's targets, the
#: Settings page): a secret is allowed, but a certificate is the way to run unattended.
SECRET_WARNING = (
    "The app signs in with a client secret: a certificate is safer for unattended runs (a "
    "secret is a password that is copied as easily as it is pasted), so add one and remove "
    "the secret when you can."
)


def secret_warning(sign_in: SignIn) -> str | None:
    """`SECRET_WARNING` when app sign-in rests on a client secret alone, else None."""
    credential = sign_in.credential
    uses_certificate = credential.certificate_file is not None or bool(credential.certificate_pem)
    if sign_in.mode is SignInMode.APP and credential.secret and not uses_certificate:
        return SECRET_WARNING
    return None


def msal_credential(credential: Credential) -> ClientCredential:
    """The client secret, or msal's certificate credential (a certificate wins over a secret).

    Raises:
        ConfigError: no credential at all, a certificate file that cannot be read as PEM, or a
            PEM without its certificate (each message says how to fix it where it was given).
    """
    if credential.certificate_file is not None:
        return _file_credential(credential.certificate_file, credential)
    if credential.certificate_pem:
        try:
            thumbprint = credential.thumbprint or certificate_thumbprint(credential.certificate_pem)
        except ValueError:
            raise ConfigError(_STORED_WITHOUT_CERTIFICATE) from None
        return certificate_credential(credential.certificate_pem, thumbprint, credential.password)
    if credential.secret:
        return credential.secret
    raise ConfigError("Give a client secret or a certificate: sign-in needs one.")


def is_pfx(path: Path) -> bool:
    """A PKCS#12 file, which msal reads itself (the homepage stores PEM only)."""
    return path.suffix.lower() in (".pfx", ".p12")


def read_pem(path: Path) -> str:
    """The PEM text of a certificate file; `ConfigError` naming the file when it cannot be read."""
    try:
        return path.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"The client certificate {path} cannot be read as PEM: {exc}.") from None


def _file_credential(path: Path, credential: Credential) -> ClientCredential:
    """A .pfx/.p12 goes to msal by path; a PEM file must hold the key and the certificate."""
    if is_pfx(path):
        return pfx_credential(path, credential.password)
    pem = read_pem(path)
    thumbprint = credential.thumbprint
    if not thumbprint:
        try:
            thumbprint = certificate_thumbprint(pem)
        except ValueError:
            raise ConfigError(
                f"The client certificate {path} holds no PEM certificate: put the certificate "
                "beside the private key, or set CENTRAL365_CLIENT_CERTIFICATE_THUMBPRINT."
            ) from None
    return certificate_credential(pem, thumbprint, credential.password)


def sign_in_auth(sign_in: SignIn, on_device_code: Callable[[str], None]) -> httpx.Auth:
    """The `httpx.Auth` for the sign-in mode (see README: Pointing it at a real tenant).

    Raises:
        ConfigError: the mode is None (the caller must bring its own token) or the sign-in
            lacks its client id.
    """
    if sign_in.mode is SignInMode.SANDBOX:
        return StaticTokenAuth(sign_in.static_token)
    if sign_in.mode is None or not sign_in.client_id:
        raise ConfigError(
            "This connection has no sign-in of its own: give the client id and sign-in mode."
        )
    http_client = trusting_session(sign_in.ca_bundle) if sign_in.ca_bundle else None
    if sign_in.mode is SignInMode.APP:
        return ClientCredentialsAuth(
            sign_in.tenant,
            sign_in.client_id,
            msal_credential(sign_in.credential),
            authority_host=sign_in.authority_host,
            http_client=http_client,
        )
    return DeviceCodeAuth(
        sign_in.tenant,
        sign_in.client_id,
        sign_in.token_cache,
        show=on_device_code,
        authority_host=sign_in.authority_host,
        http_client=http_client,
    )
