"""CLI: `grotius resolve` (entity resolution inside this node's store)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..cli_common import friendly, home_option, open_node
from .entities import DEFAULT_THRESHOLD


@click.command("resolve")
@click.option("--threshold", type=float, default=DEFAULT_THRESHOLD, show_default=True,
              help="Match probability a link needs (0..1).")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON.")
@home_option
@friendly
def resolve_cmd(threshold: float, as_json: bool, home: Path | None) -> None:
    """Resolve the person and organisation records of this node's store (identities,
    threat actors, intrusion sets, FollowTheMoney entities) into x-grotius-entity objects."""
    from rich.console import Console
    from rich.progress import Progress

    from . import entities

    node = open_node(home)
    with Progress(transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("comparing candidate pairs", total=None)
        result = entities.run(node, threshold,
                              lambda done, total: bar.update(task, completed=done, total=total))
    report = result.to_dict()
    if as_json:
        click.echo(json.dumps(report | {"entity_ids": [e["id"] for e in result.entities]}, ensure_ascii=False))
        return
    for e in result.entities:
        click.echo(f"{e['id']}\t{len(e['object_refs'])}\t{e['name']}")
    click.echo(
        f"{report['entities']} entit{'y' if report['entities'] == 1 else 'ies'} from {report['records']} records ({report['candidates']} candidate pairs, "
        f"{report['weights']} weights): {report['stored']} stored, {report['unchanged']} unchanged, "
        f"{report['revoked']} revoked", err=True)
