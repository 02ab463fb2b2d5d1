"""`grotius partner ...`: partner organisations, their accounts and agreements."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from ..cli_common import friendly, home_option, open_node


def _split(values: tuple[str, ...]) -> list[str]:
    return [v.strip() for value in values for v in value.split(",") if v.strip()]


@click.group()
def partner() -> None:
    """Partner organisations and this node's agreements with them."""


def _describe(p: Any) -> str:
    lines = [
        f"partner      {p.name}{'  (disabled)' if p.disabled else ''}",
        f"agreement    {p.agreement_id}",
        f"read         {', '.join(p.read) or '-'}",
        f"write        {', '.join(p.write) or '-'}",
        f"tlp max      TLP:{p.tlp_max.upper()}",
        f"communities  {', '.join(p.communities) or '-'}",
        f"identity     {p.identity_id or '-'}",
        f"signing key  {'pinned' if p.public_key_pem else '-'}",
        f"remote node  {p.url or '-'}" + (f" (as {p.remote_user})" if p.remote_user else ""),
    ]
    return "\n".join(lines)


@partner.command("add")
@home_option
@click.argument("name")
@click.option("--read", "read", multiple=True, help="Collections the partner may read (comma-separated, repeatable).")
@click.option("--write", "write", multiple=True, help="Collections the partner may add to.")
@click.option("--tlp-max", default="clear", show_default=True, help="Highest TLP the partner may receive.")
@click.option("--community", "communities", multiple=True, help="Community the partner belongs to (repeatable).")
@click.option("--public-key", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="The partner's Ed25519 public key (PEM) to pin for its signatures.")
@click.option("--identity", "identity_id", help="The partner organisation's STIX identity id.")
@click.option("--url", help="TAXII discovery URL of the partner's own node (for sync and matching).")
@click.option("--remote-user", help="User name this node uses at the partner's node.")
@click.option("--remote-password", envvar="GROTIUS_REMOTE_PASSWORD", help="Password this node uses there.")
@click.option("--json", "as_json", is_flag=True, help='Print {"username": ..., "password": ...} only.')
@friendly
def partner_add(home: Path | None, name: str, read: tuple[str, ...], write: tuple[str, ...],
                tlp_max: str, communities: tuple[str, ...], public_key: Path | None,
                identity_id: str | None, url: str | None, remote_user: str | None,
                remote_password: str | None, as_json: bool) -> None:
    """Create partner NAME, its account and its agreement. The password is printed once."""
    from . import partners

    node = open_node(home)
    p, password = partners.add(
        node, name, read=_split(read), write=_split(write), tlp_max=tlp_max,
        communities=_split(communities),
        public_key_pem=public_key.read_text("utf-8") if public_key else None,
        identity_id=identity_id, url=url, remote_user=remote_user, remote_password=remote_password,
    )
    if as_json:
        click.echo(json.dumps({"username": p.name, "password": password}))
        return
    click.echo(_describe(p))
    click.echo("")
    click.echo(f"username     {p.name}")
    click.echo(f"password     {password}")
    click.echo("(shown once: HTTP Basic with this user name, or the password alone as a Bearer token)")


@partner.command("update")
@home_option
@click.argument("name")
@click.option("--read", "read", multiple=True, help="Replace the readable collections.")
@click.option("--write", "write", multiple=True, help="Replace the writable collections.")
@click.option("--tlp-max", help="New highest TLP.")
@click.option("--community", "communities", multiple=True, help="Replace the communities.")
@click.option("--public-key", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--identity", "identity_id")
@click.option("--url")
@click.option("--remote-user")
@click.option("--remote-password", envvar="GROTIUS_REMOTE_PASSWORD")
@click.option("--disable/--enable", default=None, help="Suspend or resume the agreement.")
@click.option("--new-password", is_flag=True, help="Issue a new account password (printed once).")
@friendly
def partner_update(home: Path | None, name: str, read: tuple[str, ...], write: tuple[str, ...],
                   tlp_max: str | None, communities: tuple[str, ...], public_key: Path | None,
                   identity_id: str | None, url: str | None, remote_user: str | None,
                   remote_password: str | None, disable: bool | None, new_password: bool) -> None:
    """Change partner NAME's agreement (a new agreement version, audited)."""
    from . import partners

    node = open_node(home)
    kw: dict[str, Any] = {}
    if read:
        kw["read"] = _split(read)
    if write:
        kw["write"] = _split(write)
    if tlp_max:
        kw["tlp_max"] = tlp_max
    if communities:
        kw["communities"] = _split(communities)
    if public_key:
        kw["public_key_pem"] = public_key.read_text("utf-8")
    for key, value in (("identity_id", identity_id), ("url", url), ("remote_user", remote_user),
                       ("remote_password", remote_password)):
        if value is not None:
            kw[key] = value
    if disable is not None:
        kw["disabled"] = disable
    p = partners.update(node, name, **kw)
    click.echo(_describe(p))
    if new_password:
        click.echo(f"password     {partners.reset_password(node, name)}  (shown once)")


@partner.command("list")
@home_option
@click.option("--json", "as_json", is_flag=True)
@friendly
def partner_list(home: Path | None, as_json: bool) -> None:
    """List partners and their agreements."""
    from . import partners

    found = partners.list_all(open_node(home))
    if as_json:
        click.echo(json.dumps([p.to_dict() for p in found]))
        return
    for p in found:
        click.echo(
            f"{p.name}\tTLP:{p.tlp_max.upper()}\tread={','.join(p.read) or '-'}\t"
            f"write={','.join(p.write) or '-'}\tcommunities={','.join(p.communities) or '-'}"
            + ("\tdisabled" if p.disabled else "")
        )


@partner.command("show")
@home_option
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@friendly
def partner_show(home: Path | None, name: str, as_json: bool) -> None:
    """Show one partner's agreement."""
    from . import partners

    p = partners.get(open_node(home), name)
    click.echo(json.dumps(p.to_dict()) if as_json else _describe(p))
