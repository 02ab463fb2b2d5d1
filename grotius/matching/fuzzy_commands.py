"""CLI of the fuzzy exchange: `grotius match-key PARTNER` (the per-agreement key) and the
`--fuzzy` mode of `grotius match` (:func:`run`)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..cli_common import friendly, home_option, open_node
from ..exc import InvalidInput


def run(node: object, partner: str, text: str, as_json: bool) -> None:
    """`grotius match PARTNER --input FILE --fuzzy`: FILE holds names, optionally
    ``name<TAB>date of birth``; prints the matched lines with their scores."""
    from . import fuzzy

    queries = fuzzy.read_input(text.splitlines())
    result = fuzzy.request(node, partner, queries)  # type: ignore[arg-type]
    if as_json:
        click.echo(json.dumps(result.to_dict(), ensure_ascii=False))
        return
    for _, q, score in result.hits:
        click.echo(f"{q.name}\t{q.date_of_birth or ''}\t{score:.3f}")
    click.echo(f"{len(result.hits)} of {result.size} name(s) match at {partner} (fuzzy, encoded)", err=True)


@click.command("match-key")
@click.argument("partner")
@click.option("--generate", is_flag=True, help="Make a new random key and print it once, to hand to PARTNER.")
@click.option("--key-file", type=click.Path(dir_okay=False, path_type=Path),
              help="Import the key PARTNER generated (64 hex digits; - for stdin).")
@home_option
@friendly
def match_key(partner: str, generate: bool, key_file: Path | None, home: Path | None) -> None:
    """Set the key of the fuzzy name exchange with PARTNER (both nodes must hold the same
    key). Without options, print the key id in force (never the key)."""
    import sys

    from . import fuzzy

    node = open_node(home)
    if generate and key_file:
        raise InvalidInput("give either --generate or --key-file")
    if generate:
        key, kid = fuzzy.set_key(node, partner)
        click.echo(key.hex())
        click.echo(f"key id {kid}: give the key above to {partner} over a trusted channel; "
                   "it is not shown again", err=True)
        return
    if key_file:
        try:
            text = sys.stdin.read() if str(key_file) == "-" else key_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as e:
            raise InvalidInput(f"cannot read {key_file}: {e}", path=str(key_file)) from None
        _, kid = fuzzy.set_key(node, partner, fuzzy.parse_key(text))
        click.echo(f"key id {kid}")
        return
    click.echo(f"key id {fuzzy.key_id(fuzzy.get_key(node, partner))}")
