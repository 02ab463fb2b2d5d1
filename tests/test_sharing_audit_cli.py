"""`grotius audit verify` on the command line: what it says before and after the first
signed checkpoint."""

from __future__ import annotations

import re

from click.testing import CliRunner

from grotius.cli import main
from grotius.node import Node


def test_verify_names_the_checkpoint_or_says_there_is_none(node: Node) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["audit", "verify", "--home", str(node.home)])
    assert first.exit_code == 0, first.output
    assert "None" not in first.output and "no signed checkpoint yet" in first.output, first.output
    # a verified head becomes a checkpoint, which the next run names
    second = runner.invoke(main, ["audit", "verify", "--home", str(node.home)])
    assert second.exit_code == 0, second.output
    m = re.search(r"head (\d+), 1 signed checkpoint \(last at entry (\d+)\)", second.output)
    assert m and m.group(1) == m.group(2), second.output
