"""Keep alerts in a Grotius node: they go through the one ingest path like any object,
so they are versioned, TLP-marked and shared under the node's agreements.

Re-running an analysis on the same input must not make new versions of the same alerts:
an alert's id already follows from its evidence, and its ``created``/``modified`` are
taken from the version the node holds when the content is the same (ingest then reports
it "unchanged"). When the content did change (other parameters, another Grotius version),
the new version keeps the held ``created``, as STIX versioning requires, and gets a new
``modified``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

import rfc8785

from ..exc import InvalidInput
from ..node import stix_now
from ..stix.grading import GROTIUS_EXTENSION_ID
from .alerts import Alert
from .export import alerts_to_stix

if TYPE_CHECKING:
    from ..ingest import Summary
    from ..store import Store

_TIMES = ("created", "modified")


def store_alerts(home: Path | None, alerts: Iterable[Alert], tlp: str | None = None) -> "Summary":
    """Store the alerts' STIX objects; the ingest summary says what was new or unchanged."""
    from ..ingest import ingest
    from ..node import Node

    node = Node.open(home)
    try:
        objs = alerts_to_stix(alerts, tlp=tlp or node.config.default_tlp, created_by_ref=node.identity_id)
        keep_held_times(node.store, objs)
        summary = ingest(node, objs, quiet=True)
    finally:
        node.close()
    if not summary.ok:
        raise InvalidInput("some alert objects were not stored", **summary.to_dict(max_errors=10))
    return summary


def keep_held_times(store: "Store", objs: list[dict[str, Any]]) -> None:
    """Give each versioned object the times of the version held if its content is the same."""
    held = _latest(store, [o["id"] for o in objs if "created" in o])  # SCOs are unversioned
    for obj in objs:
        old = held.get(obj["id"])
        if old is None:
            continue
        if _content(old) == _content(obj):
            for k in _TIMES:
                obj[k] = old.get(k, obj[k])
        else:
            obj["created"] = old.get("created", obj["created"])
            obj["modified"] = max(stix_now(), _later(old.get("modified", "")))


def _latest(store: "Store", ids: list[str], chunk: int = 500) -> dict[str, dict[str, Any]]:
    """The latest held version of each of ``ids`` that the node has (one query per chunk)."""
    from ..store.objects import loads

    out: dict[str, tuple[str, str]] = {}
    for i in range(0, len(ids), chunk):
        part = ids[i : i + chunk]
        rows = store.query(f"SELECT id, version, raw FROM objects WHERE id IN ({','.join('?' * len(part))})", part)
        for oid, version, raw in rows:
            if oid not in out or version > out[oid][0]:
                out[oid] = (version, raw)
    return {oid: loads(raw) for oid, (_, raw) in out.items()}


def _content(obj: dict[str, Any]) -> bytes:
    """What an object says apart from when and who signed it: no times, and no signature
    (the node adds it on ingest, in an extension entry of its own if there was none)."""
    body = {k: v for k, v in obj.items() if k not in _TIMES}
    exts = body.get("extensions")
    if isinstance(exts, dict) and isinstance(exts.get(GROTIUS_EXTENSION_ID), dict):
        ours = {k: v for k, v in exts[GROTIUS_EXTENSION_ID].items() if k != "signature"}
        rest = {k: v for k, v in exts.items() if k != GROTIUS_EXTENSION_ID}
        if ours != {"extension_type": "property-extension"}:
            rest[GROTIUS_EXTENSION_ID] = ours
        body.pop("extensions")
        if rest:
            body["extensions"] = rest
    return rfc8785.dumps(body)


def _later(stamp: str) -> str:
    """A millisecond after ``stamp``, so a new version sorts after the held one even if
    the clock is behind it."""
    if not stamp:
        return ""
    t = datetime.fromisoformat(stamp.replace("Z", "+00:00")) + timedelta(milliseconds=1)
    return t.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
