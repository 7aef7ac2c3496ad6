"""`GraphFolder`: the `ContactsFolder` port over Microsoft Graph, for one folder of one mailbox.

Owns: listing the folder's contacts (`$select` + `$top=1000`, every page), finding contacts by
email, and applying writes in `$batch` requests with per-record outcomes — retrying throttled
members, re-sending 424 dependants, and resolving creates whose answer was lost by looking the
contact up by email before sending it again, so a contact is never created twice.

Must not: decide what to write (the planner did), know statuses or OData codes (`graph.errors`),
build batch JSON by hand (`graph.batch`), sleep (the client's fence does), or log contact bodies
or emails.  `write()` never raises for a record: every write ends as exactly one `WriteResult`.

Paths are folder-qualified (`{u}/contactFolders/{fid}/contacts/{id}`): the flat
`{u}/contacts/{id}` is documented for the default folder only (reference §2.2).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from urllib.parse import quote

from central365.errors import AuthFailed, GraphError, OutcomeUnknown
from central365.graph.batch import (
    MAX_BATCH_REQUESTS,
    BatchReply,
    BatchRequest,
    BatchStrategy,
    build_batch,
    chunks,
    depends_on,
    parse_batch_response,
)
from central365.graph.client import GraphClient, odata_string
from central365.graph.errors import (
    Verdict,
    error_from_response,
    gave_up,
    read_error,
    read_json,
    verdict,
)
from central365.mapping import GRAPH_SELECT, folder_contact_from_graph
from central365.model import (
    ContactWrite,
    FolderContact,
    FolderInfo,
    Outcome,
    WriteKind,
    WriteResult,
)
from central365.ports import ResultCallback

logger = logging.getLogger(__name__)

#: `$top` for listing: the largest page Graph is reported to accept (reference §2.3: 1..1000,
#: from the messages docs and mgd#4798); fewer round trips, each still under the 504 risk.
PAGE_SIZE = 1000


def graph_id(value: str) -> str:
    """An id as a path segment: `/` and other reserved characters escaped, `=` kept."""
    return quote(value, safe="=")


@dataclass(slots=True)
class _Task:
    """One write on its way: how often it was tried, and whether a create's answer was lost."""

    index: int
    write: ContactWrite
    attempts: int = 0
    unknown: bool = False

    @property
    def request_id(self) -> str:
        return str(self.index)


@dataclass(slots=True)
class _Round:
    """What one batch call settled, what must go again, and an error that ends the run."""

    done: list[tuple[_Task, WriteResult]] = field(default_factory=list)
    #: Not tried (a 424 dependant, or a stopped run): go again first, no attempt counted.
    resend: list[_Task] = field(default_factory=list)
    #: Tried and refused for now (throttled, unavailable, answer lost): go again after a pause.
    again: list[_Task] = field(default_factory=list)
    fatal: GraphError | None = None
    #: The batch call itself failed (throttled, 5xx, no answer): its members were not judged.
    batch_error: GraphError | None = None

    def settled(self) -> set[int]:
        return {t.index for t, _ in self.done} | {t.index for t in self.resend + self.again}


def _by_index(task: _Task) -> int:
    return task.index


def _failed(task: _Task, reason: str) -> WriteResult:
    return WriteResult(
        key=task.write.key,
        outcome=Outcome.FAILED,
        office365_id=task.write.contact_id,
        error=reason,
    )


def _succeeded(task: _Task, contact_id: str | None) -> WriteResult:
    created = task.write.kind is WriteKind.CREATE
    return WriteResult(
        key=task.write.key,
        outcome=Outcome.CREATED if created else Outcome.UPDATED,
        office365_id=contact_id or task.write.contact_id,
    )


class GraphFolder:
    """One contacts folder of one mailbox, through a `GraphClient`.

    Args:
        client: the mailbox's client (shares its fence and its 4 request slots).
        info: the folder.
        strategy: how batches share the mailbox (default: 4 `dependsOn`-chained batches).
        batch_size: requests per batch, clamped to 1..20.
    """

    def __init__(
        self,
        client: GraphClient,
        info: FolderInfo,
        *,
        strategy: BatchStrategy = BatchStrategy.SEQUENTIAL_CHAINS,
        batch_size: int = MAX_BATCH_REQUESTS,
    ) -> None:
        self._client = client
        self._info = info
        self._strategy = strategy
        self._batch_size = max(1, min(MAX_BATCH_REQUESTS, batch_size))
        self._path = f"{client.user_path}/contactFolders/{graph_id(info.id)}/contacts"

    @property
    def info(self) -> FolderInfo:
        return self._info

    # -- reads --------------------------------------------------------------------------------

    def contacts(self) -> Iterator[FolderContact]:
        """Every contact of this folder, page after page."""
        url = self._client.url(
            self._path, {"$select": ",".join(GRAPH_SELECT), "$top": str(PAGE_SIZE)}
        )
        for item in self._client.pages(url, what="the folder's contact list"):
            yield folder_contact_from_graph(item)

    def find_by_email(self, email: str) -> list[FolderContact]:
        """The folder's contacts whose `emailAddresses` hold `email` (Graph compares the case)."""
        url = self._client.url(
            self._path,
            {
                "$filter": f"emailAddresses/any(a:a/address eq {odata_string(email)})",
                "$select": ",".join(GRAPH_SELECT),
            },
        )
        return [
            folder_contact_from_graph(item)
            for item in self._client.pages(url, what="the search by email")
        ]

    # -- writes -------------------------------------------------------------------------------

    def write(
        self, writes: Sequence[ContactWrite], on_result: ResultCallback | None = None
    ) -> list[WriteResult]:
        """Apply every write; one result per write in input order, `on_result` as each ends.

        Writes go in rounds: every pending write is chunked into batches, the batches run on
        up to `strategy.batches_in_flight` threads, and whatever must be retried forms the next
        round (after the fence's pause).  An `AuthFailed` stops sending; the writes not yet done
        then fail with its message.
        """
        results: list[WriteResult | None] = [None] * len(writes)

        def finish(task: _Task, result: WriteResult) -> None:
            results[task.index] = result
            if on_result is not None:
                on_result(result)

        pending: list[_Task] = []
        for index, write in enumerate(writes):
            task = _Task(index, write)
            if write.kind is WriteKind.UPDATE and not write.contact_id:
                finish(task, _failed(task, "The update has no Office 365 contact id to change."))
            else:
                pending.append(task)

        stop = threading.Event()
        fatal: GraphError | None = None
        stalled = 0  # rounds in a row that settled nothing because whole batch calls failed
        with ThreadPoolExecutor(
            max_workers=self._strategy.batches_in_flight, thread_name_prefix="graph-write"
        ) as pool:
            while pending:
                if fatal is not None:
                    for task in pending:
                        finish(task, _failed(task, fatal.message))
                    break
                futures = [
                    pool.submit(self._run_batch, list(chunk), stop, stalled + 1)
                    for chunk in chunks(pending, self._batch_size)
                ]
                resend: list[_Task] = []
                again: list[_Task] = []
                progressed = False
                batch_error: GraphError | None = None
                for future in as_completed(futures):
                    outcome = future.result()
                    for task, result in outcome.done:
                        finish(task, result)
                    progressed = progressed or bool(outcome.done)
                    batch_error = outcome.batch_error or batch_error
                    resend.extend(outcome.resend)
                    again.extend(outcome.again)
                    if outcome.fatal is not None and fatal is None:
                        fatal = outcome.fatal
                        stop.set()
                stalled = 0 if progressed or batch_error is None else stalled + 1
                if batch_error is not None and not self._client.policy.can_retry(stalled):
                    # Whole batch calls kept failing: give up on what is left, with the reason.
                    for task in sorted(resend + again, key=_by_index):
                        finish(task, _failed(task, gave_up(batch_error, stalled)))
                    break
                # Untried writes lead the next round and refused ones trail, so that in a
                # dependsOn chain a throttled write does not hold back (424) all the others.
                pending = sorted(resend, key=_by_index) + sorted(again, key=_by_index)
        return [r for r in results if r is not None]

    def _run_batch(self, tasks: list[_Task], stop: threading.Event, round_try: int) -> _Round:
        """One batch call; never raises, so no write is lost to a bug in one batch."""
        out = _Round()
        if stop.is_set():
            out.resend.extend(tasks)
            return out
        try:
            self._send_batch(tasks, out, round_try)
        except Exception as exc:  # a defect here must still end every write with a result
            logger.error("batch of %d writes failed unexpectedly", len(tasks), exc_info=True)
            settled = out.settled()
            reason = f"central365 hit an internal error while writing ({type(exc).__name__})."
            out.done.extend((t, _failed(t, reason)) for t in tasks if t.index not in settled)
        return out

    def _send_batch(self, tasks: list[_Task], out: _Round, round_try: int) -> None:
        to_send: list[_Task] = []
        for task in tasks:
            if task.unknown and self._resolve_unknown(task, out):
                continue  # settled by the lookup (found, given up, or stopped)
            to_send.append(task)
        if not to_send:
            return
        payload = build_batch([self._request(t) for t in to_send], chained=self._strategy.chained)
        dependants = depends_on(payload)
        client = self._client
        try:
            response = client.send(
                "POST", client.url("/$batch"), json=payload, what="the batch of contact writes"
            )
        except AuthFailed as exc:
            out.fatal = exc
            out.resend.extend(to_send)
            return
        except OutcomeUnknown as exc:
            self._retry_batch(to_send, exc, None, out, round_try, answer_lost=True)
            return
        except GraphError as exc:  # never reached Graph: nothing happened
            self._retry_batch(to_send, exc, None, out, round_try, answer_lost=False)
            return

        status, content = response.status_code, response.content
        code = None if response.is_success else read_error(status, content, response.headers).code
        kind = verdict(status, code)
        if kind is Verdict.SUCCESS:
            replies = parse_batch_response(read_json(content))
            self._settle(to_send, replies, dependants, out)
            return
        error = error_from_response(status, content, response.headers, what="the contact writes")
        retry_after = response.headers.get("retry-after")
        if kind is Verdict.THROTTLED:
            self._retry_batch(to_send, error, retry_after, out, round_try, answer_lost=False)
        elif kind in (Verdict.UNAVAILABLE, Verdict.SERVER_ERROR):
            # A 5xx on the batch gives no inner results: some members may have run.
            self._retry_batch(to_send, error, retry_after, out, round_try, answer_lost=True)
        elif kind is Verdict.AUTH:
            out.fatal = error
            out.resend.extend(to_send)
        else:
            out.done.extend((t, _failed(t, error.message)) for t in to_send)

    def _settle(
        self,
        tasks: list[_Task],
        replies: dict[str, BatchReply],
        dependants: dict[str, str],
        out: _Round,
    ) -> None:
        """Turn each member's inner answer into a result, a retry or a re-send."""
        retry: list[tuple[_Task, GraphError, str | None, bool]] = []
        for task in tasks:
            reply = replies.get(task.request_id)
            if reply is None:
                lost = OutcomeUnknown(
                    "The batch answer did not include this contact's write; "
                    "it may or may not have been applied."
                )
                retry.append((task, lost, None, True))
                continue
            code = None
            if not 200 <= reply.status < 300:
                code = read_error(reply.status, reply.body, reply.headers).code
            kind = verdict(reply.status, code)
            if kind is Verdict.SUCCESS:
                body = reply.body if isinstance(reply.body, dict) else {}
                contact_id = body.get("id")
                out.done.append((task, _succeeded(task, contact_id if contact_id else None)))
                continue
            error = error_from_response(reply.status, reply.body, reply.headers, what="the contact")
            if kind is Verdict.FAILED_DEPENDENCY and task.request_id in dependants:
                out.resend.append(task)  # not tried: its predecessor failed; not an attempt
            elif kind in (Verdict.THROTTLED, Verdict.FAILED_DEPENDENCY):
                retry.append((task, error, reply.headers.get("retry-after"), False))
            elif kind is Verdict.UNAVAILABLE:
                retry.append((task, error, reply.headers.get("retry-after"), True))
            else:
                out.done.append((task, _failed(task, error.message)))
        if retry:
            self._retry(
                [t for t, _, _, _ in retry],
                [e for _, e, _, _ in retry],
                [ra for _, _, ra, _ in retry],
                out,
                answer_lost=[lost for _, _, _, lost in retry],
            )

    def _retry(
        self,
        tasks: list[_Task],
        errors: GraphError | list[GraphError],
        retry_after: list[str | None],
        out: _Round,
        *,
        answer_lost: bool | list[bool],
    ) -> None:
        """Count an attempt for each task; queue it again or give up; pause the mailbox.

        The pause is the longest of the members' Retry-After values (or backoff without one).
        """
        errs = errors if isinstance(errors, list) else [errors] * len(tasks)
        lost = answer_lost if isinstance(answer_lost, list) else [answer_lost] * len(tasks)
        longest = 0.0
        for task, error, after, was_lost in zip(tasks, errs, retry_after, lost, strict=True):
            task.attempts += 1
            if was_lost and task.write.kind is WriteKind.CREATE:
                task.unknown = True
            if self._client.policy.can_retry(task.attempts):
                out.again.append(task)
                longest = max(longest, self._client.retry_delay(task.attempts, after))
            else:
                out.done.append((task, _failed(task, gave_up(error, task.attempts))))
        if longest > 0:
            first = errs[0]
            self._client.pause(longest, f"{first.status or 'no answer'} {first.code or ''}".strip())

    def _retry_batch(
        self,
        tasks: list[_Task],
        error: GraphError,
        retry_after: str | None,
        out: _Round,
        round_try: int,
        *,
        answer_lost: bool,
    ) -> None:
        """The batch call failed as a whole: queue every member again, counting no attempt.

        Its members were not judged one by one, so a chain's last write must not run out of
        attempts for faults of calls it never reached; `write()` gives up instead when whole
        rounds keep failing (the policy's `max_attempts` rounds in a row).
        """
        out.batch_error = error
        for task in tasks:
            if answer_lost and task.write.kind is WriteKind.CREATE:
                task.unknown = True
            out.again.append(task)
        delay = self._client.retry_delay(round_try, retry_after)
        if delay > 0:
            label = f"{error.status or 'no answer'} {error.code or ''}".strip()
            self._client.pause(delay, label)

    def _resolve_unknown(self, task: _Task, out: _Round) -> bool:
        """Look up a create whose answer was lost; True when that settled the task.

        Found by email → it was created (never create it twice).  Not found → send it again.
        """
        write = task.write
        if not write.email:
            reason = (
                "The contact was sent but no answer came back, and without an email it cannot "
                "be looked up; check the folder before running the sync again."
            )
            out.done.append((task, _failed(task, reason)))
            return True
        try:
            found = self.find_by_email(write.email)
        except AuthFailed as exc:
            out.fatal = exc
            out.resend.append(task)
            return True
        except GraphError as exc:
            self._retry([task], exc, [None], out, answer_lost=True)
            return True
        if found:
            logger.info("write %s: lost create answer, contact found in the folder", write.key)
            out.done.append((task, _succeeded(task, found[0].id)))
            return True
        task.unknown = False
        return False

    def _request(self, task: _Task) -> BatchRequest:
        write = task.write
        if write.kind is WriteKind.CREATE:
            return BatchRequest(task.request_id, "POST", self._path, dict(write.body))
        target = f"{self._path}/{graph_id(write.contact_id or '')}"
        return BatchRequest(task.request_id, "PATCH", target, dict(write.body))
