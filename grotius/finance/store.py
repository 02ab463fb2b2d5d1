"""Keep alerts in a Grotius node: they go through the one ingest path like any object,
so they are versioned, TLP-marked and shared under the node's agreements."""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from ..exc import InvalidInput
from .alerts import Alert
from .export import alerts_to_stix


def store_alerts(home: Path | None, alerts: Iterable[Alert], tlp: str | None = None) -> int:
    from ..ingest import ingest
    from ..node import Node

    node = Node.open(home)
    objs = alerts_to_stix(alerts, tlp=tlp or node.config.default_tlp, created_by_ref=node.identity_id)
    summary = ingest(node, objs, quiet=True)
    if not summary.ok:
        raise InvalidInput("some alert objects were not stored", **summary.to_dict(max_errors=10))
    return len(objs)
