"""The command line's shared edge (grotius/cli_common.py): area command modules stand on
their own, and an error's per-row list reaches the user."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from grotius.cli_common import friendly
from grotius.exc import InvalidInput, NotFound

AREA_COMMANDS = [
    "grotius.correlate.commands", "grotius.finance.commands", "grotius.matching.commands",
    "grotius.matching.entities_commands", "grotius.matching.fuzzy_commands", "grotius.matching.rfi_commands",
    "grotius.sharing.commands", "grotius.sharing.sync_commands",
]


@pytest.mark.parametrize("module", AREA_COMMANDS)
def test_an_area_command_module_imports_first(module: str) -> None:
    # importing cli.py from an area module that cli.py itself imports left one of them half-built
    r = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_friendly_prints_the_listed_errors_and_the_exit_status() -> None:
    @click.command()
    @click.argument("kind")
    @friendly
    def cmd(kind: str) -> None:
        if kind == "rows":
            raise InvalidInput("input.csv: no transactions found (2 rows rejected)", errors=[
                {"line": 3, "column": 1, "message": "amount 'x' is not a number"},
                {"text": "object 4 (indicator--1): pattern: does not parse"}, "a plain note",
            ])
        raise NotFound("no partner named 'X'", partner="X")

    r = CliRunner().invoke(cmd, ["rows"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert r.output.splitlines() == [
        "error: input.csv: no transactions found (2 rows rejected)",
        "  line 3: amount 'x' is not a number",
        "  object 4 (indicator--1): pattern: does not parse",
        "  a plain note",
    ]
    r = CliRunner().invoke(cmd, ["other"])
    assert r.exit_code == 1 and r.output == "error: no partner named 'X' (partner=X)\n"


def test_a_failed_init_leaves_nothing_behind_and_can_be_run_again(tmp_path: Path) -> None:
    from grotius.cli import main

    run = CliRunner()
    home = tmp_path / "new" / "nl-pol"
    r = run.invoke(main, ["init", "--home", str(home), "--org", "NL-POL",
                          "--database-url", "postgresql://nobody@127.0.0.1:1/none"])
    assert r.exit_code == 1 and "cannot connect to PostgreSQL" in r.output, r.output
    assert not (tmp_path / "new").exists()  # not even the folders it made
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("kept")
    r = run.invoke(main, ["init", "--home", str(mine), "--org", "NL-POL", "--default-tlp", "purple"])
    assert r.exit_code == 2 and "unknown TLP level 'purple'" in r.output, r.output
    r = run.invoke(main, ["init", "--home", str(mine), "--org", "NL-POL", "--database-url", "mysql://x"])
    assert r.exit_code == 1 and "unsupported database URL" in r.output, r.output
    assert sorted(p.name for p in mine.iterdir()) == ["notes.txt"]
    r = run.invoke(main, ["init", "--home", str(home), "--org", "NL-POL"])
    assert r.exit_code == 0, r.output
    assert {"grotius.db", "keys", "node.toml"} <= {p.name for p in home.iterdir()}
