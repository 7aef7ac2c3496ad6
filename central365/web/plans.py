"""The last plan of each target, kept in memory, and the pages cut from it.

Planning reads all of Central and the whole folder, so the homepage plans on the first visit and
on "Plan again" only; tabs, search and pages are answered from the cached `PlanReport`.  Each
entry is indexed once when stored (items grouped by state, one case-folded "name email" text per
item), so a page of a 100,000-record plan is a slice, and a search is one pass of `in`.

A plan of a large Central takes seconds, so the homepage makes it off the request thread
(`PlanCache.start`, one `PlanJob` per key at a time) and waits for it a moment only: a plan
not made by then is shown as its progress (records read, records decided), which the page
polls, so the app stays responsive while a million records are planned.

Owns: the cache (one entry per `plan_key`: the target's mailbox + folder, and who may share
the plan — one person for a delegated plan, made with their token; everyone allowed to use the
app's permission for an app-only plan), one lock per key so two first visits plan once, and the
plans being made in the background.
Must not: plan by itself or know about HTTP.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace

from central365.core.model import Orphan, PlanItem, State
from central365.engine.progress import PlanProgress
from central365.engine.service import PlanReport

PER_PAGE = 50
MAX_PER_PAGE = 500


def plan_key(target_key: str, scope: str) -> str:
    """The cache key of a target's plan for callers of `scope` (`Access.plan_scope`).

    A plan is served only to a caller with the same scope, so a person never sees a plan made
    with someone else's token, and nobody without the app-only permission sees the app's.
    """
    return f"{target_key}\n{scope}"


@dataclass(frozen=True, slots=True)
class CachedPlan:
    """A plan report with its items grouped by state and their search texts."""

    report: PlanReport
    by_state: Mapping[State, tuple[PlanItem, ...]]
    search_texts: Mapping[State, tuple[str, ...]]

    @classmethod
    def of(cls, report: PlanReport) -> CachedPlan:
        grouped: dict[State, list[PlanItem]] = {state: [] for state in State}
        for item in report.plan.items:
            grouped[item.state].append(item)
        return cls(
            report=report,
            by_state={state: tuple(items) for state, items in grouped.items()},
            search_texts={
                state: tuple(f"{i.name}\n{i.email}".casefold() for i in items)
                for state, items in grouped.items()
            },
        )

    def count(self, state: State) -> int:
        return len(self.by_state[state])


class _Paged:
    """Where one page of search results sits among them (for "Showing 51 to 100 of 240")."""

    __slots__ = ()
    page: int
    per_page: int
    matching: int
    items: tuple[object, ...]

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.matching / self.per_page))

    @property
    def first(self) -> int:
        """1-based position of the page's first row (0 when the page is empty)."""
        return (self.page - 1) * self.per_page + 1 if self.items else 0

    @property
    def last(self) -> int:
        return (self.page - 1) * self.per_page + len(self.items)


@dataclass(frozen=True, slots=True)
class PlanPage(_Paged):
    """One page of one state's records, after the search."""

    state: State
    query: str
    page: int
    per_page: int
    matching: int
    items: tuple[PlanItem, ...]


def page_of(
    cached: CachedPlan, state: State, query: str = "", page: int = 1, per_page: int = PER_PAGE
) -> PlanPage:
    """The records of `state` whose name or email contains `query` (any case), page `page`.

    A page past the end shows the last page, so a shrinking plan never leaves an empty screen.
    """
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    items = cached.by_state[state]
    needle = query.strip().casefold()
    if needle:
        texts = cached.search_texts[state]
        items = tuple(item for item, text in zip(items, texts, strict=True) if needle in text)
    pages = max(1, math.ceil(len(items) / per_page))
    page = min(max(page, 1), pages)
    start = (page - 1) * per_page
    return PlanPage(
        state, query.strip(), page, per_page, len(items), items[start : start + per_page]
    )


#: What makes a plan, told how far it has got as it goes.
PlanMaker = Callable[[PlanProgress], PlanReport]


class PlanJob:
    """A plan being made in the background: its progress, and how it ended."""

    def __init__(self, again: bool) -> None:
        self.again = again
        self.progress = PlanProgress()
        self.done = threading.Event()
        #: What stopped it (told to the next visit, then forgotten); None when it succeeded.
        self.error: BaseException | None = None


class PlanCache:
    """The last plan per target key, with a lock per key so a plan is made once at a time."""

    def __init__(self) -> None:
        self._entries: dict[str, CachedPlan] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        #: Targets a run has written to since their plan was made.
        self._stale: set[str] = set()
        #: Plans being made in the background (or ended, until a visit hears how), by key.
        self._jobs: dict[str, PlanJob] = {}

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def get(self, key: str) -> CachedPlan | None:
        return self._entries.get(key)

    def put(self, key: str, report: PlanReport) -> CachedPlan:
        found = self._entries.get(key)
        if found is not None and found.report.plan.items is report.plan.items:
            # The service handed back the same plan (nothing changed): keep its index.
            cached = replace(found, report=report)
        else:
            cached = CachedPlan.of(report)
        self._entries[key] = cached
        self._stale.discard(key)
        return cached

    def mark_stale(self, key: str) -> None:
        """A run is writing to this target: once it has ended, its plan must be made again."""
        self._stale.add(key)

    def get_or_make(
        self, key: str, make: Callable[[], PlanReport], *, run_going: bool = False
    ) -> CachedPlan:
        """The cached plan, or a new one made now (first visit, or a run has ended since).

        While a run is going the cached plan is shown as it is (beside the run's progress);
        once it has ended, the next visit waits for the plan made after it (the end-of-run
        replan holds the same lock) rather than showing what the run has changed.
        """
        found = self._entries.get(key)
        if found is not None and (run_going or key not in self._stale):
            return found
        with self._lock(key):
            found = self._entries.get(key)  # another request may have planned meanwhile
            if found is not None and key not in self._stale:
                return found
            return self.put(key, make())

    def refresh(self, key: str, make: Callable[[], PlanReport]) -> CachedPlan:
        """Plan again ("Plan again", or after a run) and keep the result."""
        with self._lock(key):
            return self.put(key, make())

    def job(self, key: str) -> PlanJob | None:
        """The key's plan being made in the background (or ended, until a visit heard how)."""
        with self._guard:
            return self._jobs.get(key)

    def _fresh(self, key: str, run_going: bool) -> CachedPlan | None:
        found = self._entries.get(key)
        return found if found is not None and (run_going or key not in self._stale) else None

    def start(self, key: str, make: PlanMaker, *, again: bool = False) -> PlanJob:
        """Make the key's plan in the background (`again`: even when a fresh one is kept); the
        job already going for the key when there is one."""
        with self._guard:
            job = self._jobs.get(key)
            if job is not None and not job.done.is_set():
                return job
            job = self._jobs[key] = PlanJob(again)
        worker = threading.Thread(
            target=self._make, args=(key, make, job), name="central365-plan", daemon=True
        )
        worker.start()
        return job

    def _make(self, key: str, make: PlanMaker, job: PlanJob) -> None:
        try:
            with self._lock(key):
                # Made meanwhile (the end-of-run replan holds the same lock): not made twice.
                if job.again or self._fresh(key, run_going=False) is None:
                    self.put(key, make(job.progress))
        except BaseException as exc:  # handed to the next visit, which shows it
            job.error = exc
        finally:
            job.done.set()

    def wait_for(
        self,
        key: str,
        make: PlanMaker,
        wait: float,
        *,
        again: bool = False,
        run_going: bool = False,
    ) -> CachedPlan | PlanJob:
        """The key's plan when it is kept (as `get_or_make` keeps it) or made within `wait`
        seconds; otherwise the job making it, to show its progress.  `again`: plan anew.

        A job that failed raises its error to the first caller after it ended, once.
        """
        with self._guard:
            job = self._jobs.get(key)
        if job is None and not again:
            found = self._fresh(key, run_going)
            if found is not None:
                return found
        if job is None or (again and job.done.is_set()):
            job = self.start(key, make, again=again)
        if not job.done.wait(wait):
            return job
        with self._guard:
            if self._jobs.get(key) is job:
                del self._jobs[key]
        if job.error is not None:
            raise job.error
        found = self._entries.get(key)
        if found is None:  # forgotten meanwhile (the settings changed): plan again
            return self.wait_for(key, make, wait, again=again, run_going=run_going)
        return found

    def forget(self, key: str | None = None) -> None:
        """Drop one target's plan, or every plan (the settings changed)."""
        if key is None:
            self._entries.clear()
        else:
            self._entries.pop(key, None)


@dataclass(frozen=True, slots=True)
class OrphanPage(_Paged):
    """One page of the plan's orphans (the "Only in Office 365" view), after the search."""

    query: str
    page: int
    per_page: int
    matching: int
    items: tuple[Orphan, ...]


def orphan_page_of(
    cached: CachedPlan, query: str = "", page: int = 1, per_page: int = PER_PAGE
) -> OrphanPage:
    """The orphans whose name, email or Central id contains `query` (any case), page `page`."""
    per_page = min(max(per_page, 1), MAX_PER_PAGE)
    items = cached.report.plan.orphans
    needle = query.strip().casefold()
    if needle:
        items = tuple(o for o in items if needle in f"{o.name}\n{o.email}\n{o.key}".casefold())
    pages = max(1, math.ceil(len(items) / per_page))
    page = min(max(page, 1), pages)
    start = (page - 1) * per_page
    return OrphanPage(query.strip(), page, per_page, len(items), items[start : start + per_page])
