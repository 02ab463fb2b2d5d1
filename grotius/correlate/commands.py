"""`grotius leads`: the leads inbox, lead decisions, value checks, exclusions and lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import click

from grotius.cli_common import friendly, home_option, open_node


def _out(data: Any, as_json: bool) -> bool:
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    return as_json


@click.group("leads", invoke_without_command=True)
@home_option
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--status", default="new", show_default=True, help="new, accepted, dismissed, suppressed or all.")
@click.option("--sort", default="score", show_default=True, type=click.Choice(["score", "recent", "oldest"]))
@click.option("--source", default=None, help="Only leads involving this source.")
@click.option("--min-score", type=float, default=None)
@click.option("--search", "q", default=None, help="Text in the lead's summary.")
@click.option("--limit", type=int, default=50, show_default=True)
@click.pass_context
@friendly
def leads_group(ctx: click.Context, home: Path | None, as_json: bool, status: str, sort: str, source: str | None,
                min_score: float | None, q: str | None, limit: int) -> None:
    """The leads inbox: information from one source that matches holdings from another."""
    ctx.ensure_object(dict)
    ctx.obj["home"] = home
    if ctx.invoked_subcommand is not None:
        return
    from grotius.correlate import leads

    node = open_node(home)
    rows = leads.inbox(node, status=status, sort=sort, source=source, min_score=min_score, q=q, limit=limit)
    if _out(rows, as_json):
        return
    if not rows:
        click.echo(f"no {status if status != 'all' else ''} leads".replace("  ", " "))
        return
    for r in rows:
        click.echo(f"{r['score']:.2f}  {r['status']:<10} TLP:{r['tlp'].upper():<13} {' / '.join(r['sources']):<22} {r['name']}")
        click.echo(f"      {r['id']}")


def _home(ctx: click.Context, home: Path | None) -> Path | None:
    return home or ctx.obj.get("home")


@leads_group.command("show")
@home_option
@click.argument("lead_id")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@friendly
def show(ctx: click.Context, home: Path | None, lead_id: str, as_json: bool) -> None:
    """A lead with both sides' objects."""
    from grotius.correlate import leads

    node = open_node(_home(ctx, home))
    data = leads.both_sides(node, leads.get(node, lead_id))
    if _out(data, as_json):
        return
    lead = data["lead"]
    click.echo(f"{lead['name']}\n  status {lead['status']}  score {lead['score']}  {lead['score_components']}")
    for m in lead["matches"]:
        click.echo(f"  {m['kind']} {m['value']}  {m['relation']}  {m['held_kind']} {m['held_value']}")
    for side in ("incoming", "held"):
        s = lead[side]
        click.echo(f"  {side:<8} {s['object_ref']} from {s['source']} grade {s.get('admiralty', '-')} TLP:{s['tlp'].upper()} "
                   f"added {s['date_added']}  {s.get('name', '')}")


def _decide(status: str) -> Callable[..., None]:
    @home_option
    @click.argument("lead_id")
    @click.option("--reason", default="", help="Why (required to dismiss).")
    @click.pass_context
    @friendly
    def cmd(ctx: click.Context, home: Path | None, lead_id: str, reason: str) -> None:
        from grotius.correlate import leads

        node = open_node(_home(ctx, home))
        new = leads.set_status(node, lead_id, status, reason)
        click.echo(f"{new['id']} is now {new['status']}")

    return cmd


leads_group.command("accept", help="Accept a lead (a new version of it, status accepted).")(_decide("accepted"))
leads_group.command("dismiss", help="Dismiss a lead with --reason.")(_decide("dismissed"))
leads_group.command("reopen", help="Put a lead back in the inbox.")(_decide("new"))


@leads_group.command("check")
@home_option
@click.argument("value")
@click.option("--kind", default=None, help="Value kind (default: recognised from the value).")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
@friendly
def check(ctx: click.Context, home: Path | None, value: str, kind: str | None, as_json: bool) -> None:
    """What the node holds for one value, warninglisted matches included."""
    from grotius.correlate.hook import check as do_check

    data = do_check(open_node(_home(ctx, home)), value, kind)
    if _out(data, as_json):
        return
    click.echo(f"{data['kind']} {data['value']}" + ("" if data["matchable"] else "  (too generic to correlate)"))
    for f in data["flags"]:
        click.echo(f"  on list: {f}")
    for m in data["matches"]:
        click.echo(f"  {m['relation']:<13} {m['held_kind']} {m['held_value']}  {m['object_ref']} ({m['source']})")
    if not data["matches"]:
        click.echo("  not held")


@leads_group.command("exclude")
@home_option
@click.argument("value")
@click.option("--list", "list_name", default="default", show_default=True)
@click.option("--kind", default=None)
@click.option("--reason", default="")
@click.option("--remove", is_flag=True, help="Take the value off the list instead.")
@click.pass_context
@friendly
def exclude(ctx: click.Context, home: Path | None, value: str, list_name: str, kind: str | None, reason: str, remove: bool) -> None:
    """Add a value (address, CIDR range, domain and its subdomains, ...) to a node exclusion
    list, then re-evaluate the leads it affects."""
    from grotius.correlate import hook, suppress

    node = open_node(_home(ctx, home))
    if remove:
        k, v = suppress.remove_exclusion(node, value, list_name=list_name, kind=kind)
    else:
        k, v = suppress.add_exclusion(node, value, list_name=list_name, kind=kind, reason=reason)
    r = hook.reevaluate(node)
    click.echo(f"{'removed' if remove else 'excluded'} {k} {v} ({list_name}); "
               f"{r['changed']} value(s) changed, {r['suppressed']} lead(s) suppressed, {r['raised']} raised")


@leads_group.command("lists")
@home_option
@click.option("--json", "as_json", is_flag=True)
@click.option("--enable", "enable", multiple=True, help="Enable a MISP warninglist by name.")
@click.option("--disable", "disable", multiple=True, help="Disable a MISP warninglist by name.")
@click.pass_context
@friendly
def lists(ctx: click.Context, home: Path | None, as_json: bool, enable: tuple[str, ...], disable: tuple[str, ...]) -> None:
    """Warninglists and exclusion lists; enabling or disabling one re-evaluates leads."""
    from grotius.correlate import hook, suppress

    node = open_node(_home(ctx, home))
    for name in enable:
        suppress.set_list_enabled(node, name, True)
    for name in disable:
        suppress.set_list_enabled(node, name, False)
    if enable or disable:
        r = hook.reevaluate(node)
        click.echo(f"{r['changed']} value(s) changed, {r['suppressed']} lead(s) suppressed, {r['raised']} raised", err=True)
    rows = suppress.list_status(node)
    if _out(rows, as_json):
        return
    for r in rows:
        click.echo(f"{'on ' if r['enabled'] else 'off'}  {r['type']:<10} {r['entries']:>9}  {r['name']}")


# `grotius demo` runs the steps areas register; the CLI imports this module, so the
# correlation step is in place whenever the demo is built from the command line.
from grotius.correlate import demo as _demo  # noqa: E402

_demo.register()
