"""Browser tier: Debian's Chromium, driven by Playwright (sync API), against `DemoStack`.

One browser for the session, a fresh context (cookies, storage) per test.  `DemoStack` runs
the real thing on real ports: the TLS Graph sandbox, its plain-http sign-in pages, and the
homepage.  Tests that only read share a module's stack; tests that change the mailbox or the
settings start their own.  Full-page screenshots land in `artifacts/screenshots/` at the repo
root (git-ignored), and a failing test leaves one of each page it had open.
"""

from __future__ import annotations

import copy
import os
import re
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

from central365.demo.data import DemoData, build_demo_data
from central365.demo.run import DEMO_FOLDER, DEMO_MAILBOX, DEMO_USER, DemoOptions, DemoStack

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
REPO_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
DEMO_SIZE = 300

#: The tabs in page order: state value (the tab's id is `tab-<value>`) and label.
TABS = {
    "new": "New to Office 365",
    "update": "Requires update",
    "unchanged": "No updates",
    "non_actionable": "Non-actionable",
}


# --- what the demo data implies, from its documented composition --------------------------


@dataclass(frozen=True)
class Expected:
    """The homepage's counts for a demo Central of `size` rows against the seeded folder."""

    new: int
    update: int
    unchanged: int
    non_actionable: int
    excluded: int

    def counts(self) -> dict[str, int]:
        return {
            "new": self.new,
            "update": self.update,
            "unchanged": self.unchanged,
            "non_actionable": self.non_actionable,
        }


def expected_counts_in_an_empty_folder(size: int = DEMO_SIZE) -> Expected:
    """Against an empty folder: every active record that breaks no rule is new.

    Row 72 was non-actionable only because two folder contacts matched it, so 10 remain.
    """
    excluded, non_actionable = 20, 10
    return Expected(
        new=size - excluded - non_actionable,
        update=0,
        unchanged=0,
        non_actionable=non_actionable,
        excluded=excluded,
    )


def expected_counts(size: int = DEMO_SIZE) -> Expected:
    """Counted from how `build_demo_data` composes the rows, not by running the planner.

    Rows 0-19 get a status that is not active (excluded).  Rows 20-29 break one rule each
    (27 and 28 share an email, so both go), row 72 is matched by two folder contacts
    (duplicate): 11 non-actionable.  Rows 32-51 are in the folder exactly as Central would
    write them (no updates), rows 52-71 with one kind of difference each (requires update).
    Everything else is active, valid and absent from "Central Contacts": new (row 73 sits in
    the "Personal" folder only, which is never matched).
    """
    data = build_demo_data(size)
    assert len(data.rows) == size
    # Guard the composition these numbers rely on: 20 in sync, 20 differing, the duplicate
    # pair, the Outlook-only contact and the two only in Office 365 (anchored, their records
    # inactive or gone) in the folder; one contact in "Personal".
    assert len(data.folder_contacts) == 20 + 20 + 2 + 1 + 2
    assert len(data.other_folder_contacts) == 1
    assert all(r["status"].strip().lower() != "active" for r in data.rows[:20])
    assert all(r["status"].strip().lower() == "active" for r in data.rows[20:])
    excluded, non_actionable, unchanged, update = 20, 10 + 1, 20, 20
    return Expected(
        new=size - excluded - non_actionable - unchanged - update,
        update=update,
        unchanged=unchanged,
        non_actionable=non_actionable,
        excluded=excluded,
    )


@pytest.fixture(scope="session")
def demo_data() -> DemoData:
    return build_demo_data(DEMO_SIZE)


def full_name(row: dict[str, str]) -> str:
    return f"{row['first_name']} {row['last_name']}".strip()


# --- the browser ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium for one test module.

    Not session-wide: Playwright's sync API keeps an asyncio loop running in the main thread
    while it is open, and every later test that calls `asyncio.run` (the sandbox's throttle
    tests, for one) would fail with "cannot be called from a running event loop".
    """
    if not CHROMIUM.exists():
        pytest.fail(
            f"The browser tests need Chromium at {CHROMIUM} (Debian: apt-get install chromium). "
            "Playwright's own browser download is not used.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    setattr(item, f"rep_{report.when}", report)


@dataclass
class Pages:
    """Opens pages in fresh browser contexts; records uncaught page errors and dialogs."""

    browser: Browser
    contexts: list[BrowserContext]
    page_errors: list[str]
    dialogs: list[str]

    def new(self, **context_options: Any) -> Page:
        context = self.browser.new_context(**context_options)
        context.set_default_timeout(10_000)
        self.contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))

        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(f"{dialog.type}: {dialog.message}")
            dialog.dismiss()

        page.on("dialog", on_dialog)
        return page


def screenshot(page: Page, name: str) -> Path:
    """A full-page PNG under artifacts/screenshots/ (a test artefact for people to look at)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


# --- the demo stack ------------------------------------------------------------------------


@dataclass
class Demo:
    """A running `DemoStack` and what the tests ask of it."""

    stack: DemoStack

    @property
    def url(self) -> str:
        return self.stack.homepage_url

    @property
    def sign_in_url(self) -> str:
        pages = self.stack.sign_in_pages
        assert pages is not None
        return f"http://{self.stack.options.host}:{pages.port}"

    def folder(self, name: str) -> dict[str, Any]:
        (found,) = [
            f
            for f in self.stack.sandbox.store.list_folders(DEMO_MAILBOX)
            if f["displayName"] == name
        ]
        return found

    def folders(self) -> list[dict[str, Any]]:
        return copy.deepcopy(self.stack.sandbox.store.list_folders(DEMO_MAILBOX))

    def contacts(self, name: str = DEMO_FOLDER) -> list[dict[str, Any]]:
        store = self.stack.sandbox.store
        return copy.deepcopy(store.list_contacts(DEMO_MAILBOX, self.folder(name)["id"]))

    def snapshot(self) -> dict[str, Any]:
        """Every folder of the demo mailbox and every contact in it, keyed by id."""
        return {
            folder["id"]: {
                "folder": folder,
                "contacts": {c["id"]: c for c in self.contacts(folder["displayName"])},
            }
            for folder in self.folders()
        }

    def set_faults(self, **config: Any) -> None:
        """`PUT /_sandbox/faults` over the sandbox's TLS (trusting its local CA)."""
        verify = ssl.create_default_context(cafile=str(self.stack.sandbox.ca_path))
        with httpx.Client(verify=verify, timeout=10) as client:
            response = client.put(f"{self.stack.sandbox.admin_url}/faults", json=config)
        assert response.status_code == 200, response.text


def _start(data_dir: Path, size: int, history: bool = False) -> DemoStack:
    return DemoStack(
        DemoOptions(
            data_dir=data_dir, port=0, sandbox_port=0, size=size, wait=False, history=history
        )
    )


@pytest.fixture(scope="module")
def shared_demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """A stack for tests that only read (sign-ins add sessions, nothing else changes)."""
    with pytest.MonkeyPatch.context() as patch:
        for name in list(os.environ):
            if name.startswith("CENTRAL365_"):
                patch.delenv(name)
        stack = _start(tmp_path_factory.mktemp("demo"), DEMO_SIZE)
        stack.__enter__()
        try:
            yield Demo(stack)
        finally:
            stack.stop()


@pytest.fixture
def make_demo(tmp_path: Path) -> Iterator[Callable[..., Demo]]:
    """Starts a stack of its own for a test that changes things (stopped after the test)."""
    stacks: list[DemoStack] = []

    def make(size: int = DEMO_SIZE, history: bool = False) -> Demo:
        stack = _start(tmp_path / f"demo-{len(stacks)}", size, history)
        stacks.append(stack)
        stack.__enter__()
        return Demo(stack)

    yield make
    for stack in reversed(stacks):
        stack.stop()


@pytest.fixture
def pages(
    browser: Browser, make_demo: Callable[..., Demo], request: pytest.FixtureRequest
) -> Iterator[Pages]:
    """Fresh contexts for the test; closed before any stack of the test stops (`make_demo`
    is set up first), so no server waits on a browser's open connections when it stops."""
    opened = Pages(browser, [], [], [])
    yield opened
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name)
        for n, context in enumerate(opened.contexts):
            for m, page in enumerate(context.pages):
                page.screenshot(
                    path=str(SCREENSHOTS / f"FAILED-{safe}-{n}-{m}.png"), full_page=True
                )
    for context in opened.contexts:
        context.close()
    assert not opened.page_errors, f"JavaScript errors on the page: {opened.page_errors}"
    assert not opened.dialogs, f"a page opened a dialog: {opened.dialogs}"


@pytest.fixture
def page(pages: Pages) -> Page:
    return pages.new()


@pytest.fixture
def demo(make_demo: Callable[..., Demo]) -> Demo:
    return make_demo()


# --- steps every test takes ----------------------------------------------------------------


def sign_in(page: Page, demo: Demo) -> None:
    """Open the homepage, get sent to the sandbox's sign-in page, and sign in as Demo User."""
    page.goto(demo.url)
    expect(page).to_have_url(re.compile("^" + re.escape(demo.sign_in_url) + "/"))
    page.get_by_role("button", name=f"Sign in as {DEMO_USER}").click()
    page.wait_for_url(re.compile("^" + re.escape(demo.url) + "/"))
    expect(page.locator("[data-user]")).to_have_text(f"Signed in as {DEMO_USER}")


def number(text: str) -> int:
    return int(text.replace(",", "").strip())


def tab_counts(page: Page) -> dict[str, int]:
    return {state: number(page.locator(f"#tab-{state} .count").inner_text()) for state in TABS}


def plan_after_run(page: Page, url: str) -> dict[str, int]:
    """The homepage's tab counts on the first visit after a run has ended.

    No retry: the first visit after the run must already show the plan made after it (the
    homepage waits for the end-of-run plan rather than show the one the run made stale).
    """
    page.goto(url)
    return tab_counts(page)


def wait_for_run_end(page: Page, timeout_ms: int = 60_000) -> None:
    """On a run page: wait until the live progress says the run is over."""
    run = page.locator("#run")
    expect(run).not_to_have_attribute("data-status", "running", timeout=timeout_ms)
