"""The records central365 moves around: Central rows, Office 365 contacts, plans and outcomes.

Everything here is a frozen value with no behaviour beyond trivial conversions, so the planning
core can be pure and the adapters (CSV, SQL, Graph, sandbox) agree on one vocabulary:

- `CentralContact`: one row of Central, every canonical column as text ("" when blank), untrimmed.
- `FolderContact`: one contact of the Office 365 folder, projected to the properties we sync.
- `PlanItem` / `Plan`: what the planner decided for each active Central record.
- `ContactWrite` / `WriteResult`: one Graph write the executor asks for, and how it ended.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType
from typing import Any, NamedTuple

ADDRESS_PARTS: tuple[str, ...] = (
    "address_line1",
    "address_line2",
    "address_line3",
    "town",
    "county",
    "country",
    "postcode",
)

#: The columns of a Central contacts export, in order.  Sources map their own names onto these.
CANONICAL_COLUMNS: tuple[str, ...] = (
    "id",
    "status",
    "title",
    "first_name",
    "last_name",
    "email",
    "mobile",
    "telephone",
    "website",
    *(f"home_{part}" for part in ADDRESS_PARTS),
    *(f"business_{part}" for part in ADDRESS_PARTS),
)

#: Where each address sits in `CANONICAL_COLUMNS` (in `CentralAddress`'s field order).
_HOME = slice(9, 9 + len(ADDRESS_PARTS))
_BUSINESS = slice(9 + len(ADDRESS_PARTS), 9 + 2 * len(ADDRESS_PARTS))

#: Columns a source must have.  The rest may be absent: they then read as blank, and the planner
#: treats the fields they feed as not provided (never compared, never cleared; see `provided`).
REQUIRED_COLUMNS: tuple[str, ...] = ("id", "status", "first_name", "last_name", "email")


class CentralAddress(NamedTuple):
    """An address as Central keeps it: three lines and four parts.

    A named tuple, not a dataclass, like `CentralContact`: see there why.
    """

    line1: str = ""
    line2: str = ""
    line3: str = ""
    town: str = ""
    county: str = ""
    country: str = ""
    postcode: str = ""


#: The blank address every record without one shares (most have no business address).
NO_ADDRESS = CentralAddress()


class CentralContact(NamedTuple):
    """One Central record.  `key` is Central's `id`; `line` is where the source found it.

    A named tuple rather than a frozen dataclass because one is built for every row of Central,
    a million on a large one: a frozen dataclass sets each field through `object.__setattr__`,
    which makes it about five times as dear to build.  It is just as immutable.
    """

    key: str
    status: str = ""
    title: str = ""
    first_name: str = ""
    last_name: str = ""
    email: str = ""
    mobile: str = ""
    telephone: str = ""
    website: str = ""
    home: CentralAddress = NO_ADDRESS
    business: CentralAddress = NO_ADDRESS
    line: int | None = None

    @classmethod
    def from_row(cls, row: Mapping[str, object], line: int | None = None) -> CentralContact:
        """Build a record from a mapping keyed by canonical column names.

        Missing columns and `None` read as blank; other values are turned into text as they are
        (a SQL integer id becomes "42"), never trimmed: trimming is a rule of the core.
        """

        # On the path of every Central row: one comprehension in column order, no call per value.
        get = row.get
        v = [
            "" if (value := get(name)) is None else value if type(value) is str else str(value)
            for name in CANONICAL_COLUMNS
        ]
        return cls.from_values(v, line)

    @classmethod
    def from_values(cls, values: Sequence[str], line: int | None = None) -> CentralContact:
        """Build a record from text values in the order of `CANONICAL_COLUMNS` (the fast path
        of a source that already holds a row as a list)."""
        v = values
        home = v[_HOME]
        business = v[_BUSINESS]
        return cls(
            v[0],
            v[1],
            v[2],
            v[3],
            v[4],
            v[5],
            v[6],
            v[7],
            v[8],
            CentralAddress._make(home) if any(home) else NO_ADDRESS,
            CentralAddress._make(business) if any(business) else NO_ADDRESS,
            line,
        )


@dataclass(frozen=True, slots=True)
class RowProblem:
    """A source row that could not be read as a record (wrong number of fields, bad bytes)."""

    line: int
    message: str


@dataclass(frozen=True, slots=True)
class EmailAddress:
    """One entry of a Graph contact's `emailAddresses`."""

    address: str
    name: str = ""


class PostalAddress(NamedTuple):
    """A Graph `physicalAddress`; blank parts are "".  A named tuple: one is made per record."""

    street: str = ""
    city: str = ""
    state: str = ""
    country_or_region: str = ""
    postal_code: str = ""


#: A blank address, shared by every contact and record without one.
NO_POSTAL_ADDRESS = PostalAddress()


@dataclass(frozen=True, slots=True)
class FolderContact:
    """A contact of the Office 365 folder, reduced to the properties central365 reads.

    Blank, `null` and absent Graph values are all "" here; collections keep Graph's order.
    """

    id: str
    display_name: str = ""
    title: str = ""
    given_name: str = ""
    surname: str = ""
    mobile_phone: str = ""
    business_home_page: str = ""
    email_addresses: tuple[EmailAddress, ...] = ()
    business_phones: tuple[str, ...] = ()
    home_address: PostalAddress = NO_POSTAL_ADDRESS
    business_address: PostalAddress = NO_POSTAL_ADDRESS
    change_key: str = ""
    #: The Central id central365 stored on the contact when it wrote it (the anchor, an
    #: extended property: `mapping.ANCHOR_PROPERTY_ID`); "" on people's own contacts.
    anchor: str = ""


@dataclass(frozen=True, slots=True)
class FolderInfo:
    """A contacts folder of the mailbox."""

    id: str
    display_name: str
    parent_folder_id: str = ""


class State(StrEnum):
    """What the plan says about one active Central record."""

    NEW = "new"
    UPDATE = "update"
    UNCHANGED = "unchanged"
    NON_ACTIONABLE = "non_actionable"


ACTIONABLE_STATES: frozenset[State] = frozenset({State.NEW, State.UPDATE})


class Reason(StrEnum):
    """Why a record is non-actionable.  The values are the stable codes of `plan --json`."""

    MISSING_ID = "missing_id"
    DECEASED = "deceased"
    MISSING_NAME = "missing_name"
    MISSING_EMAIL = "missing_email"
    INVALID_EMAIL = "invalid_email"
    DUPLICATE_EMAIL = "duplicate_email"
    DUPLICATE_ID = "duplicate_id"
    ANCHOR_CONFLICT = "anchor_conflict"
    #: central365 wrote the record's contact and a person deleted it in Outlook, and the
    #: setting `deleted_contacts` is `respect_deletes` (`core.policy.DeletedContacts`).
    DELETED_IN_OFFICE365 = "deleted_in_office365"


#: The same reasons in words, for tables and pages.
STATE_LABELS: Mapping[State, str] = {
    State.NEW: "New to Office 365",
    State.UPDATE: "Requires update",
    State.UNCHANGED: "No updates",
    State.NON_ACTIONABLE: "Non-actionable",
}
"""What every front end calls each state (the homepage's tabs, the terminal's table)."""

REASON_TEXT: Mapping[Reason, str] = {
    Reason.MISSING_ID: "the Central id is missing",
    Reason.DECEASED: "marked as deceased in the first or last name",
    Reason.MISSING_NAME: "first name or last name is missing",
    Reason.MISSING_EMAIL: "email address is missing",
    Reason.INVALID_EMAIL: "email address is not valid",
    Reason.DUPLICATE_EMAIL: "email address is shared by several records or Office 365 contacts",
    Reason.DUPLICATE_ID: "the Central id is shared by several active records",
    Reason.ANCHOR_CONFLICT: (
        "the Office 365 contact with this email belongs to another Central record (or several "
        "contacts carry this record's Central id)"
    ),
    Reason.DELETED_IN_OFFICE365: (
        "its Office 365 contact was deleted in Outlook, and deleted contacts are respected"
    ),
}


class Match(StrEnum):
    """How a record found its folder contact: by the Central id stored on it, or by email."""

    ANCHOR = "anchor"
    EMAIL = "email"


class FieldChange(NamedTuple):
    """One synced Graph property whose value would change (`field` as in "homeAddress.street").

    `baseline` is what central365 last wrote there, set only when Outlook changed the field
    since (the item's `edited_in_office365`); None otherwise, or when it wrote a blank.
    A named tuple for the same reason as `CentralContact`: a new contact's plan lists one per
    property, ten million on a large Central.
    """

    field: str
    before: str | None
    after: str | None
    baseline: str | None = None


#: The body of an entry that sends nothing, shared (read-only) by every such entry.
NO_BODY: Mapping[str, Any] = MappingProxyType({})
#: No kept baseline, likewise shared.
NO_BASELINE: Mapping[str, str] = MappingProxyType({})


class PlanItem(NamedTuple):
    """The planner's decision for one active Central record.

    `body` is the Graph JSON to send (the whole contact for NEW, the changed properties plus
    `displayName` for UPDATE) and is empty for the other states.  A named tuple for the same
    reason as `CentralContact`: one is made per active record, and a frozen dataclass with this
    many fields cost about ten times as much to build (half the planner's time at a million).
    """

    key: str
    state: State
    name: str
    email: str
    office365_id: str | None = None
    reasons: tuple[Reason, ...] = ()
    #: A sequence of changes; a new contact's is a view over its record
    #: (`mapping.NewContactChanges`), compared equal to the tuple it stands for.
    changes: Sequence[FieldChange] = ()
    body: Mapping[str, Any] = NO_BODY
    line: int | None = None
    #: How `office365_id` was found; None when no single contact matched.
    match: Match | None = None
    #: The synced fields Outlook changed since central365 last wrote them, where Central asks
    #: for something else (`core.policy`); empty when the journal holds no baseline.
    edited_in_office365: tuple[str, ...] = ()
    #: The baseline of the edited fields a policy kept: central365 did not write them, so the
    #: journal's next entry keeps this as their baseline (the edit stays an edit).
    kept_baseline: Mapping[str, str] = NO_BASELINE
    #: The contact central365 wrote for this record was deleted in Outlook since (the journal
    #: has it, the folder no longer does): a `new` item recreates it, a non-actionable one
    #: (`deleted_in_office365`) respects the delete.
    deleted_in_office365: bool = False
    #: The run that last wrote the deleted contact (None: not known).
    deleted_since_run: int | None = None


class OrphanWhy(StrEnum):
    """Why a folder contact carrying a Central anchor has no record to sync it from."""

    #: No Central row has the contact's Central id.
    RECORD_GONE = "record_gone"
    #: Central's row is there but not active.
    RECORD_INACTIVE = "record_inactive"
    #: Central's active row is non-actionable (`Orphan.reason` says why).
    NON_ACTIONABLE = "non_actionable"


ORPHAN_TEXT: Mapping[OrphanWhy, str] = {
    OrphanWhy.RECORD_GONE: "no Central record has this Central id any more",
    OrphanWhy.RECORD_INACTIVE: "the Central record is no longer active",
    OrphanWhy.NON_ACTIONABLE: "the Central record is non-actionable",
}
"""What every front end says for each `OrphanWhy`."""


@dataclass(frozen=True, slots=True)
class Orphan:
    """A folder contact carrying a Central anchor whose record is gone, inactive or
    non-actionable: reported, never deleted by a run (an admin may delete it on purpose).

    `key` is the Central id the contact carries; `name` and `email` are the contact's own
    (display name, first address); `reason` is the record's first reason when `why` is
    `non_actionable`.
    """

    office365_id: str
    key: str
    name: str
    email: str
    why: OrphanWhy
    reason: Reason | None = None

    @property
    def why_code(self) -> str:
        """The stable code of `plan --json`: `record_gone`, `record_inactive` or
        `non_actionable: <reason>`."""
        if self.why is OrphanWhy.NON_ACTIONABLE and self.reason is not None:
            return f"{self.why.value}: {self.reason.value}"
        return self.why.value

    @property
    def why_text(self) -> str:
        """`why` in words, for tables and pages."""
        if self.why is OrphanWhy.NON_ACTIONABLE and self.reason is not None:
            return f"{ORPHAN_TEXT[self.why]}: {REASON_TEXT[self.reason]}"
        return ORPHAN_TEXT[self.why]


class GuardCode(StrEnum):
    """A check against a mass change that tripped.  The values are the stable codes of `plan --json`."""

    MASS_CLEAR = "mass_clear"
    MASS_UPDATE = "mass_update"
    SOURCE_SHRUNK = "source_shrunk"
    #: Deleting the selected orphans would delete more than the allowed share of the folder.
    MASS_DELETE = "mass_delete"


@dataclass(frozen=True, slots=True)
class Guard:
    """A tripped guard (`core.guards`): its code, and one sentence saying what and how much."""

    code: GuardCode
    message: str


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything the planner decided, in Central's order.

    `missing_columns` are the optional canonical columns the source did not have (their fields
    were not synced); `folder_size` is how many contacts the folder held; `guards` are the checks
    against a mass change that tripped (set by the service, which knows the thresholds).
    `orphans` are the folder's contacts carrying a Central anchor whose record is gone,
    inactive or non-actionable (in folder order); `unanchored_count` is how many contacts
    carry no anchor and match no record (people's own: never touched, only counted).
    """

    items: tuple[PlanItem, ...]
    excluded: int = 0
    problems: tuple[RowProblem, ...] = ()
    missing_columns: tuple[str, ...] = ()
    folder_size: int = 0
    guards: tuple[Guard, ...] = ()
    orphans: tuple[Orphan, ...] = ()
    unanchored_count: int = 0

    def count(self, state: State) -> int:
        return sum(1 for item in self.items if item.state is state)

    def counts(self) -> dict[State, int]:
        totals = dict.fromkeys(State, 0)
        for item in self.items:
            totals[item.state] += 1
        return totals


class WriteKind(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    #: Remove `contact_id` from the folder (its body is empty); a contact already gone counts
    #: as deleted, with a note.
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class ContactWrite:
    """One write to the folder: create `body`, PATCH `body` onto `contact_id`, or delete it.

    `email` is the Central email, used to look for a contact whose create was sent but whose
    answer was lost, so that it is never created twice.
    """

    key: str
    kind: WriteKind
    body: Mapping[str, Any]
    email: str
    contact_id: str | None = None


#: The note on a delete whose contact was no longer in the folder (it counts as deleted).
ALREADY_GONE = "It was already gone from the folder."


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    DELETED = "deleted"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """How one record's write ended; `error` is a sentence for a person when it failed."""

    key: str
    outcome: Outcome
    office365_id: str | None = None
    error: str | None = None
    #: The contact as Office 365 answered the write (its values and changeKey after it), when
    #: the answer carried it: what the journal keeps as the baseline.  Not part of equality:
    #: two results are the same outcome whatever detail the answer carried.
    contact: FolderContact | None = field(default=None, compare=False, repr=False)
    #: A remark on a write that happened, for a person ("It was already gone from the folder.").
    note: str | None = field(default=None, compare=False)
