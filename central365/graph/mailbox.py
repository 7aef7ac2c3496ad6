"""`GraphMailbox`: the `Mailbox` port over Microsoft Graph, and `connect()` which builds one.

Owns: listing contact folders (child folders included, every page), finding a folder by display
name (two with one name is a `Conflict` naming both ids), creating a folder (retried, and looked
up by name after an answer that may hide a created one), handing out
`GraphFolder`s, and — in `connect()` only — the `httpx.Client` that carries auth, timeout and
TLS settings, closed by `close()` / the context manager.

Must not: hold contacts logic (`graph.folder`), know statuses (`graph.errors`), or read
settings/environment itself: the CLI or web factory passes plain values in.

`GET {u}/contactFolders` lists the folders under the default Contacts folder, not that folder
itself (reference §2.1 known issue); `$filter=displayName eq '...'` searches one level only.
"""

from __future__ import annotations

import functools
import ssl
from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx

from central365.core.errors import Conflict, GraphError
from central365.core.folder_choice import only_folder
from central365.core.mapping import ANCHOR_EXPAND
from central365.core.model import FolderInfo
from central365.core.ports import FolderCache, RunLimits
from central365.graph.batch import BatchStrategy
from central365.graph.client import GraphClient, graph_id, odata_string
from central365.graph.decide import Action, Member, decide
from central365.graph.errors import Answer, Verdict
from central365.graph.folder import GraphFolder
from central365.graph.throttle import Clock, RetryPolicy

#: Graph v1.0 in the global cloud (national clouds and the sandbox pass their own).
DEFAULT_BASE_URL = "https://graph.microsoft.com/v1.0"
#: Seconds for connect/read/write; a 1000-item page of selected fields answers well within it.
DEFAULT_TIMEOUT = 60.0
#: Answers after which a POSTed folder may exist although no success came back.
_MAYBE_CREATED = frozenset({Verdict.UNAVAILABLE, Verdict.SERVER_ERROR, Verdict.NO_ANSWER})
#: Folder nesting we follow at most (guards against a cycle in a broken or fake mailbox).
MAX_FOLDER_DEPTH = 16


def _created_folder(data: Any) -> FolderInfo:
    if not isinstance(data, Mapping) or not data.get("id"):
        raise GraphError(
            "Office 365 created the contacts folder but did not return its id; "
            "run again to find it by name."
        )
    return _folder_info(data)


def _may_have_created(answer: Answer) -> bool:
    """True after an answer that does not prove the folder absent (it may exist now)."""
    return answer.verdict in _MAYBE_CREATED or isinstance(answer.error, Conflict)


def _folder_info(data: Mapping[str, Any]) -> FolderInfo:
    def text(name: str) -> str:
        value = data.get(name)
        return value if isinstance(value, str) else ""

    return FolderInfo(
        id=text("id"), display_name=text("displayName"), parent_folder_id=text("parentFolderId")
    )


class GraphMailbox:
    """One mailbox's contact folders.

    Args:
        client: the mailbox's `GraphClient`.
        strategy: batch strategy handed to every `GraphFolder`.
        owned_http: an `httpx.Client` to close with the mailbox (set by `connect()`).
        cache: this mailbox's folder cache, handed to every `GraphFolder` (delta reads).
        expand: the `$expand` the cached contacts carry (default: the Central anchor), or None.
    """

    def __init__(
        self,
        client: GraphClient,
        *,
        strategy: BatchStrategy = BatchStrategy.SEQUENTIAL_CHAINS,
        owned_http: httpx.Client | None = None,
        cache: FolderCache | None = None,
        expand: str | None = ANCHOR_EXPAND,
    ) -> None:
        self._client = client
        self._strategy = strategy
        self._owned_http = owned_http
        self._cache = cache
        self._expand = expand

    @property
    def name(self) -> str:
        return self._client.mailbox

    @property
    def client(self) -> GraphClient:
        return self._client

    def folders(self) -> list[FolderInfo]:
        """Every contacts folder under the default one, child folders depth-first."""
        found: list[FolderInfo] = []
        base = f"{self._client.user_path}/contactFolders"
        self._collect(self._client.url(base), found, depth=0)
        return found

    def _collect(self, url: str, found: list[FolderInfo], depth: int) -> None:
        for item in self._client.pages(url, what="the folder list"):
            info = _folder_info(item)
            found.append(info)
            if depth < MAX_FOLDER_DEPTH and info.id:
                child = f"{self._client.user_path}/contactFolders/{graph_id(info.id)}/childFolders"
                self._collect(self._client.url(child), found, depth + 1)

    def find_folder(self, display_name: str) -> FolderInfo | None:
        """The top-level folder named `display_name`; None if absent; `Conflict` if two are."""
        url = self._client.url(
            f"{self._client.user_path}/contactFolders",
            {"$filter": f"displayName eq {odata_string(display_name)}"},
        )
        matches = [_folder_info(i) for i in self._client.pages(url, what="the folder search")]
        return only_folder(display_name, matches)

    def create_folder(self, display_name: str) -> FolderInfo:
        """Create a top-level contacts folder (201) and return it.

        Transient answers (429, 503, 504, no answer, no connection) are tried again up to the
        policy's attempts.  After any answer that may hide a created folder (503, 504, another
        5xx, no answer, 409) the folder is first looked up by name, so a folder created although
        its answer was lost is found, never created twice.
        """
        client = self._client
        url = client.url(f"{client.user_path}/contactFolders")
        member = Member(create=True)
        while True:
            answer = client.attempt(
                "POST", url, json={"displayName": display_name}, what="the new contacts folder"
            )
            if answer.verdict is Verdict.SUCCESS:
                return _created_folder(answer.body)
            decision = decide(answer, member, client.timing())
            found = self.find_folder(display_name) if _may_have_created(answer) else None
            if found is not None:
                return found
            if decision.action not in (Action.WAIT, Action.LOOK_UP) or answer.error is None:
                raise answer.error or GraphError("Office 365 did not create the contacts folder.")
            client.wait(decision)
            member = Member(create=True, attempts=member.attempts + 1)

    def limit_run(self, limits: RunLimits | None) -> None:
        """Keep the run's deadline and report its waits (for every call of this mailbox)."""
        self._client.limit_run(limits)

    def folder(self, info: FolderInfo) -> GraphFolder:
        return GraphFolder(
            self._client, info, strategy=self._strategy, cache=self._cache, expand=self._expand
        )

    def close(self) -> None:
        """Close the HTTP client if this mailbox owns it (`connect()` made it)."""
        if self._owned_http is not None:
            self._owned_http.close()

    def __enter__(self) -> GraphMailbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


@functools.cache
def trusted_roots(verify: bool | str) -> ssl.SSLContext:
    """The TLS context of `verify` (True: httpx's default roots; a path: that CA bundle),
    made once per process: loading the roots cost more CPU than the rest of a mailbox job's
    set-up, and every mailbox of a target opens its own client.  The context is only read
    once made, so threads may share it."""
    if isinstance(verify, str):
        return ssl.create_default_context(cafile=verify)
    return httpx.create_ssl_context()


def connect(
    base_url: str,
    mailbox: str,
    auth: httpx.Auth,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    verify: bool | str = True,
    strategy: BatchStrategy = BatchStrategy.SEQUENTIAL_CHAINS,
    policy: RetryPolicy | None = None,
    clock: Clock | None = None,
    transport: httpx.BaseTransport | None = None,
    cache: FolderCache | None = None,
) -> GraphMailbox:
    """A `GraphMailbox` over its own `httpx.Client`; close it (or use `with`) when done.

    Args:
        base_url: Graph's version root (`DEFAULT_BASE_URL`) or the sandbox's.
        mailbox: `me`, a user id or a UPN.
        auth: one of `graph.auth`'s classes.
        timeout: seconds for each network phase.
        verify: True, False (sandbox only), or a CA bundle path.
        strategy, policy, clock: passed to the folder and client (see their docs).
        transport: an httpx transport (tests, proxies); default the network.
        cache: the mailbox's folder cache (delta reads); None lists whole folders.
    """
    # A CA bundle path becomes an SSLContext: httpx 0.28 deprecates `verify=<path>`.
    tls: bool | ssl.SSLContext = trusted_roots(verify) if verify is not False else False
    http = httpx.Client(
        auth=auth,
        timeout=httpx.Timeout(timeout),
        verify=tls,
        transport=transport,
        headers={"Accept": "application/json"},
    )
    client = GraphClient(http, base_url, mailbox, policy=policy, clock=clock)
    return GraphMailbox(client, strategy=strategy, owned_http=http, cache=cache)
