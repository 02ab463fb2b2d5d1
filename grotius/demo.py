"""`make run`: build the Operation Carillon demo nodes and serve them.

NL-POL (the Dutch police node) is served at the printed URL, US-FED beside it on the
next port. Building is idempotent: a second run reuses what the first built.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

from . import demo_data, users
from .collections import add as add_collection
from .exc import Conflict
from .ingest import ingest
from .node import Node, init

DEMO_USER = "analyst"
DEMO_PASSWORD = "carillon-demo"

#: extra demo steps areas register (sharing, correlation, finance, ...): each gets the
#: built nodes by name and returns lines to print
STEPS: list[Callable[[dict[str, Node], Path], list[str]]] = []
#: steps that need both nodes serving (exchanges over the partner channel); run after the
#: first sync, in registration order
LIVE_STEPS: list[Callable[[dict[str, Node]], list[str]]] = []


def say(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _node(base: Path, org: str, **kwargs: Any) -> Node:
    home = base / org.lower()
    if (home / "node.toml").exists():
        return Node.open(home)
    node = init(home, org, identity_id=demo_data.sid("identity", "org:" + org),
                sector=demo_data.PARTNERS[org]["sector"], **kwargs)
    try:
        users.add(node.store, DEMO_USER, DEMO_PASSWORD, "admin")
    except Conflict:
        pass
    for name, title in (("holdings", "Shared holdings"), ("vitaal", "nl-vitaal advisories"),
                        ("finance", "Financial intelligence"), ("leads", "Leads and matches")):
        try:
            add_collection(node.store, name, f"{org}: {title}")
        except Conflict:
            pass
    others = [o for o in demo_data.common() if o["id"] != node.identity_id]
    ingest(node, others, quiet=True)
    return node


def _agreements(nl: Node, us: Node, host: str, port: int) -> list[str]:
    """NL-POL and US-FED as partners of each other: each side's account for the other,
    AMBER at most, signing keys pinned, and how to reach the other node's TAXII root."""
    from .sharing import partners

    urls = {"NL-POL": f"http://{host}:{port}/taxii2/", "US-FED": f"http://{host}:{port + 1}/taxii2/"}
    lines = []
    pairs = ((nl, us, "US-FED", "NL-POL"), (us, nl, "NL-POL", "US-FED"))
    # accounts first (each side issues the other's password), then the remote ends
    issued: dict[str, str] = {}
    for here, there, other, me in pairs:
        if partners.find(here, other) is None:
            _, password = partners.add(
                here, other, read=("holdings", "leads", "finance"), write=("holdings",), tlp_max="amber",
                public_key_pem=there.public_key_pem(), identity_id=there.identity_id,
            )
            issued[f"{other}@{me}"] = password
            lines.append(f"{me}: agreement with {other} (read holdings, leads, finance; write holdings; up to AMBER)")
    for here, there, other, me in pairs:
        password = issued.get(f"{me}@{other}")
        if password is not None:
            partners.update(here, other, url=urls[other], remote_user=me, remote_password=password)
        else:
            partners.update(here, other, url=urls[other])
    return lines


def share(nodes: dict[str, Node]) -> list[str]:
    """Once both nodes serve: NL-POL pulls what US-FED may disclose to it and pushes its
    own shareable holdings; US-FED's RED informant report stays home."""
    from .sharing import audit, sync

    nl, us = nodes["NL-POL"], nodes["US-FED"]
    lines = []
    pulled = sync.pull(nl, "US-FED")
    lines.append(f"NL-POL pulled {pulled.objects} object version(s) from US-FED")
    pushed = sync.push(nl, "US-FED")
    lines.append(f"NL-POL pushed {pushed.objects} object version(s) to US-FED")
    red = us.store.query("SELECT COUNT(*) FROM objects WHERE tlp = 'red'")[0][0]
    red_at_nl = nl.store.query("SELECT COUNT(*) FROM objects WHERE tlp = 'red' AND source = 'US-FED'")[0][0]
    lines.append(f"US-FED holds {red} RED object(s); NL-POL received {red_at_nl} of them")
    for name, node in nodes.items():
        audit.checkpoint(node)
        n = node.store.query("SELECT COUNT(*) FROM audit_log")[0][0]
        lines.append(f"{name}: {n} audit entries, chain checkpoint signed")
    return lines


def build(base: Path, host: str = "127.0.0.1", port: int = 8000) -> dict[str, Node]:
    base.mkdir(parents=True, exist_ok=True)
    say(f"building demo nodes in {base}")
    nl = _node(base, "NL-POL", default_tlp="amber", communities=("nl-vitaal",))
    us = _node(base, "US-FED", default_tlp="amber")
    s = ingest(nl, demo_data.nlpol_holdings(nl.identity_id), collection="holdings", quiet=True)
    say(f"  NL-POL holdings: stored {s.stored}, unchanged {s.unchanged}, rejected {s.rejected}")
    _fail_on(s)
    # NL-NCSC's advisory reached NL-POL through the nl-vitaal community
    s = ingest(nl, demo_data.ncsc_advisory(demo_data.sid("identity", "org:NL-NCSC")), collection="vitaal",
               source="NL-NCSC", quiet=True)
    say(f"  NL-NCSC advisory at NL-POL: stored {s.stored}, unchanged {s.unchanged}, rejected {s.rejected}")
    _fail_on(s)
    s = ingest(us, demo_data.usfed_holdings(us.identity_id), collection="holdings", quiet=True)
    say(f"  US-FED holdings: stored {s.stored}, unchanged {s.unchanged}, rejected {s.rejected}")
    _fail_on(s)
    for line in _agreements(nl, us, host, port):
        say("  " + line)
    nodes = {"NL-POL": nl, "US-FED": us}
    for step in STEPS:
        for line in step(nodes, base):
            say("  " + line)
    return nodes


def _fail_on(summary: Any) -> None:
    if summary.rejected:
        raise SystemExit("demo data rejected: " + "; ".join(str(e) for e in summary.errors[:5]))


def serve_many(apps: list[tuple[Any, str, int]]) -> None:
    import uvicorn

    servers = [uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
               for app, host, port in apps]
    threads = [threading.Thread(target=s.run, daemon=True) for s in servers[1:]]
    for t in threads:
        t.start()
    servers[0].run()
    for s in servers[1:]:
        s.should_exit = True


def run_demo(base: Path, *, host: str = "127.0.0.1", port: int = 8000, serve: bool = True) -> None:
    started = time.monotonic()
    nodes = build(base.resolve(), host, port)
    say(f"demo built in {time.monotonic() - started:.1f} s")
    if not serve:
        return
    from .web.app import create_app

    url = f"http://{host}:{port}/"

    def after_start() -> None:
        _wait_for(f"http://{host}:{port + 1}/taxii2/")
        _wait_for(url + "taxii2/")
        try:
            for line in share(nodes):
                say("  " + line)
            for live in LIVE_STEPS:
                for line in live(nodes):
                    say("  " + line)
        except Exception as e:  # the demo keeps serving; the sync error is shown
            say(f"  demo sync failed: {e}")
        print(f"\nGrotius demo (Operation Carillon)\n  NL-POL node: {url}\n  US-FED node: http://{host}:{port + 1}/\n"
              f"  login: {DEMO_USER} / {DEMO_PASSWORD}\n  stop with Ctrl-C\n", flush=True)

    threading.Thread(target=after_start, daemon=True).start()
    serve_many([(create_app(nodes["NL-POL"]), host, port), (create_app(nodes["US-FED"]), host, port + 1)])


def _wait_for(url: str, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            httpx.get(url, timeout=2.0)
            return
        except httpx.HTTPError:
            time.sleep(0.2)
