"""The command line's shared edge (grotius/cli_common.py): area command modules stand on
their own, and an error's per-row list reaches the user."""

from __future__ import annotations

import subprocess
import sys

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
