"""The last plan of each folder, handed back when it was made from the same inputs.

`build_plan` is pure: the same Central records and the same folder contacts give the same plan.
"Plan again" with nothing changed on either side — the homepage's everyday refresh — would
otherwise spend seconds re-deciding 100,000 records (issue 11 §3: a refresh answers in
≤ 1.5 s).  The inputs are compared by a fingerprint, not kept: counts plus Python's hash of
every record, contact, journal baseline (with the run that wrote it) and field policy, and the
deleted-contacts policy (frozen dataclasses, so the hash covers every field).  That hash is
SipHash under a key chosen per process, so two different inputs share a fingerprint with a
chance of about 2^-64, and nobody outside the process can aim for one.

Owns: one entry per folder key, the few most recently planned (a long-running homepage serves
several people's folders).  Must not: read Central or Graph (the service does), or outlive the
process (a fingerprint means nothing to another one).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Collection, Mapping, Sequence

from central365.core.journal import JournalContact
from central365.core.model import CentralContact, FolderContact, Plan, RowProblem
from central365.core.plan import build_plan
from central365.core.policy import DeletedContacts, FieldPolicies

#: Folders whose last plan is kept; each costs one plan's memory (the homepage keeps it too).
DEFAULT_FOLDERS = 8

Fingerprint = tuple[int, int, int, int, int, int, int, str]


def fingerprint(
    records: Sequence[CentralContact | RowProblem],
    contacts: Sequence[FolderContact],
    provided_columns: Collection[str] | None = None,
    baselines: Mapping[str, JournalContact] | None = None,
    policies: FieldPolicies | None = None,
    deleted_contacts: DeletedContacts = DeletedContacts.RECREATE,
) -> Fingerprint:
    """The inputs of one plan, reduced to seven integers and the deleted-contacts word (see
    the module docstring)."""
    columns = hash(None if provided_columns is None else frozenset(provided_columns))
    written = hash(
        None
        if baselines is None
        else frozenset(
            (key, c.office365_id, c.change_key, c.run_id, frozenset(c.baseline.items()))
            for key, c in baselines.items()
        )
    )
    rules = hash(None if policies is None else frozenset(policies.items()))
    return (
        len(records),
        hash(tuple(records)),
        len(contacts),
        hash(tuple(contacts)),
        columns,
        written,
        rules,
        deleted_contacts.value,
    )


class PlanMemo:
    """Plans by folder key, each with the fingerprint of what it was made from; thread-safe."""

    def __init__(self, folders: int = DEFAULT_FOLDERS) -> None:
        self._folders = max(1, folders)
        self._entries: OrderedDict[str, tuple[Fingerprint, Plan]] = OrderedDict()
        self._lock = threading.Lock()
        #: Plans handed back without planning (tests and benchmarks read it).
        self.hits = 0

    def plan(
        self,
        key: str,
        records: Sequence[CentralContact | RowProblem],
        contacts: Sequence[FolderContact],
        *,
        provided_columns: Collection[str] | None = None,
        baselines: Mapping[str, JournalContact] | None = None,
        policies: FieldPolicies | None = None,
        deleted_contacts: DeletedContacts = DeletedContacts.RECREATE,
        on_decided: Callable[[int, int], None] | None = None,
    ) -> Plan:
        """`build_plan`'s answer for these inputs: the kept one when they are the same
        (`on_decided` is then told every record is decided)."""
        seen = fingerprint(
            records, contacts, provided_columns, baselines, policies, deleted_contacts
        )
        with self._lock:
            kept = self._entries.get(key)
            if kept is not None and kept[0] == seen:
                self._entries.move_to_end(key)
                self.hits += 1
                plan = kept[1]
                if on_decided is not None:
                    on_decided(len(plan.items), len(plan.items))
                return plan
        plan = build_plan(
            records,
            contacts,
            provided_columns=provided_columns,
            baselines=baselines,
            policies=policies,
            deleted_contacts=deleted_contacts,
            on_decided=on_decided,
        )
        with self._lock:
            self._entries[key] = (seen, plan)
            self._entries.move_to_end(key)
            while len(self._entries) > self._folders:
                self._entries.popitem(last=False)
        return plan
