"""Who is calling the token endpoint: the client id, proved by a secret or a certificate.

Entra's rules: the client id may come in the form or in HTTP Basic credentials (never two
different ones); a confidential client must prove itself with `client_secret` or a
`client_assertion` signed by a registered certificate (`private_key_jwt`); a public client may
send neither.  The answer also says how the client proved itself, which access tokens record
(`azpacr` / `appidacr`: "0" public, "1" secret, "2" certificate).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from central365.sandbox.identity import errors
from central365.sandbox.identity.errors import OAuthError
from central365.sandbox.identity.keys import verify_client_assertion
from central365.sandbox.identity.registry import IdentityConfig, RegisteredApp

JWT_BEARER = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
PUBLIC, SECRET, CERTIFICATE = "0", "1", "2"


def authenticate_client(
    config: IdentityConfig,
    form: Mapping[str, str],
    basic: tuple[str, str] | None,
    token_urls: Iterable[str],
) -> tuple[RegisteredApp, str]:
    """The calling app and how it proved itself (`PUBLIC`, `SECRET` or `CERTIFICATE`).

    `token_urls` are the audiences a client assertion may name (this tenant's token endpoint
    under each of its names).
    """
    client_id = form.get("client_id") or (basic[0] if basic else "")
    if basic is not None and form.get("client_id") and form["client_id"] != basic[0]:
        raise errors.invalid_client(
            7000216, "The client_id in the body and in the Authorization header differ."
        )
    if not client_id:
        raise errors.invalid_request(
            900144, "The request body must contain the following parameter: 'client_id'."
        )
    app = config.app(client_id)
    if app is None:
        raise errors.unknown_client(client_id, config.tenant_id)
    secret = form.get("client_secret") or (basic[1] if basic else "")
    assertion = form.get("client_assertion", "")
    if secret:
        if secret not in app.secrets:
            raise errors.invalid_client(
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the "
                "request is the client secret value, not the client secret ID, for a "
                f"secret added to app '{client_id}'.",
            )
        return app, SECRET
    if assertion:
        if form.get("client_assertion_type") != JWT_BEARER:
            raise errors.invalid_request(50027, f"client_assertion_type must be '{JWT_BEARER}'.")
        problem = verify_client_assertion(
            assertion, app.certificates, client_id=client_id, audiences=list(token_urls)
        )
        if problem is not None:
            raise errors.invalid_client(700027, f"Client assertion failed: {problem}")
        return app, CERTIFICATE
    if not app.public_client:
        raise credential_missing()
    return app, PUBLIC


def credential_missing() -> OAuthError:
    return errors.invalid_client(
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or "
        "'client_secret'.",
    )
