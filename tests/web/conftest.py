"""The web tier: the homepage app in-process, over a tiny Central CSV and the sandbox's Graph.

Nothing opens a socket: the app is called through `InProcessTransport` (its lifespan run by an
anyio portal), Graph is the sandbox app in-process, and sign-in goes through `FakeIdentity`, a
configurable `IdentityClient` that plays the authority's part of the authorization-code flow.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

import anyio.from_thread
import httpx
import pytest
from bs4 import BeautifulSoup
from fastapi import FastAPI
from pydantic import SecretStr
from starlette.applications import Starlette

from central365.appdb import SecretBox
from central365.config import Settings
from central365.core.errors import AuthFailed
from central365.core.mapping import create_body, desired_contact
from central365.core.model import CentralContact
from central365.mailstore.store import SandboxStore, seed_folder
from central365.sandbox.app import create_sandbox_app
from central365.sandbox.transport import InProcessTransport
from central365.sources import write_csv
from central365.web import create_app
from central365.web.bearer import BearerVerifier
from central365.web.identity import AccessToken, SignedIn, SignInStart
from central365.web.runtime import Runtime

MAILBOX = "alice@contoso.test"
FOLDER = "Central Contacts"
BASE_URL = "http://central365.test"


ADMIN_ROLE = "Central365.Admin"
SYNC_ROLE = "Central365.Sync"
#: What the Read Only demo user consented to: reading contacts, never writing them.
READ_ONLY_GRANT = frozenset({"Contacts.Read", "User.Read", "openid", "profile"})


@dataclass(frozen=True)
class FakeUser:
    oid: str
    tenant_id: str
    name: str
    username: str
    #: The app roles in the ID token's `roles` claim.
    roles: frozenset[str] = frozenset()
    #: This person's own consent; None: the identity's `granted`.
    granted: frozenset[str] | None = None


ALICE = FakeUser("oid-alice", "tenant-1", "Alice Admin", MAILBOX, frozenset({ADMIN_ROLE}))
BOB = FakeUser("oid-bob", "tenant-1", "Bob Builder", "bob@contoso.test")
SAM = FakeUser("oid-sam", "tenant-1", "Sam Sync", "sam@contoso.test", frozenset({SYNC_ROLE}))
PAT = FakeUser("oid-pat", "tenant-1", "Pat Plain", "pat@contoso.test")
RITA = FakeUser("oid-rita", "tenant-1", "Rita Reader", "rita@contoso.test", granted=READ_ONLY_GRANT)
#: Someone of another organisation, with an admin role in *their* tenant's registration.
MALLORY = FakeUser(
    "oid-mallory", "tenant-evil", "Mallory", "mallory@evil.test", frozenset({ADMIN_ROLE})
)


def all_users() -> dict[str, FakeUser]:
    return {"alice": ALICE, "bob": BOB, "sam": SAM, "pat": PAT, "rita": RITA, "mallory": MALLORY}


@dataclass
class FakeIdentity:
    """Plays Microsoft's part: `code` names the user who signed in; tokens are made up.

    `granted` is what delegated tokens grant (unless the user has their own grant),
    `app_granted` what app-only tokens do; setting `expired` makes every silent token request
    ask for a new sign-in.
    """

    users: Mapping[str, FakeUser] = field(default_factory=all_users)
    granted: frozenset[str] = frozenset({"Contacts.ReadWrite", "User.Read", "openid", "profile"})
    app_granted: frozenset[str] = frozenset({"Contacts.ReadWrite"})
    expired: bool = False
    token_requests: int = 0

    def begin_sign_in(self, redirect_uri: str) -> SignInStart:
        state = secrets.token_urlsafe(8)
        flow = {"state": state, "redirect_uri": redirect_uri, "code_verifier": "verifier"}
        return SignInStart(
            f"https://login.test/authorize?state={state}&redirect_uri={quote(redirect_uri)}", flow
        )

    def complete_sign_in(self, flow: Mapping[str, Any], response: Mapping[str, str]) -> SignedIn:
        if response.get("state") != flow.get("state"):
            raise AuthFailed("The sign-in answer does not belong to this sign-in.")
        user = self.users.get(response.get("code", ""))
        if user is None:
            raise AuthFailed("Microsoft sign-in failed (invalid_grant).")
        cache = json.dumps({"oid": user.oid, "refresh_token": "REFRESH-TOKEN-SECRET"})
        return SignedIn(
            user.oid,
            user.tenant_id,
            user.name,
            user.username,
            self._granted(user.oid),
            cache,
            roles=user.roles,
        )

    def _granted(self, oid: str) -> frozenset[str]:
        found = [u for u in self.users.values() if u.oid == oid]
        if found and found[0].granted is not None:
            return found[0].granted
        return self.granted

    def user_token(
        self, token_cache: str, username: str, *, force_refresh: bool = False
    ) -> AccessToken:
        from central365.web.errors import SignInRequired

        self.token_requests += 1
        if self.expired:
            raise SignInRequired("Your Microsoft sign-in has expired: please sign in again.")
        oid = json.loads(token_cache)["oid"]
        return AccessToken(f"user-token-{oid}", self._granted(oid))

    def app_token(self, *, force_refresh: bool = False) -> AccessToken:
        return AccessToken("app-token", self.app_granted)


def record(
    key: str, first: str, last: str, email: str, status: str = "active", mobile: str = ""
) -> CentralContact:
    return CentralContact(
        key=key, status=status, first_name=first, last_name=last, email=email, mobile=mobile
    )


#: The Central of the web tests: one record per case the homepage shows.
RECORDS = (
    record("1", "Ada", "Lovelace", "ada@example.com"),  # new
    record("2", "Bob", "Builder", "bob@example.com", mobile="07700 900002"),  # update (mobile)
    record("3", "Cleo", "Patra", "cleo@example.com"),  # unchanged
    record("4", "Dan", "Deceased", "dan@example.com"),  # non-actionable: deceased
    record("5", "Eve", "Broken", "not-an-email"),  # non-actionable: invalid email
    record("6", "Ina", "Ctive", "ina@example.com", status="inactive"),  # excluded
    record("7", "<script>alert(1)</script>", "Hacker", "hacker@example.com"),  # new, escaped
    record("8", "Old", "Closed", "old@example.com", status="closed"),  # excluded
)


def folder_contacts() -> list[dict[str, Any]]:
    """Bob with an old mobile, Cleo exactly as Central has her, and someone not in Central."""
    bob = create_body(desired_contact(RECORDS[1]))
    bob["mobilePhone"] = "07700 900001"
    cleo = create_body(desired_contact(RECORDS[2]))
    other = {
        "givenName": "Zed",
        "surname": "Else",
        "emailAddresses": [{"address": "zed@example.com"}],
    }
    return [bob, cleo, other]


@dataclass
class World:
    """Central, the sandbox, the identity platform and the settings of one test."""

    tmp: Path
    store: SandboxStore
    sandbox: Starlette
    graph: InProcessTransport
    identity: FakeIdentity
    settings: Settings
    bearer: BearerVerifier | None = None

    def app(self) -> FastAPI:
        return create_app(
            self.settings,
            secret_box=SecretBox.from_secret("web-tests-key"),
            identity=self.identity,
            bearer=self.bearer,
            graph_transport=self.graph,
        )

    def folder(self, name: str = FOLDER) -> list[dict[str, Any]]:
        (found,) = [f for f in self.store.list_folders(MAILBOX) if f["displayName"] == name]
        return self.store.list_contacts(MAILBOX, found["id"])


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    central = tmp_path / "central.csv"
    write_csv(central, RECORDS)
    # The app-only tests plan another user's mailbox: it must exist (issue 10 item 4).
    store = SandboxStore(default_mailbox=MAILBOX, mailboxes=("shared@contoso.test",))
    seed_folder(store, MAILBOX, FOLDER, folder_contacts())
    sandbox = create_sandbox_app(store)
    graph = InProcessTransport(sandbox)
    settings = Settings(
        central=f"csv:{central}",
        folder=FOLDER,
        tenant_id="tenant-1",
        client_id="client-id",
        client_secret=SecretStr("seeded-client-secret"),
        data_dir=tmp_path / "data",
        public_url=BASE_URL,
    )
    try:
        yield World(tmp_path, store, sandbox, graph, FakeIdentity(), settings)
    finally:
        graph.close()


class Web:
    """A browser-like client of the app: cookies, and helpers for pages and forms."""

    def __init__(self, app: FastAPI, client: httpx.Client) -> None:
        self.app = app
        self.client = client

    @property
    def runtime(self) -> Runtime:
        runtime: Runtime = self.app.state.runtime
        return runtime

    def sign_in(self, code: str = "alice", next_path: str = "/") -> httpx.Response:
        start = self.client.get("/auth/login", params={"next": next_path})
        assert start.status_code == 303, start.text
        state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
        return self.client.get("/auth/callback", params={"code": code, "state": state})

    def soup(self, url: str, status: int = 200) -> BeautifulSoup:
        response = self.client.get(url)
        assert response.status_code == status, response.text[:2000]
        return BeautifulSoup(response.text, "html.parser")

    def csrf(self, url: str = "/") -> str:
        field = self.soup(url).select_one('input[name="csrf_token"]')
        assert field is not None
        return str(field["value"])

    def wait_run(self, run_id: int) -> None:
        assert self.runtime.run_manager.wait(run_id, timeout=30)


def serve(app: FastAPI) -> Iterator[Web]:
    """Run the app's lifespan and give a client calling it in-process."""
    with (
        anyio.from_thread.start_blocking_portal() as portal,
        portal.wrap_async_context_manager(app.router.lifespan_context(app)),
    ):
        transport = InProcessTransport(app)
        try:
            with httpx.Client(transport=transport, base_url=BASE_URL) as client:
                yield Web(app, client)
        finally:
            transport.close()


@pytest.fixture
def web(world: World) -> Iterator[Web]:
    yield from serve(world.app())


@pytest.fixture
def signed_in(web: Web) -> Web:
    """Signed in as Alice, who holds the Central365.Admin role."""
    response = web.sign_in("alice")
    assert response.status_code == 303, response.text
    return web


def signed_in_as(web: Web, code: str) -> Web:
    response = web.sign_in(code)
    assert response.status_code == 303, response.text
    return web


def use_app_only(web: Web, mailbox: str = MAILBOX) -> None:
    """Store app-only mode into `mailbox`, as an admin would on the Settings page."""
    from dataclasses import replace

    from central365.appdb import AuthChoice

    runtime = web.runtime
    stored = runtime.load_app_settings()
    runtime.app_settings.save(
        replace(stored, auth_mode=AuthChoice.APP_ONLY, target_mailbox=mailbox), by="test"
    )
    runtime.plans.forget()
