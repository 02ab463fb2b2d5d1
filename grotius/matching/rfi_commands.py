"""CLI: `grotius rfi list|show|create|decide|refresh|withdraw` (requests for information)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..cli_common import friendly, home_option, open_node
from ..exc import InvalidInput


@click.group("rfi")
def rfi() -> None:
    """Requests for information: from a hit/no-hit hit to an approved (or declined) disclosure."""


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@rfi.command("list")
@click.option("--direction", type=click.Choice(["incoming", "outgoing"]), default=None)
@click.option("--status", default=None, help="open, approved, partially-approved, declined, withdrawn, overdue")
@click.option("--json", "as_json", is_flag=True)
@home_option
@friendly
def list_(direction: str | None, status: str | None, as_json: bool, home: Path | None) -> None:
    """Requests of both directions, newest first."""
    from . import requests

    rows = requests.list_requests(open_node(home), direction=direction, status=status)
    if as_json:
        _echo_json(rows)
        return
    for r in rows:
        arrow = "->" if r["direction"] == "outgoing" else "<-"
        click.echo(f"{r['request_id']}\t{arrow} {r['partner']}\t{r['shown_status']}\t{r['urgency']}\t"
                   f"due {r['deadline'][:16]}\t{r['summary']}")
    click.echo(f"{len(rows)} request(s)", err=True)


@rfi.command("show")
@click.argument("request_id")
@home_option
@friendly
def show(request_id: str, home: Path | None) -> None:
    """One request as JSON: details, decision, disclosed or proposed objects."""
    from . import requests

    _echo_json(requests.detail(open_node(home), request_id))


@rfi.command("create")
@click.option("--match", "match_id", required=True, help="id of the x-grotius-match run (this node asked).")
@click.option("--value", "values", multiple=True, help="A hit value asked about (repeat); default: every hit.")
@click.option("--asked", required=True, help="What is asked.")
@click.option("--legal-basis", required=True, help="mla, police-cooperation, europol, fiu or other.")
@click.option("--legal-basis-text", default="", help="The basis in words (reference, article).")
@click.option("--urgency", default="routine", show_default=True, help="routine, urgent or immediate.")
@click.option("--deadline", required=True, help="YYYY-MM-DD (end of that day, UTC) or an RFC 3339 timestamp.")
@click.option("--tlp", default="amber", show_default=True)
@home_option
@friendly
def create(match_id: str, values: tuple[str, ...], asked: str, legal_basis: str, legal_basis_text: str,
           urgency: str, deadline: str, tlp: str, home: Path | None) -> None:
    """Send a request for information on hits of a run to the run's partner."""
    from . import requests

    obj = requests.create(open_node(home), match_id, list(values), asked=asked, legal_basis=legal_basis,
                          legal_basis_text=legal_basis_text, urgency=urgency, deadline=deadline, tlp=tlp)
    click.echo(obj["id"])
    click.echo(f"sent to {obj['holder']}; deadline {obj['deadline']}", err=True)


def _drops(items: tuple[str, ...]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for item in items:
        oid, sep, prop = item.rpartition(":")
        if not sep or not oid or not prop:
            raise InvalidInput(f"--drop {item!r}: write OBJECT_ID:PROPERTY", property="drop", value=item)
        out.setdefault(oid, []).append(prop)
    return out


@rfi.command("decide")
@click.argument("request_id")
@click.option("--approve", "approve", flag_value=True, default=None,
              help="Approve (in full, or in part with --object/--drop).")
@click.option("--decline", "approve", flag_value=False, help="Decline (needs --reason).")
@click.option("--object", "objects", multiple=True, help="Disclose only these objects (repeat).")
@click.option("--drop", "drops", multiple=True, help="OBJECT_ID:PROPERTY left out of what is disclosed (repeat).")
@click.option("--reason", default="", help="Why (required to decline).")
@click.option("--json", "as_json", is_flag=True)
@home_option
@friendly
def decide(request_id: str, approve: bool | None, objects: tuple[str, ...], drops: tuple[str, ...], reason: str,
           as_json: bool, home: Path | None) -> None:
    """Holder: answer a request received from a partner."""
    from . import requests

    if approve is None:
        raise InvalidInput("say --approve or --decline", property="decision")
    dec = requests.decide(open_node(home), request_id, approve=approve, objects=list(objects) or None,
                          drop=_drops(drops), reason=reason, by=None)
    if as_json:
        _echo_json(dec)
        return
    click.echo(f"{dec['outcome']}: {len(dec['disclosed'])} object(s) to disclose")
    for d in dec["disclosed"]:
        extra = f" (copy of {d['derived_from']} without {', '.join(d['dropped'])})" if d.get("derived_from") else ""
        click.echo(f"  {d['object_ref']}{extra}")


@rfi.command("refresh")
@click.argument("request_id", required=False)
@click.option("--json", "as_json", is_flag=True)
@home_option
@friendly
def refresh(request_id: str | None, as_json: bool, home: Path | None) -> None:
    """Requester: send undelivered requests and fetch holders' answers (one, or every open one)."""
    from . import requests

    node = open_node(home)
    res = [requests.refresh(node, request_id)] if request_id else requests.refresh_open(node)
    if as_json:
        _echo_json(res)
        return
    for r in res:
        click.echo(f"{r['request_id']}\t{r.get('error') or r['status']}")


@rfi.command("withdraw")
@click.argument("request_id")
@click.option("--reason", default="")
@home_option
@friendly
def withdraw(request_id: str, reason: str, home: Path | None) -> None:
    """Requester: withdraw an open request (the holder is told)."""
    from . import requests

    requests.withdraw(open_node(home), request_id, reason)
    click.echo(f"{request_id} withdrawn")


# `grotius demo` runs the steps areas register; the CLI imports this module, so the
# request-for-information steps are in place whenever the demo is built from the command line.
from grotius.matching import demo as _demo  # noqa: E402

_demo.register()
