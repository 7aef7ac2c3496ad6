"""`central365 worker` refuses, in one sentence, to start without a broker."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from central365.cli import app as cli_app


def test_the_worker_needs_a_broker_and_says_how_to_set_one(tmp_path: Path) -> None:
    file = tmp_path / "central365.toml"
    file.write_text(f'central = "csv:{tmp_path / "c.csv"}"\nauth = "sandbox"\n', encoding="utf-8")
    result = CliRunner().invoke(cli_app, ["--config", str(file), "worker"])
    assert result.exit_code == 2
    said = " ".join(result.stderr.split())
    assert "set CENTRAL365_BROKER_URL" in said and "central365 serve" in said
