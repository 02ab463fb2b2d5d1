"""Demo step: the Operation Carillon story uses documentation address space (RFC 5737,
RFC 3849) and ``.example`` names, which the MISP warninglists rightly flag. The demo
nodes switch those three lists off (a real node never holds such values) and
re-evaluate, so the leads the story is about appear."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from grotius.correlate import hook, leads, suppress

if TYPE_CHECKING:
    from grotius.node import Node

DOCUMENTATION_LISTS = (
    "List of RFC 5735 CIDR blocks",
    "List of RFC 3849 CIDR blocks",
    "List of RFC 6761 Special-Use Domain Names",
)


def prepare(node: "Node") -> dict[str, int]:
    if suppress.misp_enabled():
        for name in DOCUMENTATION_LISTS:
            suppress.set_list_enabled(node, name, False)
    return hook.reevaluate(node)


def step(nodes: dict[str, "Node"], base: Path) -> list[str]:
    lines = []
    for name, node in nodes.items():
        prepare(node)
        n = len(leads.inbox(node, limit=1000))
        lines.append(f"{name}: {n} open lead(s) (documentation-range warninglists off for the demo)")
    return lines


def register() -> None:
    from grotius import demo

    if step not in demo.STEPS:
        demo.STEPS.append(step)
