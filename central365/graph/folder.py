"""`GraphFolder`: the `ContactsFolder` port over Microsoft Graph, for one folder of one mailbox.

Owns: listing the folder's contacts (`$select` + `$top=1000`, every page; given a
`FolderCache`, only what changed since the last plan: `graph.cached_read`), finding contacts
by email, and applying writes (creates, updates, deletes) in `$batch` rounds with per-record
outcomes.  Each round first looks
up the creates whose answer was lost (batched: up to 20 email look-ups per call), then sends the
rest; after every answer `graph.decide` says what each write does next, and `graph.breaker`
says whether the run goes on (breaker, deadline) and in which batch shape.  A contact is never
created twice: a create is re-sent only when its look-up proved it absent.

Must not: decide what to write (the planner did), read statuses or decide retries itself
(`graph.errors.classify`, `graph.decide`), build batch JSON by hand (`graph.batch`), sleep (the
client's fence does), or log contact bodies or emails.  `write()` never raises for a record:
every write ends as exactly one `WriteResult`, `skipped` with the reason when the run stopped.

Paths are folder-qualified (`{u}/contactFolders/{fid}/contacts/{id}`): the flat
`{u}/contacts/{id}` is documented for the default folder only (reference §2.2).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from central365.core.mapping import ANCHOR_EXPAND, GRAPH_SELECT, folder_contact_from_graph
from central365.core.model import ContactWrite, FolderContact, FolderInfo, WriteKind, WriteResult
from central365.core.ports import FolderCache, ResultCallback, RunLimits
from central365.graph.batch import (
    MAILBOX_CONCURRENCY,
    MAX_BATCH_REQUESTS,
    BatchRequest,
    BatchStrategy,
    build_batch,
    chunks,
    depends_on,
    parse_batch_response,
)
from central365.graph.breaker import BreakerPolicy
from central365.graph.cached_read import CachedRead
from central365.graph.client import GraphClient, build_query, graph_id, odata_string
from central365.graph.decide import (
    Action,
    Decision,
    decide,
    decide_batch,
    decide_look_up,
    longest_wait,
)
from central365.graph.errors import Answer, DeadlineReached, Verdict, classify
from central365.graph.rounds import LOST, Guard, Heard, Round, Run, Task

logger = logging.getLogger(__name__)

#: `$top` for listing: the largest page Graph is reported to accept (reference §2.3: 1..1000,
#: from the messages docs and mgd#4798); fewer round trips, each still under the 504 risk.
PAGE_SIZE = 1000

#: Members the mailbox did not count against its budget: refused before running.
_MEMBER_NOT_COUNTED = frozenset({Verdict.THROTTLED, Verdict.FAILED_DEPENDENCY})
#: Whole calls whose members it did not count: throttled, or never sent.
_CALL_NOT_COUNTED = frozenset({Verdict.THROTTLED, Verdict.UNREACHABLE})

_NO_EMAIL = (
    "The contact was sent but no answer came back, and without an email it cannot "
    "be looked up; check the folder before running the sync again."
)


class GraphFolder:
    """One contacts folder of one mailbox, through a `GraphClient`.

    Args:
        client: the mailbox's client (shares its fence, its deadline and its 4 request slots).
        info: the folder.
        strategy: how batches share the mailbox (default: 4 `dependsOn`-chained batches); a
            write turns to one unordered batch at a time when chains keep failing.
        batch_size: requests per batch, clamped to 1..20.
        breaker: when Graph counts as down for good (default `BreakerPolicy()`).
        cache: where the folder's contacts and deltaLink are kept between plans; None lists
            the whole folder every time.
        expand: a `$expand` the cached contacts must carry (default: the Central anchor; the delta
            round cannot, see `graph.cached_read`).
    """

    def __init__(
        self,
        client: GraphClient,
        info: FolderInfo,
        *,
        strategy: BatchStrategy = BatchStrategy.SEQUENTIAL_CHAINS,
        batch_size: int = MAX_BATCH_REQUESTS,
        breaker: BreakerPolicy | None = None,
        cache: FolderCache | None = None,
        expand: str | None = ANCHOR_EXPAND,
    ) -> None:
        self._client = client
        self._info = info
        self._strategy = strategy
        self._batch_size = max(1, min(MAX_BATCH_REQUESTS, batch_size))
        self._breaker = breaker or BreakerPolicy()
        self._cache = cache
        self._expand = expand
        self._path = f"{client.user_path}/contactFolders/{graph_id(info.id)}/contacts"

    @property
    def info(self) -> FolderInfo:
        return self._info

    def limit_run(self, limits: RunLimits | None) -> None:
        """Keep the run's deadline and report its waits (shared with the mailbox's client)."""
        self._client.limit_run(limits)

    # -- reads --------------------------------------------------------------------------------

    def contacts(self) -> Iterator[FolderContact]:
        """Every contact of this folder, each with its anchor (§2.5): from the cache and a delta
        round when there is one, else page after page of the whole folder."""
        if self._cache is not None:
            read = CachedRead(self._client, self._path, self._info.id, self._cache, self._expand)
            found = read.contacts()  # a dict of its own: each JSON object is let go once read
            for contact_id in list(found):
                yield folder_contact_from_graph(found.pop(contact_id))
            return
        url = self._client.url(
            self._path,
            {"$select": ",".join(GRAPH_SELECT), "$expand": ANCHOR_EXPAND, "$top": str(PAGE_SIZE)},
        )
        for item in self._client.pages(url, what="the folder's contact list"):
            yield folder_contact_from_graph(item)

    def find_by_email(self, email: str) -> list[FolderContact]:
        """The folder's contacts whose `emailAddresses` hold `email` (Graph compares the case)."""
        url = self._client.url(
            self._path,
            {
                "$filter": _email_filter(email),
                "$select": ",".join(GRAPH_SELECT),
                "$expand": ANCHOR_EXPAND,
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

        Writes go in rounds: lost creates are looked up, every other pending write is chunked
        into batches, and whatever must go again forms the next round (after the fence's
        pause).  The run stops — what is left ends `skipped` with the reason — at its deadline,
        on a wait longer than the time left, or when the breaker opens; a refused token fails
        what is left with its message.
        """
        run = Run(len(writes), on_result)
        pending = run.start(writes)
        guard = Guard(self._client, self._breaker, self._strategy)
        with ThreadPoolExecutor(MAILBOX_CONCURRENCY, thread_name_prefix="graph-write") as pool:
            while pending:
                stopped = guard.before()
                if stopped is None:
                    started = self._client.clock.monotonic()
                    done = self._round(run, pending, guard, pool)
                    pending = done.pending()
                    stopped = guard.after(done, started, run)
                if stopped is not None and pending:
                    run.end(pending, *stopped)
                    break
        return run.results()

    def _round(
        self, run: Run, pending: list[Task], guard: Guard, pool: ThreadPoolExecutor
    ) -> Round:
        """Look up the lost creates, then send the rest; every decision applied."""
        done = Round()
        to_send = [t for t in pending if not t.unknown]
        to_send += self._settle_lost(run, [t for t in pending if t.unknown], guard, done)
        if done.stop is not None or run.fatal is not None:
            done.resend.extend(to_send)  # not sent: the run ends after this round
        elif to_send:
            for heard in self._send_all(to_send, guard, pool):
                run.apply(heard, done)
        return done

    def _settle_lost(self, run: Run, lost: list[Task], guard: Guard, done: Round) -> list[Task]:
        """Look the lost creates up and apply what that settled; those proved absent."""
        if not lost:
            return []
        looked = self._look_up(lost, guard.stalled + 1)
        run.apply(looked, done)
        return looked.absent

    def _send_all(
        self, tasks: list[Task], guard: Guard, pool: ThreadPoolExecutor
    ) -> Iterator[Heard]:
        """Every batch of the round in the guard's shape; each call's decisions as it ends.

        Chains: up to 4 batches at once (each holds one mailbox slot).  Unordered: one at a
        time (Graph forwards its members 4 at once), so never more than 4 in the mailbox.
        """
        stop = threading.Event()
        chained, round_try = guard.shape.chained, guard.stalled + 1
        batches = [list(c) for c in chunks(tasks, self._batch_size)]
        if guard.shape.batches_in_flight == 1:
            for batch in batches:
                yield self._run_batch(batch, chained, round_try, stop)
            return
        futures = [pool.submit(self._run_batch, b, chained, round_try, stop) for b in batches]
        for future in as_completed(futures):
            yield future.result()

    def _run_batch(
        self, tasks: list[Task], chained: bool, round_try: int, stop: threading.Event
    ) -> Heard:
        """One batch call; never raises, so no write is lost to a bug in one batch."""
        if stop.is_set():
            return Heard.untried(tasks)
        try:
            heard = self._send_batch(tasks, chained, round_try)
        except DeadlineReached as exc:
            heard = Heard.untried(tasks, exc.message)
        except Exception as exc:  # a defect here must still end every write with a result
            logger.error("batch of %d writes failed unexpectedly", len(tasks), exc_info=True)
            reason = f"central365 hit an internal error while writing ({type(exc).__name__})."
            heard = Heard([(t, Decision(Action.GIVE_UP, reason)) for t in tasks])
        if heard.stopped():
            stop.set()
        return heard

    def _send_batch(self, tasks: list[Task], chained: bool, round_try: int) -> Heard:
        payload = build_batch([self._request(t) for t in tasks], chained=chained)
        client = self._client
        answer = client.attempt(
            "POST",
            client.url("/$batch"),
            json=payload,
            what="the batch of contact writes",
            units=len(tasks),
        )
        if answer.verdict is Verdict.SUCCESS:
            heard = self._settle(tasks, answer, depends_on(payload))
        else:
            heard = self._call_failed(tasks, answer, round_try)
        self._account(heard, len(tasks))
        self._hold(heard)
        return heard

    def _account(self, heard: Heard, units: int) -> None:
        """Tell the budget pacer what the mailbox did not count (throttled and 424 members, or
        a whole call throttled or never sent) and the Retry-After of every 429 heard."""
        if heard.call_failed is not None:
            refused = units if any(a.verdict in _CALL_NOT_COUNTED for a in heard.answers) else 0
        else:
            refused = sum(1 for a in heard.answers if a.verdict in _MEMBER_NOT_COUNTED)
        throttles = [a.retry_after for a in heard.answers if a.verdict is Verdict.THROTTLED]
        if refused or throttles:
            self._client.throttled(throttles, refused)

    def _settle(self, tasks: list[Task], answer: Answer, dependants: dict[str, str]) -> Heard:
        """Each member's inner answer → its decision."""
        replies = parse_batch_response(answer.body)
        timing = self._client.timing()
        heard = Heard()
        for task in tasks:
            reply = replies.get(task.request_id)
            inner = (
                LOST
                if reply is None
                else classify(reply.status, reply.body, reply.headers, what="the contact")
            )
            member = task.member(dependant=task.request_id in dependants)
            heard.decisions.append((task, decide(inner, member, timing)))
            heard.answers.append(inner)
            heard.inner.append(inner.verdict)
        return heard

    def _call_failed(self, tasks: Sequence[Task], answer: Answer, round_try: int) -> Heard:
        """The call failed as a whole: one decision per member, none counted against it."""
        timing = self._client.timing()
        decisions = [(t, decide_batch(answer, t.member(), timing, round_try)) for t in tasks]
        return Heard(decisions, [answer], call_failed=answer.error)

    def _hold(self, heard: Heard) -> None:
        """Pause the mailbox for the longest wait heard; note a wait past the deadline."""
        longest = longest_wait([d for _, d in heard.decisions])
        if longest is None:
            return
        try:
            self._client.wait(longest)
        except DeadlineReached as exc:
            heard.stop = exc.message

    # -- look-ups of creates whose answer was lost -------------------------------------------

    def _look_up(self, tasks: list[Task], round_try: int) -> Heard:
        """Look the lost creates up by email, up to 20 per call (one at a time: ≤ 4 in the
        mailbox); found → done, proved absent → `absent`, no proof → look up again later.

        A call that fails as a whole ends the look-ups of this round: the others wait for the
        next one (after the pause), rather than each waiting out its own timeout.
        """
        heard = Heard(look_ups=True)
        with_email = [t for t in tasks if t.write.email]
        heard.decisions.extend(
            (t, Decision(Action.GIVE_UP, _NO_EMAIL)) for t in tasks if not t.write.email
        )
        for group in chunks(with_email, MAX_BATCH_REQUESTS):
            if heard.stopped() or heard.call_failed is not None:
                heard.merge(Heard.untried(group))  # Graph is busy or not answering: next round
            else:
                heard.merge(self._look_up_group(list(group), round_try))
        return heard

    def _look_up_group(self, group: list[Task], round_try: int) -> Heard:
        try:
            answers = self._ask_look_ups(group)
        except DeadlineReached as exc:
            return Heard.untried(group, exc.message)
        if isinstance(answers, Answer):
            heard = self._call_failed(group, answers, round_try)
        else:
            heard = self._judge_look_ups(group, answers)
        self._account(heard, len(group))
        self._hold(heard)
        return heard

    def _ask_look_ups(self, group: list[Task]) -> dict[str, Answer] | Answer:
        """Each look-up's answer by request id, or the failed call's answer.

        One look-up is a plain GET (a batch of one costs the same); more go in one unordered
        `$batch` of GETs (reference §3: any requests, matched by id; §2.3: the filter form).
        """
        client = self._client
        what = "the look-up of contacts by email"
        if len(group) == 1:
            task = group[0]
            url = client.url(self._path, _look_up_query(task.write.email or ""))
            return {task.request_id: client.attempt("GET", url, what=what)}
        requests = [
            BatchRequest(t.request_id, "GET", f"{self._path}?{build_query(_look_up_query(t))}")
            for t in group
        ]
        payload = build_batch(requests, chained=False)
        answer = client.attempt(
            "POST", client.url("/$batch"), json=payload, what=what, units=len(requests)
        )
        if answer.verdict is not Verdict.SUCCESS:
            return answer
        return {
            rid: classify(reply.status, reply.body, reply.headers, what=what)
            for rid, reply in parse_batch_response(answer.body).items()
        }

    def _judge_look_ups(self, group: list[Task], answers: dict[str, Answer]) -> Heard:
        timing = self._client.timing()
        heard = Heard(look_ups=True)
        for task in group:
            answer = answers.get(task.request_id, LOST)
            decision = decide_look_up(answer, task.member(look_up=True), timing)
            heard.answers.append(answer)
            if decision.action is Action.RESEND:
                logger.info(
                    "write %s: lost create answer, contact not in the folder", task.write.key
                )
                task.unknown, task.look_ups = False, 0  # proof came: a fresh count next time
                heard.absent.append(task)
            else:
                heard.decisions.append((task, decision))
        return heard

    def _request(self, task: Task) -> BatchRequest:
        write = task.write
        if write.kind is WriteKind.CREATE:
            return BatchRequest(task.request_id, "POST", self._path, dict(write.body))
        target = f"{self._path}/{graph_id(write.contact_id or '')}"
        if write.kind is WriteKind.DELETE:
            return BatchRequest(task.request_id, "DELETE", target)
        return BatchRequest(task.request_id, "PATCH", target, dict(write.body))


def _email_filter(email: str) -> str:
    return f"emailAddresses/any(a:a/address eq {odata_string(email)})"


def _look_up_query(task_or_email: Task | str) -> dict[str, str]:
    email = task_or_email if isinstance(task_or_email, str) else task_or_email.write.email or ""
    return {"$filter": _email_filter(email), "$select": "id"}
