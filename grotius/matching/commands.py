"""CLI: `grotius match PARTNER --input FILE` (hit/no-hit by PSI) and `grotius match-budget`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ..cli_common import friendly, home_option, open_node
from ..exc import InvalidInput


@click.command("match")
@click.argument("partner")
@click.option("--input", "input_", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="One value per line (type<TAB>value, or a value whose type is recognised); - for stdin.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.option("--fuzzy", is_flag=True, help="FILE holds names (name<TAB>date of birth): match them "
              "fuzzily as keyed encodings (see `grotius match-key`).")
@home_option
@friendly
def match(partner: str, input_: Path, as_json: bool, fuzzy: bool, home: Path | None) -> None:
    """Ask PARTNER which of the values in FILE it also holds, by private set
    intersection: neither side learns the other's non-matching values."""
    from rich.console import Console
    from rich.progress import Progress

    from . import exchange

    node = open_node(home)
    try:
        text = sys.stdin.read() if str(input_) == "-" else input_.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InvalidInput(f"cannot read {input_}: {e}", path=str(input_)) from None
    if fuzzy:
        from .fuzzy_commands import run

        return run(node, partner, text, as_json)
    values = exchange.read_input(text.splitlines())
    with Progress(transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("matching", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = exchange.request(node, partner, values, progress)
    if as_json:
        click.echo(json.dumps({
            "partner": result.partner, "session": result.session, "size": result.size,
            "partner_size": result.peer_size, "bytes_sent": result.bytes_sent,
            "bytes_received": result.bytes_received,
            "hits": [{"type": k, "value": v} for k, v in sorted(result.hits)],
        }, ensure_ascii=False))
        return
    for kind, value in sorted(result.hits):
        click.echo(f"{kind}\t{value}")
    click.echo(f"{len(result.hits)} hit(s) of {result.size} value(s); {partner} holds {result.peer_size}", err=True)


@click.command("match-budget")
@click.argument("partner")
@click.option("--values", "max_values", type=int, required=True, help="Values PARTNER may offer per period.")
@click.option("--runs", "max_runs", type=int, default=100, show_default=True, help="Runs per period.")
@click.option("--period", "period_s", type=int, default=86_400, show_default=True, help="Period in seconds.")
@home_option
@friendly
def match_budget(partner: str, max_values: int, max_runs: int, period_s: int, home: Path | None) -> None:
    """Set how much PARTNER may match against this node (enforced and audited)."""
    from . import exchange

    exchange.set_budget(open_node(home), partner, max_values, period_s, max_runs)
    click.echo(f"{partner}: {max_values} values and {max_runs} runs per {period_s} s")
