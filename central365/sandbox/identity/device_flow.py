"""The device code flow's sign-ins in flight (RFC 8628, as Entra runs it).

`POST /devicecode` starts one (a user code for the person, a device code for the app); the
person enters the user code at `/devicelogin` and picks a user (or declines); the app polls
the token endpoint with the device code and hears `authorization_pending`, then its tokens or
`authorization_declined`.  One device sign-in is for one resource: scopes of several resources
are refused when it starts (AADSTS28000, as the token endpoint would).
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from central365.sandbox.identity.errors import OAuthError
from central365.sandbox.identity.registry import DemoUser, IdentityConfig, RegisteredApp
from central365.sandbox.identity.scope_request import GRAPH, Audience, ScopeRequest
from central365.sandbox.identity.tokens import UserGrant, user_grant

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ23456789"


class DeviceStatus(StrEnum):
    """Where a device-code sign-in stands (what a polling client's token request learns)."""

    PENDING = "pending"  # the person has not answered yet: `authorization_pending`
    APPROVED = "approved"  # signed in: the poll gets tokens
    DECLINED = "declined"  # refused on the sign-in page: `authorization_declined`


@dataclass
class DeviceRequest:
    """A device-code sign-in: `status` pending → approved (with `grant`) or declined."""

    device_code: str
    user_code: str
    app: RegisteredApp
    oidc: tuple[str, ...]
    expires_at: float
    status: DeviceStatus = DeviceStatus.PENDING
    grant: UserGrant | None = None
    scopes: tuple[str, ...] = field(default=())
    audience: Audience = GRAPH


class DeviceSignIns:
    """The device sign-ins in flight, by device code; `clock` gives epoch seconds."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._requests: dict[str, DeviceRequest] = {}

    def clear(self) -> None:
        with self._lock:
            self._requests.clear()

    def _purge(self) -> None:
        now = self._clock()
        for code in [d for d, r in self._requests.items() if r.expires_at + 60 < now]:
            del self._requests[code]

    def start(
        self, config: IdentityConfig, app: RegisteredApp, requested: ScopeRequest, root: str
    ) -> dict[str, Any]:
        """`POST /devicecode`'s answer for `app` asking for `requested`."""
        audience = requested.audience()
        user_code = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(9))
        device_code = "DAQABIQEAAAB" + secrets.token_urlsafe(64)
        request = DeviceRequest(
            device_code=device_code,
            user_code=user_code,
            app=app,
            oidc=requested.oidc,
            scopes=requested.shown,
            expires_at=self._clock() + config.device_code_lifetime_s,
            audience=audience,
        )
        with self._lock:
            self._purge()
            self._requests[device_code] = request
        verification_uri = f"{root}/devicelogin"
        return {
            "user_code": user_code,
            "device_code": device_code,
            "verification_uri": verification_uri,
            "expires_in": config.device_code_lifetime_s,
            "interval": config.device_poll_interval_s,
            "message": (
                f"To sign in, use a web browser to open the page {verification_uri} and enter "
                f"the code {user_code} to authenticate."
            ),
        }

    def find(self, user_code: str) -> DeviceRequest | None:
        """The pending device sign-in with this user code (case and dashes ignored)."""
        wanted = user_code.strip().upper().replace("-", "")
        with self._lock:
            for request in self._requests.values():
                if (
                    request.user_code == wanted
                    and request.status is DeviceStatus.PENDING
                    and request.expires_at >= self._clock()
                ):
                    return request
        return None

    def finish(
        self, config: IdentityConfig, request: DeviceRequest, user_key: str | None
    ) -> DemoUser | None:
        """Approve as `user_key` (object id or username), or decline with None."""
        if user_key is None:
            request.status = DeviceStatus.DECLINED
            return None
        user = config.user(user_key)
        if user is None:
            return None
        request.grant = user_grant(
            config,
            request.app,
            user,
            request.audience,
            request.oidc,
            auth_time=int(self._clock()),
        )
        request.status = DeviceStatus.APPROVED
        return user

    def redeem(self, device_code: str, app: RegisteredApp) -> UserGrant:
        """The token endpoint's poll: the grant once approved, else Entra's answer."""
        with self._lock:
            request = self._requests.get(device_code)
            if request is not None and request.status is not DeviceStatus.PENDING:
                del self._requests[device_code]
        if request is None or request.app.client_id != app.client_id:
            raise OAuthError("expired_token", 70019, "Verification code expired.")
        if request.expires_at < self._clock():
            raise OAuthError(
                "expired_token",
                70020,
                "The provided value for the input parameter 'device_code' is not valid. "
                "Device codes expire after 15 minutes.",
            )
        if request.status is DeviceStatus.DECLINED:
            raise OAuthError(
                "authorization_declined", 65004, "User declined to consent to access the app."
            )
        if request.status is DeviceStatus.PENDING or request.grant is None:
            raise OAuthError(
                "authorization_pending",
                70016,
                "OAuth 2.0 device flow error. Authorization is pending. Continue polling.",
            )
        return request.grant
