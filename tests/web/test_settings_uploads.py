"""Settings' CSV uploads: streamed, capped, private, content-free, replaced ones deleted."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from bs4 import BeautifulSoup
from starlette.requests import Request

from central365.sources import write_csv
from central365.web.uploads import UploadFolder, UploadRefused, receive_upload
from tests.web.conftest import RECORDS, Web, World, serve
from tests.web.test_settings import post, with_sources
from tests.web.test_settings_central import (
    FILE_CONTENT,
    data_dir,
    field_error,
    import_dir,
    test_connection,
)


@pytest.fixture
def world(world: World) -> World:
    return with_sources(world)


def upload(web: Web, content: bytes, filename: str = "export.csv", **headers: str) -> Any:
    return web.client.post(
        "/settings/upload",
        data={"csrf_token": web.csrf("/settings")},
        files={"central_csv": (filename, content, "text/csv")},
        headers=headers,
    )


def export_bytes(world: World, name: str = "export.csv") -> bytes:
    path = world.tmp / name
    write_csv(path, RECORDS)
    return path.read_bytes()


def uploads(world: World) -> list[Path]:
    folder = data_dir(world) / "uploads"
    return sorted(folder.iterdir()) if folder.exists() else []


def test_an_upload_becomes_the_central_source(signed_in: Web, world: World) -> None:
    response = upload(signed_in, export_bytes(world))

    assert response.status_code == 200, response.text[:2000]
    page = BeautifulSoup(response.text, "html.parser")
    result = page.select_one("#upload-result")
    assert result["data-ok"] == "true" and result.has_attr("data-focus-on-load")
    assert result.select_one("[data-records]")["data-records"] == str(len(RECORDS))
    assert result.select_one("[data-active]")["data-active"] == "6"
    (stored,) = uploads(world)
    assert signed_in.runtime.load_app_settings().central_url == f"csv:{stored}"
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
    assert stat.S_IMODE(stored.parent.stat().st_mode) == 0o700
    home = signed_in.soup("/")
    assert home.select_one('[data-count="new"]').get_text() == "2"
    # The stored upload may be saved and tested as it is; a new upload replaces (deletes) it.
    assert post(signed_in).status_code == 303
    assert test_connection(signed_in).select_one("#test-result")["data-ok"] == "true"
    assert upload(signed_in, export_bytes(world)).status_code == 200
    (replacement,) = uploads(world)
    assert replacement != stored and not stored.exists()
    # Choosing another source deletes the upload too.
    write_csv(import_dir(world) / "central.csv", RECORDS)
    assert post(signed_in, import_file="central.csv").status_code == 303
    assert uploads(world) == []


def test_bad_rows_of_an_upload_are_named_by_line_only(signed_in: Web, world: World) -> None:
    content = export_bytes(world) + f"{FILE_CONTENT},two\n".encode()

    response = upload(signed_in, content)

    assert response.status_code == 200
    result = BeautifulSoup(response.text, "html.parser").select_one("#upload-result")
    assert result.select_one("[data-bad-lines]")["data-bad-lines"] == "1"
    assert f"line {len(RECORDS) + 2}" in result.get_text()
    assert FILE_CONTENT not in response.text


def test_an_upload_without_the_required_columns_is_not_used(signed_in: Web, world: World) -> None:
    before = signed_in.runtime.load_app_settings().central_url

    response = upload(signed_in, f"id,status,{FILE_CONTENT}\n1,Active,x\n".encode())

    assert response.status_code == 400
    result = BeautifulSoup(response.text, "html.parser").select_one("#upload-result")
    assert "required column 'email' is missing" in result.get_text()
    assert FILE_CONTENT not in response.text
    assert uploads(world) == [] and signed_in.runtime.load_app_settings().central_url == before


@pytest.mark.parametrize(
    "content",
    [b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", b"id,status\n1,Andr\xe9\n", b""],
    ids=["binary", "latin-1", "empty"],
)
def test_what_is_not_a_csv_export_is_refused(signed_in: Web, world: World, content: bytes) -> None:
    response = upload(signed_in, content, filename="picture.png")

    assert response.status_code == 400
    problem = field_error(response, "central_csv")
    assert "CSV" in problem or "empty" in problem
    assert uploads(world) == []
    field = BeautifulSoup(response.text, "html.parser").select_one("#central_csv")
    assert field["aria-invalid"] == "true" and "central_csv-error" in field["aria-describedby"]


@pytest.fixture
def small_cap(world: World) -> Iterator[Web]:
    world.settings = world.settings.model_copy(update={"upload_max_bytes": 2048})
    for web in serve(world.app()):
        web.sign_in("alice")
        yield web


def test_an_oversized_upload_is_refused_and_nothing_kept(small_cap: Web, world: World) -> None:
    response = upload(small_cap, b"id,status\n" + b"1,Active\n" * 2000)

    assert response.status_code == 400
    assert "larger than this server takes" in field_error(response, "central_csv")
    assert uploads(world) == []


def test_the_cap_is_enforced_while_the_body_streams(tmp_path: Path) -> None:
    """No Content-Length: the receiver stops reading as soon as the cap is passed."""
    boundary = "b0und4ry"
    head = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\ntok\r\n'
        f'--{boundary}\r\nContent-Disposition: form-data; name="central_csv"; '
        f'filename="big.csv"\r\n\r\n'
    ).encode()
    chunks = [head] + [b"x" * 1024] * 10_000
    sent = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        sent += 1
        return {"type": "http.request", "body": chunks[sent - 1], "more_body": True}

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/settings/upload",
        "headers": [(b"content-type", f"multipart/form-data; boundary={boundary}".encode())],
    }
    folder = UploadFolder(tmp_path)

    with pytest.raises(UploadRefused, match="larger than this server takes"):
        anyio.run(
            lambda: receive_upload(Request(scope, receive), folder, limit=4096, csrf_expected="tok")
        )

    assert sent < 30  # stopped after ~4 KiB of 10 MiB
    assert list(folder.path.iterdir()) == []


def test_a_body_that_is_not_multipart_is_refused(signed_in: Web, world: World) -> None:
    token = signed_in.csrf("/settings")
    garbage = signed_in.client.post(
        "/settings/upload",
        content=b"--x\r\nno headers here\r\n\r\n" * 10,
        headers={"Content-Type": "multipart/form-data; boundary=x", "X-CSRF-Token": token},
    )
    plain = signed_in.client.post(
        "/settings/upload", data={"csrf_token": token, "central_csv": "text"}
    )

    assert garbage.status_code == 400 and plain.status_code == 400
    assert uploads(world) == []


def test_an_upload_needs_the_csrf_token_before_the_file(signed_in: Web, world: World) -> None:
    content = export_bytes(world)
    forged = signed_in.client.post(
        "/settings/upload", files={"central_csv": ("export.csv", content, "text/csv")}
    )
    assert forged.status_code == 403
    wrong = signed_in.client.post(
        "/settings/upload",
        data={"csrf_token": "forged"},
        files={"central_csv": ("export.csv", content, "text/csv")},
    )
    assert wrong.status_code == 403
    token = signed_in.csrf("/settings")
    late = (
        '--b\r\nContent-Disposition: form-data; name="central_csv"; filename="e.csv"\r\n\r\n'
        f"{content.decode()}\r\n"
        f'--b\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n{token}\r\n--b--\r\n'
    )
    token_after_file = signed_in.client.post(
        "/settings/upload",
        content=late.encode(),
        headers={"Content-Type": "multipart/form-data; boundary=b"},
    )
    assert token_after_file.status_code == 403
    assert uploads(world) == []
    by_header = signed_in.client.post(
        "/settings/upload",
        files={"central_csv": ("export.csv", content, "text/csv")},
        headers={"X-CSRF-Token": signed_in.csrf("/settings")},
    )
    assert by_header.status_code == 200


def test_files_written_by_uploads_are_private_even_with_a_loose_umask(
    signed_in: Web, world: World
) -> None:
    old = os.umask(0)
    try:
        assert upload(signed_in, export_bytes(world)).status_code == 200
    finally:
        os.umask(old)
    (stored,) = uploads(world)
    assert stat.S_IMODE(stored.stat().st_mode) == 0o600
