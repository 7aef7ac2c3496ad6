"""Settings' Central source, held against a hostile signed-in person (issue 6).

The web reads CSV only from an upload or the operator's import folder, databases only on
allowed hosts; nothing it shows quotes a source's content or tells whether a port is open; the
page's password masks stand for the stored password and are never stored.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from bs4 import BeautifulSoup

from central365.sources import mask_secrets, write_csv
from tests.sources.support import hangup_server
from tests.web.conftest import RECORDS, Web, World, serve
from tests.web.test_settings import form_of, post, with_sources

FILE_CONTENT = "Do-Not-Show-5e1b"  # planted in files the web must never read


@pytest.fixture
def world(world: World) -> World:
    return with_sources(world)


def import_dir(world: World) -> Path:
    assert world.settings.import_dir is not None
    return world.settings.import_dir


def data_dir(world: World) -> Path:
    return world.settings.data_dir


def test_connection(web: Web, **changes: Any) -> BeautifulSoup:
    values = {**form_of(web), "action": "test", **changes}
    response = web.client.post("/settings", data=values)
    assert response.status_code == 200, response.text[:2000]
    return BeautifulSoup(response.text, "html.parser")


test_connection.__test__ = False  # type: ignore[attr-defined]  # a helper, not a test


def field_error(response: Any, name: str = "central_url") -> str:
    page = BeautifulSoup(response.text, "html.parser")
    error = page.select_one(f'[data-error-for="{name}"]')
    assert error is not None, response.text[:3000]
    return str(error.get_text())


# -- the file-read chain -------------------------------------------------------------------


def forbidden_urls(world: World) -> dict[str, str]:
    """Every way issue 6 read a server file, and the ways around a naive fix."""
    secret_key = data_dir(world) / "secret.key"
    secret_key.write_text(f"id\n{FILE_CONTENT}\n")
    outside = world.tmp / "outside.csv"
    write_csv(outside, RECORDS)
    (import_dir(world) / "link.csv").symlink_to(outside)
    (import_dir(world) / "key.csv").symlink_to(secret_key)
    return {
        "passwd": "csv:/etc/passwd",
        "environ": "csv:/proc/self/environ",
        "secret key": f"csv:{secret_key}",
        "relative secret key": "csv:data/secret.key",
        "escape": "csv:../outside.csv",
        "escape from inside": f"csv:{import_dir(world)}/../outside.csv",
        "symlink out": f"csv:{import_dir(world) / 'link.csv'}",
        "symlink to the key": f"csv:{import_dir(world) / 'key.csv'}",
        "app database": f"sqlite:///{data_dir(world) / 'central365.db'}",
        "sqlite outside": f"sqlite:///{world.tmp / 'other.db'}",
        "sqlite uri": "sqlite:///file:central365.db?uri=true",
    }


def test_no_server_file_can_be_read_by_test_connection(signed_in: Web, world: World) -> None:
    for label, url in forbidden_urls(world).items():
        page = test_connection(signed_in, central_url=url)
        result = page.select_one("#test-result")
        assert result is not None and result["data-ok"] == "false", label
        text = page.get_text(" ")
        assert FILE_CONTENT not in text and "root:" not in text, label
        assert "upload" in result.get_text() or "import folder" in result.get_text(), label


def test_no_server_file_can_be_saved_as_central(signed_in: Web, world: World) -> None:
    before = signed_in.runtime.load_app_settings().central_url
    for label, url in forbidden_urls(world).items():
        response = post(signed_in, central_url=url)
        assert response.status_code == 400, label
        assert "import folder" in field_error(response), label
    assert signed_in.runtime.load_app_settings().central_url == before


def test_the_import_folder_offers_its_exports_only(signed_in: Web, world: World) -> None:
    write_csv(import_dir(world) / "central.csv", RECORDS)
    (import_dir(world) / "notes.md").write_text("not an export")
    (import_dir(world) / ".hidden.csv").write_text("id\n")
    (import_dir(world) / "out.csv").symlink_to(world.tmp / "central.csv")

    page = signed_in.soup("/settings")

    options = [o["value"] for o in page.select("#import_file option")]
    assert options == ["", "central.csv"]
    found = test_connection(signed_in, import_file="central.csv")
    assert found.select_one("#test-result [data-records]")["data-records"] == str(len(RECORDS))
    assert post(signed_in, import_file="central.csv").status_code == 303
    stored = signed_in.runtime.load_app_settings().central_url
    assert stored == f"csv:{(import_dir(world) / 'central.csv').resolve()}"
    chosen = signed_in.soup("/settings").select_one("#import_file option[selected]")
    assert chosen["value"] == "central.csv"
    refused = post(signed_in, import_file="../central.csv")
    assert refused.status_code == 400 and "import_file" in refused.text


def test_a_relative_name_is_taken_from_the_import_folder(signed_in: Web, world: World) -> None:
    write_csv(import_dir(world) / "people.csv", RECORDS)

    assert post(signed_in, central_url="csv:people.csv").status_code == 303

    stored = signed_in.runtime.load_app_settings().central_url
    assert stored == f"csv:{(import_dir(world) / 'people.csv').resolve()}"


@pytest.fixture
def no_import_dir(world: World) -> Iterator[Web]:
    world.settings = world.settings.model_copy(update={"import_dir": None})
    for web in serve(world.app()):
        web.sign_in("alice")
        yield web


def test_without_an_import_folder_csv_paths_are_refused(no_import_dir: Web, world: World) -> None:
    web = no_import_dir
    response = post(web, central_url=f"csv:{world.tmp / 'central.csv'}x")
    assert response.status_code == 400
    assert "upload" in field_error(response)
    # The operator's own start-up source stays usable as it is.
    assert post(web).status_code == 303


# -- databases: allowed hosts, no port oracle ------------------------------------------------


def test_database_urls_may_name_allowed_hosts_only(signed_in: Web) -> None:
    allowed = "postgresql+psycopg://central:pw@db.example.com:5432/crm"
    assert post(signed_in, central_url=allowed).status_code == 303
    for url in [
        "postgresql+psycopg://central:pw@evil.example.net/crm",
        "postgresql+psycopg://central:pw@10.0.0.7:5432/crm",
        "postgresql+psycopg://central:pw@db.example.com/crm?host=evil.example.net",
        "mysql+pymysql://central:pw@db.example.com/crm?read_default_file=/etc/passwd",
        "postgresql+psycopg://central:pw@db.example.com/crm?sslkey=/work/data/secret.key",
    ]:
        response = post(signed_in, central_url=url)
        assert response.status_code == 400, url
        assert "host" in field_error(response) or "parameter" in field_error(response), url
    assert signed_in.runtime.load_app_settings().central_url == allowed


def closed_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port


def result_text(page: BeautifulSoup) -> str:
    return " ".join(page.select_one("#test-result").get_text().split())


@pytest.mark.e2e
def test_an_open_and_a_closed_port_answer_alike(signed_in: Web) -> None:
    def answer(host: str, port: int) -> str:
        url = f"postgresql+psycopg://u:pw@{host}:{port}/db"
        return result_text(test_connection(signed_in, central_url=url))

    # A host not on the list (127.0.0.2 is loopback, but not by a name the list has): refused
    # before any connection is tried.
    with hangup_server("127.0.0.2") as port:
        disallowed = [answer("127.0.0.2", port), answer("127.0.0.2", closed_port("127.0.0.2"))]
    assert disallowed[0] == disallowed[1]
    assert "may only be on one of these hosts" in disallowed[0]
    # On an allowed host, any failure to connect is one sentence too.
    with hangup_server("127.0.0.1") as port:
        allowed = [answer("127.0.0.1", port), answer("127.0.0.1", closed_port("127.0.0.1"))]
    assert allowed[0] == allowed[1] and "did not answer" in allowed[0]


# -- passwords, unparseable URLs, the tenant ------------------------------------------------


DB_URL = "postgresql+psycopg://central:Db-Pa55word@db.example.com/crm?sslpassword=Key-Pa55"


def test_test_connection_then_save_keeps_the_stored_password(signed_in: Web) -> None:
    assert post(signed_in, central_url=DB_URL).status_code == 303
    shown = form_of(signed_in)["central_url"]
    assert shown == "postgresql+psycopg://central:***@db.example.com/crm?sslpassword=***"

    tested = test_connection(signed_in, central_url=shown, central_table="people")
    assert "Db-Pa55word" not in str(tested) and "Key-Pa55" not in str(tested)
    assert tested.select_one("#test-result").has_attr("data-focus-on-load")
    again = tested.select_one("#central_url")["value"]
    assert again == shown
    assert post(signed_in, central_url=again, central_table="people").status_code == 303
    assert signed_in.runtime.load_app_settings().central_url == DB_URL


def test_a_new_password_tested_then_saved_is_the_one_stored(signed_in: Web) -> None:
    assert post(signed_in, central_url=DB_URL).status_code == 303
    typed = DB_URL.replace("Db-Pa55word", "New-Pa55word")

    tested = test_connection(signed_in, central_url=typed)

    assert "New-Pa55word" not in str(tested) and "Db-Pa55word" not in str(tested)
    values = {
        field["name"]: field.get("value", "")
        for field in tested.select("form.settings input[name]")
        if field.get("type") not in ("radio", "checkbox", "file")
    }
    assert values["central_url"] == masked(typed) and values["central_url_sealed"]
    assert post(signed_in, **values).status_code == 303
    assert signed_in.runtime.load_app_settings().central_url == typed
    # A refused save keeps the typed password the same way.
    other = DB_URL.replace("Db-Pa55word", "Third-Pa55word")
    refused = post(signed_in, central_url=other, client_id="")
    page = BeautifulSoup(refused.text, "html.parser")
    assert refused.status_code == 400 and "Third-Pa55word" not in refused.text
    sealed = page.select_one('input[name="central_url_sealed"]')["value"]
    assert post(signed_in, central_url=masked(other), central_url_sealed=sealed).status_code == 303
    assert signed_in.runtime.load_app_settings().central_url == other
    # A sealed copy stands only for its own mask: an edited URL goes by the usual rules.
    edited = masked(other).replace("127.0.0.1", "x").replace("db.example.com", "127.0.0.1")
    refused = post(signed_in, central_url=edited, central_url_sealed=sealed)
    assert refused.status_code == 400 and "Type the password again" in field_error(refused)


def masked(url: str) -> str:
    return mask_secrets(url)


def test_a_mask_in_an_edited_url_keeps_the_password_only_for_the_same_place(
    signed_in: Web,
) -> None:
    assert post(signed_in, central_url=DB_URL).status_code == 303
    same_place = "postgresql+psycopg://central:***@db.example.com/crm2?sslpassword=***"
    assert post(signed_in, central_url=same_place).status_code == 303
    stored = signed_in.runtime.load_app_settings().central_url
    assert "crm2" in stored and "Db-Pa55word" in stored and "Key-Pa55" in stored
    elsewhere = post(signed_in, central_url="postgresql+psycopg://central:***@127.0.0.1/crm")
    assert elsewhere.status_code == 400
    assert "Type the password again" in field_error(elsewhere)
    assert "***" not in signed_in.runtime.load_app_settings().central_url


def test_an_unparseable_url_is_a_field_error(signed_in: Web) -> None:
    response = post(signed_in, central_url="postgresql+psycopg://u:Pa55@db.example.com:port/x")

    assert response.status_code == 400
    assert "cannot be read" in field_error(response)
    assert "Pa55" not in response.text


def test_a_stored_broken_url_shows_its_problem_not_an_error_page(signed_in: Web) -> None:
    runtime = signed_in.runtime
    stored = runtime.load_app_settings()
    broken = "postgresql+psycopg://u:Br0ken-Pa55@db.example.com:port/x"
    runtime.app_settings.save(replace(stored, central_url=broken), by="an old version")

    response = signed_in.client.get("/settings")

    assert response.status_code == 200
    assert "cannot be read" in field_error(response)
    assert "Br0ken-Pa55" not in response.text
    field = BeautifulSoup(response.text, "html.parser").select_one("#central_url")
    assert field["aria-invalid"] == "true" and "central_url-error" in field["aria-describedby"]


@pytest.mark.e2e
def test_a_stored_source_the_web_may_not_name_is_flagged(signed_in: Web) -> None:
    runtime = signed_in.runtime
    legacy = "csv:/etc/passwd"  # saved before the web was restricted
    runtime.app_settings.save(
        replace(runtime.load_app_settings(), central_url=legacy), by="an old version"
    )

    response = signed_in.client.get("/settings")

    assert response.status_code == 200
    assert "import folder" in field_error(response)
    assert "root:" not in response.text


@pytest.mark.e2e
def test_api_and_page_errors_mask_every_password(signed_in: Web) -> None:
    runtime = signed_in.runtime
    url = (
        f"postgresql+psycopg://central:Db-Pa55word@127.0.0.1:{closed_port('127.0.0.1')}/crm"
        "?sslpassword=Key-Pa55&connect_timeout=2"
    )
    runtime.app_settings.save(replace(runtime.load_app_settings(), central_url=url), by="test")

    api = signed_in.client.get("/api/plan")
    page = signed_in.client.get("/")

    assert api.status_code == 502 and page.status_code == 502
    for text in (api.text, page.text):
        assert "Db-Pa55word" not in text and "Key-Pa55" not in text
        assert "central:***@127.0.0.1" in text and "sslpassword=***" in text


def test_the_tenant_is_read_only(signed_in: Web) -> None:
    page = signed_in.soup("/settings")
    field = page.select_one("#tenant_id")
    assert field["value"] == "tenant-1" and field.has_attr("readonly") and not field.get("name")

    assert post(signed_in, tenant_id="organizations").status_code == 303

    assert signed_in.runtime.load_app_settings().tenant_id == "tenant-1"
