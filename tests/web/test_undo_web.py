"""Undo on the History page: the button (or why not), the preview, the confirmed undo as a run
of its own, and the refusals a person sees before the click and gets when posting anyway."""

from __future__ import annotations

from central365.core.journal import JournalAction, JournalEntry
from tests.web.conftest import FOLDER, MAILBOX, Web, World, signed_in_as, use_app_only
from tests.web.test_runs import emails, start


def post_undo(web: Web, run_id: int) -> int:
    token = web.csrf(f"/history/{run_id}/undo")
    response = web.client.post(f"/history/{run_id}/undo", data={"csrf_token": token})
    assert response.status_code == 303, response.text
    undo_id = int(response.headers["location"].rsplit("/", 1)[1])
    web.wait_run(undo_id)
    return undo_id


def fake_run(web: Web, mailbox: str, *, written: bool = True) -> int:
    """A finished run into `mailbox` (as another front end would have left it)."""
    runs = web.runtime.runs
    run_id = runs.start(started_by="Someone", mailbox=mailbox, folder_name=FOLDER, selected=1).id
    if written:
        entry = JournalEntry("1", "AAMk-x", JournalAction.CREATED, {}, {}, "ck")
        web.runtime.journal.record(run_id, entry)
    from central365.appdb import RunStatus

    runs.finish(run_id, RunStatus.FINISHED)
    return run_id


def test_a_run_is_previewed_then_undone_as_a_run_of_its_own(signed_in: Web, world: World) -> None:
    run_id = start(signed_in, key=["1", "2"])  # Ada is created, Bob's mobile updated
    assert "ada@example.com" in emails(world)
    page = signed_in.soup(f"/history/{run_id}")
    link = page.select_one("a#undo-run")
    assert link is not None and link["href"] == f"/history/{run_id}/undo"
    assert page.select_one("[data-undo-refusal]") is None

    preview = signed_in.soup(f"/history/{run_id}/undo")
    rows = {r["data-key"]: r for r in preview.select("table.undo-items tbody tr")}
    assert {k: r["data-action"] for k, r in rows.items()} == {"1": "delete", "2": "restore"}
    assert "Mobile: 07700 900002 → 07700 900001" in rows["2"].get_text(" ", strip=True)
    counts = {c["data-count"]: c.get_text() for c in preview.select("[data-count]")}
    assert counts == {"restore": "1", "delete": "1", "recreate": "0", "skip": "0"}
    assert "ada@example.com" in emails(world)  # a preview writes nothing

    # Without the session's token the post is refused and nothing is undone.
    forged = signed_in.client.post(f"/history/{run_id}/undo", data={"csrf_token": "forged"})
    assert forged.status_code == 403 and "ada@example.com" in emails(world)

    undo_id = post_undo(signed_in, run_id)
    assert "ada@example.com" not in emails(world)
    bob = next(c for c in world.folder() if c["emailAddresses"][0]["address"] == "bob@example.com")
    assert bob["mobilePhone"] == "07700 900001"
    record = signed_in.runtime.runs.get(undo_id)
    assert record is not None and (record.undoes, record.deleted, record.updated) == (run_id, 1, 1)
    detail = signed_in.soup(f"/history/{undo_id}")
    assert detail.select_one("[data-undoes] a")["href"] == f"/history/{run_id}"
    assert detail.select_one('[data-count="deleted"]').get_text() == "1"
    # The homepage plans again after the undo: Ada is new again.
    home = signed_in.soup("/")
    assert home.select_one('[data-count="new"]').get_text() == "2"

    # Undone again: nothing left to do, said before the click.
    again = signed_in.soup(f"/history/{run_id}/undo")
    assert {r["data-action"] for r in again.select("table.undo-items tbody tr")} == {"skip"}
    assert again.select_one("button#undo-confirm")["disabled"] is not None
    assert again.select_one("[data-undo-nothing]") is not None
    assert again.select_one("#undo-form") is None


def test_refusals_are_explained_before_the_click_and_enforced_on_post(
    signed_in: Web, world: World
) -> None:
    other = fake_run(signed_in, "bob@contoso.test")  # an admin sees it, but it is not her folder
    page = signed_in.soup(f"/history/{other}")
    assert page.select_one("button#undo-run")["disabled"] is not None
    why = page.select_one("[data-undo-refusal]").get_text()
    assert f"Run {other} wrote into “{FOLDER}” of bob@contoso.test" in why
    assert f"of {MAILBOX}, the folder you synchronise" in why
    token = signed_in.csrf(f"/history/{other}")
    refused = signed_in.client.post(f"/history/{other}/undo", data={"csrf_token": token})
    assert refused.status_code == 400 and "the folder you synchronise" in refused.text
    assert signed_in.client.get(f"/history/{other}/undo").status_code == 400

    empty = start(signed_in, key=["nope"])  # skipped: it wrote no contact
    why = signed_in.soup(f"/history/{empty}").select_one("[data-undo-refusal]").get_text()
    assert why == f"Run {empty} wrote no contact: there is nothing to undo."
    assert signed_in.client.get("/history/999/undo").status_code == 404


def test_someone_who_may_not_write_sees_why(web: Web, world: World) -> None:
    reader = signed_in_as(web, "rita")  # consented to reading contacts only
    run_id = fake_run(reader, "rita@contoso.test")
    page = reader.soup(f"/history/{run_id}")
    assert page.select_one("button#undo-run")["disabled"] is not None
    assert "Contacts.ReadWrite" in page.select_one("[data-undo-refusal]").get_text()
    token = reader.csrf(f"/history/{run_id}")
    refused = reader.client.post(f"/history/{run_id}/undo", data={"csrf_token": token})
    assert refused.status_code in (400, 403)
    assert reader.runtime.runs.get(run_id + 1) is None  # no undo run was started


def test_in_app_only_mode_only_a_sync_role_may_undo(web: Web, world: World) -> None:
    alice = signed_in_as(web, "alice")
    use_app_only(alice)
    run_id = start(alice, key=["1"])
    assert alice.soup(f"/history/{run_id}").select_one("a#undo-run") is not None
    alice.client.post("/auth/logout", data={"csrf_token": alice.csrf("/")})
    pat = signed_in_as(web, "pat")  # no role: may not even see the shared mailbox's runs
    assert pat.client.get(f"/history/{run_id}").status_code == 403
    token = pat.csrf("/history")
    assert pat.client.post(f"/history/{run_id}/undo", data={"csrf_token": token}).status_code == 403
    assert "ada@example.com" in emails(world)


def test_the_api_previews_and_starts_an_undo(signed_in: Web, world: World) -> None:
    run_id = start(signed_in, key=["1"])
    preview = signed_in.client.get(f"/api/runs/{run_id}/undo")
    assert preview.status_code == 200, preview.text
    body = preview.json()
    assert (body["undoes"], body["dry_run"], body["deleted"]) == (run_id, True, 1)
    assert [(i["key"], i["action"], i["outcome"]) for i in body["items"]] == [("1", "delete", None)]
    token = signed_in.csrf("/history")
    assert signed_in.client.post(f"/api/runs/{run_id}/undo").status_code == 403  # no CSRF
    started = signed_in.client.post(f"/api/runs/{run_id}/undo", headers={"X-CSRF-Token": token})
    assert started.status_code == 202, started.text
    undo_id = started.json()["id"]
    signed_in.wait_run(undo_id)
    assert "ada@example.com" not in emails(world)
    progress = signed_in.client.get(f"/api/runs/{undo_id}").json()
    assert (progress["undoes"], progress["deleted"]) == (run_id, 1)
    refused = signed_in.client.get(f"/api/runs/{undo_id + 1}/undo")
    assert refused.status_code == 404
