"""CLI: `grotius sync`, `grotius audit`, `grotius verify`, `grotius key`."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from ..cli_common import friendly, home_option, open_node


def _checkpoint(node: Any) -> None:
    from .audit import checkpoint

    checkpoint(node)


# -- audit ------------------------------------------------------------------------------


@click.group()
def audit() -> None:
    """The node's append-only, hash-chained audit log."""


@audit.command("verify")
@home_option
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@friendly
def audit_verify(home: Path | None, as_json: bool) -> None:
    """Check the whole chain and the signed checkpoints; exit 1 on any tampering."""
    from . import audit as a

    node = open_node(home)
    rep = a.verify_node(node)
    if as_json:
        click.echo(json.dumps(rep.to_dict(), indent=2))
    else:
        for p in rep.problems:
            click.echo(f"{p.kind.upper()}: {p.message}")
        state = "OK" if rep.ok else f"FAILED ({len(rep.problems)} problems)"
        if rep.last_checkpoint_seq is None:
            anchors = "no signed checkpoint yet"
        else:
            anchors = (f"{rep.checkpoints} signed checkpoint{'' if rep.checkpoints == 1 else 's'} "
                       f"(last at entry {rep.last_checkpoint_seq})")
        click.echo(f"audit log {state}: {rep.entries} entries, head {rep.head_seq}, {anchors}")
    if rep.ok:
        a.checkpoint(node)  # a verified head becomes the next anchor
    sys.exit(0 if rep.ok else 1)


@audit.command("list")
@home_option
@click.option("--partner", help="Only entries about this partner.")
@click.option("--object", "object_id", help="Only entries naming this object id.")
@click.option("--action", help="Only this action (disclose, write, partner.add, ...).")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 100000))
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@friendly
def audit_list(home: Path | None, partner: str | None, object_id: str | None, action: str | None,
               limit: int, as_json: bool) -> None:
    """Show audit entries, newest first."""
    from . import audit as a

    node = open_node(home)
    for e in a.entries(node.store, partner=partner, object_id=object_id, action=action, limit=limit):
        if as_json:
            click.echo(json.dumps(e.to_dict()))
            continue
        objs = f" {len(e.objects)} object version(s)" if e.objects else ""
        extra = "".join(f" {k}={v}" for k, v in (("partner", e.partner), ("agreement", e.agreement),
                                                  ("request", e.request_id)) if v)
        click.echo(f"{e.seq:>7} {e.time} {e.action:<16} {e.actor}{extra}{objs}")


# -- provenance -------------------------------------------------------------------------


@click.command("verify")
@home_option
@click.option("--key", "keys", multiple=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Ed25519 public key (PEM) to accept, besides the node's pinned keys (repeatable).")
@click.option("--require-signed", is_flag=True, help="Also fail when an object is not signed.")
@click.argument("file", type=click.File("rb"))
@friendly
def verify(home: Path | None, keys: tuple[Path, ...], require_signed: bool, file: Any) -> None:
    """Check the provenance signatures of every object in a bundle FILE (- for stdin)."""
    from . import signing

    ring = signing.Keyring()
    if home or os.environ.get("GROTIUS_HOME"):
        ring = signing.keyring(open_node(home))
    signing.keys_from_files(keys, ring)
    results = signing.verify_file(file.read(), ring)
    counts: dict[str, int] = {}
    for pos, obj, res in results:
        counts[res.status] = counts.get(res.status, 0) + 1
        who = ring.names.get(res.signer or "", "")
        oid = obj.get("id") if obj else f"object {pos}"
        if res.status == signing.VALID:
            click.echo(f"valid       {oid} signed by {res.signer}{f' ({who})' if who else ''}")
        elif res.status == signing.UNSIGNED:
            click.echo(f"unsigned    {oid}")
        else:
            click.echo(f"{res.status:<11} {res.message}")
    click.echo("; ".join(f"{v} {k}" for k, v in sorted(counts.items())) or "no objects", err=True)
    bad = counts.get(signing.INVALID, 0) + counts.get(signing.UNKNOWN_KEY, 0)
    if require_signed:
        bad += counts.get(signing.UNSIGNED, 0)
    sys.exit(1 if bad or not results else 0)


@click.group()
def key() -> None:
    """The node's signing key and pinned originator keys."""


@key.command("show")
@home_option
@friendly
def key_show(home: Path | None) -> None:
    """Print this node's identity, key id and public key (give these to partners)."""
    from .signing import key_id

    node = open_node(home)
    click.echo(f"identity: {node.identity_id} ({node.config.org})")
    click.echo(f"key id:   {key_id(node.public_key)}")
    click.echo(node.public_key_pem().rstrip())


@key.command("pin")
@home_option
@click.argument("identity_id")
@click.argument("pem_file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--name", default="", help="Organisation name to show.")
@friendly
def key_pin(home: Path | None, identity_id: str, pem_file: Path, name: str) -> None:
    """Pin the public key of an originator whose objects reach this node via partners."""
    from .signing import pin

    node = open_node(home)
    kid = pin(node.store, identity_id, pem_file.read_text("utf-8"), name)
    _checkpoint(node)
    click.echo(f"pinned {kid} for {identity_id}")


# -- sync -------------------------------------------------------------------------------


@click.group()
def sync() -> None:
    """Pull from and push to partners' TAXII 2.1 servers."""


def _mapping(values: tuple[str, ...]) -> dict[str, str]:
    out: dict[str, str] = {}
    for v in values:
        remote, sep, local = v.partition("=")
        if not sep or not remote.strip() or not local.strip():
            raise click.BadParameter(f"{v!r} must be REMOTE_COLLECTION=LOCAL_COLLECTION", param_hint="--map")
        out[remote.strip()] = local.strip()
    return out


def _run_sync(home: Path | None, partner: str, direction: str, limit: int,
              only: tuple[str, ...], maps: tuple[str, ...], from_start: bool) -> None:
    from . import sync as s
    from .audit import acting_as, cli_actor

    node = open_node(home)
    with acting_as(cli_actor()):
        if from_start:
            s.reset_cursors(node, partner, direction)
        fn = s.pull if direction == "pull" else s.push
        res = fn(node, partner, page_size=limit, progress=True, collections=list(only) or None,
                 mapping=_mapping(maps))
    _checkpoint(node)
    for line in res.lines():
        click.echo(line)
    sys.exit(0 if res.ok else 1)


def _sync_options(fn: Any) -> Any:
    fn = click.option("--from-start", is_flag=True, help="Forget the cursors and go through everything again.")(fn)
    fn = click.option("--map", "maps", multiple=True, metavar="REMOTE=LOCAL",
                      help="Local collection for a remote collection id or alias (repeatable).")(fn)
    fn = click.option("--collection", "only", multiple=True,
                      help="Only this remote collection id or alias (repeatable).")(fn)
    return fn


@sync.command("pull")
@home_option
@click.argument("partner")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100000),
              help="Objects per TAXII page.")
@_sync_options
@friendly
def sync_pull(home: Path | None, partner: str, limit: int, only: tuple[str, ...], maps: tuple[str, ...],
              from_start: bool) -> None:
    """Fetch new object versions from PARTNER's collections the agreement names."""
    _run_sync(home, partner, "pull", limit, only, maps, from_start)


@sync.command("push")
@home_option
@click.argument("partner")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100000),
              help="Objects per TAXII POST.")
@_sync_options
@friendly
def sync_push(home: Path | None, partner: str, limit: int, only: tuple[str, ...], maps: tuple[str, ...],
              from_start: bool) -> None:
    """Send PARTNER the new object versions the agreement allows."""
    _run_sync(home, partner, "push", limit, only, maps, from_start)


@sync.command("schedule")
@home_option
@click.argument("partner")
@click.option("--every", type=int, help="Seconds between syncs inside `grotius serve`.")
@click.option("--off", is_flag=True, help="Stop scheduled syncs with PARTNER.")
@click.option("--direction", "directions", multiple=True, type=click.Choice(["pull", "push"]),
              help="Which way (default both; repeatable).")
@friendly
def sync_schedule(home: Path | None, partner: str, every: int | None, off: bool,
                  directions: tuple[str, ...]) -> None:
    """Sync with PARTNER every N seconds while `grotius serve` runs."""
    from . import sync as s

    if off == (every is not None):
        raise click.UsageError("give either --every SECONDS or --off")
    node = open_node(home)
    s.set_schedule(node, partner, None if off else every, directions or ("pull", "push"))
    _checkpoint(node)
    click.echo(f"{partner}: " + ("no scheduled sync" if off else
                                 f"{'+'.join(directions or ('pull', 'push'))} every {every} s"))


@sync.command("status")
@home_option
@click.option("--partner", help="Only this partner.")
@friendly
def sync_status(home: Path | None, partner: str | None) -> None:
    """Schedules, cursors and recent sync runs."""
    import time as _t

    from . import sync as s

    node = open_node(home)
    for name, every, dirs, due in s.schedules(node):
        if partner in (None, name):
            click.echo(f"schedule {name}: {'+'.join(dirs)} every {every} s")
    for r in node.store.query("SELECT partner, collection, direction, cursor FROM sync_cursors ORDER BY partner"):
        if partner in (None, r[0]):
            click.echo(f"cursor   {r[0]} {r[2]} {r[1]}: {r[3]}")
    for run in s.runs(node, partner, limit=20):
        when = _t.strftime("%Y-%m-%d %H:%M:%S", _t.gmtime(run["started"]))
        state = "running" if run["finished"] is None else ("failed: " + run["error"] if run["error"] else "ok")
        click.echo(f"run      {when}Z {run['partner']} {run['direction']} {run['objects']} objects, {state}")
