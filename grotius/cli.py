"""The `grotius` command line: a thin layer over the library.

Errors the library raises on purpose are printed as one line naming what was wrong and
where, with exit status 2 (usage/input) or 1 (other); never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from . import __version__
from .cli_common import friendly, home_option, open_node


@click.group()
@click.version_option(__version__, prog_name="grotius")
def main() -> None:
    """Grotius: trusted cross-border security cooperation on STIX 2.1 and TAXII 2.1."""
    from .sharing.audit import cli_actor, set_default_actor

    set_default_actor(cli_actor())  # audit entries name who ran the command


@main.command()
@home_option
@click.option("--org", required=True, help="Name of the organisation this node belongs to.")
@click.option("--default-tlp", default="amber", show_default=True, help="TLP for objects without one.")
@click.option("--community", "communities", multiple=True, help="Community this node belongs to (repeatable).")
@click.option("--database-url", default="", help="postgresql://... (default: SQLite in the home).")
@friendly
def init(home: Path | None, org: str, default_tlp: str, communities: tuple[str, ...], database_url: str) -> None:
    """Create a node: config, STIX identity, Ed25519 signing key, database."""
    from .node import init as do_init

    node = do_init(home, org, default_tlp=default_tlp, communities=communities, database_url=database_url)
    click.echo(f"node for {node.config.org} created at {node.home}")
    click.echo(f"identity: {node.identity_id}")
    click.echo(f"database: {node.store.dialect}")


@main.command("import")
@home_option
@click.argument("file", type=click.File("rb"))
@click.option("--collection", help="Also add the objects to this TAXII collection.")
@click.option("--allow-dangling", is_flag=True, help="Accept relationships and sightings whose ends are not held.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@friendly
def import_(home: Path | None, file: Any, collection: str | None, allow_dangling: bool, as_json: bool) -> None:
    """Validate and store STIX 2.1 objects from FILE (bundle, JSON array or JSON lines; - for stdin)."""
    from .ingest import ingest, read

    node = open_node(home)
    items = read(file.read())
    summary = ingest(node, items, collection=collection, strict_refs=not allow_dangling, progress=True)
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
    else:
        for err in summary.errors[:200]:
            click.echo(f"rejected: {err}", err=True)
        if len(summary.errors) > 200:
            click.echo(f"... and {len(summary.errors) - 200} more rejected", err=True)
        click.echo(f"stored {summary.stored}, unchanged {summary.unchanged}, rejected {summary.rejected}")
    sys.exit(0 if summary.ok else 1)


@main.command()
@home_option
@click.option("--type", "types", multiple=True, help="Only this STIX type (repeatable).")
@click.option("--since", help="Only versions added after this RFC 3339 timestamp.")
@click.option("--tlp-max", help="Highest TLP to include (CLEAR, GREEN, AMBER, AMBER+STRICT, RED).")
@click.option("--latest", is_flag=True, help="Only the latest version of each object.")
@click.option("--grade-tags", is_flag=True, help="Add Admiralty grades as MISP admiralty-scale tags (labels).")
@click.option("-o", "--output", type=click.File("wb"), default="-", help="Output file (default stdout).")
@friendly
def export(home: Path | None, types: tuple[str, ...], since: str | None, tlp_max: str | None,
           latest: bool, grade_tags: bool, output: Any) -> None:
    """Write stored objects as a STIX 2.1 bundle."""
    from .export import parse_since, write_bundle
    from .stix import markings

    node = open_node(home)
    n = write_bundle(
        node.store, output, types=types, since_us=parse_since(since) if since else None,
        tlp_max=markings.level(tlp_max) if tlp_max else None, latest_only=latest,
        grade_tags=grade_tags,
    )
    click.echo(f"exported {n} objects", err=True)


@main.command()
@home_option
@click.argument("object_id")
@click.argument("grade")
@click.option("--note", default="", help="Why this grade.")
@friendly
def grade(home: Path | None, object_id: str, grade: str, note: str) -> None:
    """Attach an Admiralty grade (e.g. B2) to a held object."""
    from .stix.grading import set_grade

    node = open_node(home)
    g = set_grade(node, object_id, grade, note=note)
    click.echo(f"{object_id}: {g} ({g.label}); STIX confidence {g.confidence}")


@main.group()
def user() -> None:
    """The node's own user accounts."""


@user.command("add")
@home_option
@click.argument("username")
@click.option("--role", type=click.Choice(["analyst", "admin"]), default="analyst", show_default=True)
@click.password_option(envvar="GROTIUS_PASSWORD")
@friendly
def user_add(home: Path | None, username: str, role: str, password: str) -> None:
    """Create a user who can log in to the web UI and REST API."""
    from . import users

    u = users.add(open_node(home).store, username, password, role)
    click.echo(f"user {u.username} ({u.role}) created")


@main.group()
def collection() -> None:
    """TAXII collections of this node."""


@collection.command("add")
@home_option
@click.argument("name")
@click.option("--title", help="Human title (default: the name).")
@click.option("--description", default="")
@friendly
def collection_add(home: Path | None, name: str, title: str | None, description: str) -> None:
    """Create a collection."""
    from .collections import add

    c = add(open_node(home).store, name, title or name, description)
    click.echo(f"collection {c['name']} ({c['id']}) created")


@collection.command("list")
@home_option
@friendly
def collection_list(home: Path | None) -> None:
    """List collections with their object counts."""
    from .collections import list_all

    for c in list_all(open_node(home).store):
        click.echo(f"{c['name']}\t{c['id']}\t{c['count']} objects\t{c['title']}")


@main.command()
@home_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@friendly
def serve(home: Path | None, host: str, port: int) -> None:
    """Serve the web UI, REST API and TAXII 2.1."""
    import uvicorn

    from .web.app import create_app

    node = open_node(home)
    app = create_app(node)
    click.echo(f"Grotius node {node.config.org} at http://{host}:{port}/", err=True)
    uvicorn.run(app, host=host, port=port, log_level="warning")


@main.command()
@click.option("--dir", "base", type=click.Path(file_okay=False, path_type=Path), default=Path("var/demo"), show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--no-serve", is_flag=True, help="Only build the demo nodes.")
@friendly
def demo(base: Path, host: str, port: int, no_serve: bool) -> None:
    """Build the Operation Carillon demo nodes and serve the Dutch police node."""
    from .demo import run_demo

    run_demo(base, host=host, port=port, serve=not no_serve)


# area commands
from .matching import commands as _matching_commands  # noqa: E402
main.add_command(_matching_commands.match)
main.add_command(_matching_commands.match_budget)
from .matching.entities_commands import resolve_cmd as _resolve_cmd  # noqa: E402
main.add_command(_resolve_cmd)
from .matching.fuzzy_commands import match_key as _match_key  # noqa: E402
main.add_command(_match_key)
from .matching.rfi_commands import rfi as _rfi_group  # noqa: E402
main.add_command(_rfi_group)
from .finance.commands import finance as _finance_group  # noqa: E402
main.add_command(_finance_group)
from .sharing import commands as _sharing_commands  # noqa: E402
main.add_command(_sharing_commands.partner)
from .correlate import commands as _correlate_commands  # noqa: E402
main.add_command(_correlate_commands.leads_group)
from .sharing import sync_commands as _sharing_sync  # noqa: E402
main.add_command(_sharing_sync.sync)
main.add_command(_sharing_sync.audit)
main.add_command(_sharing_sync.verify)
main.add_command(_sharing_sync.key)
