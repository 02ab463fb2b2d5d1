"""Dashboard counts over the latest version of every object, and recent activity."""

from __future__ import annotations

from typing import Any

from ..stix import markings
from ..store import Store
from ..store.objects import loads
from .describe import label, names_of, us_to_iso
from .search import LATEST


def counts(store: Store) -> dict[str, Any]:
    by_type = store.query(
        f"SELECT o.type, COUNT(*) FROM objects o WHERE {LATEST} GROUP BY o.type ORDER BY COUNT(*) DESC, o.type"
    )
    by_tlp = dict(store.query(f"SELECT o.tlp, COUNT(*) FROM objects o WHERE {LATEST} GROUP BY o.tlp"))
    by_creator = store.query(
        f"SELECT o.created_by_ref, COUNT(*) FROM objects o WHERE {LATEST} GROUP BY o.created_by_ref"
    )
    names = names_of(store, [c for c, _ in by_creator if c])
    orgs = [
        {"key": names[c][1] if c in names else (c or "(not stated)"), "ref": c or "", "count": int(n)}
        for c, n in by_creator
    ]
    by_source = store.query(
        f"SELECT COALESCE(o.source, ''), COUNT(*) FROM objects o WHERE {LATEST} GROUP BY COALESCE(o.source, '')"
    )
    versions_row = store.query_one("SELECT COUNT(*) FROM objects")
    return {
        "objects": sum(int(n) for _, n in by_type),
        "versions": int(versions_row[0]) if versions_row else 0,
        "by_type": [{"key": t, "count": int(n)} for t, n in by_type],
        "by_tlp": [{"key": l, "count": int(by_tlp.get(l, 0))} for l in markings.LEVELS],
        "by_org": sorted(orgs, key=lambda o: (-o["count"], o["key"])),
        "by_source": [
            {"key": s or "local", "count": int(n)} for s, n in sorted(by_source, key=lambda r: -int(r[1]))
        ],
    }


def recent(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    """The latest stored versions, newest first."""
    rows = store.query(
        "SELECT o.id, o.type, o.version, o.date_added, o.tlp, o.source, o.raw FROM objects o "
        f"ORDER BY o.date_added DESC LIMIT {int(limit)}"
    )
    return [
        {
            "id": oid, "type": typ, "name": label(loads(raw)), "version": version,
            "date_added": us_to_iso(int(added)), "tlp": tlp, "source": source,
        }
        for oid, typ, version, added, tlp, source, raw in rows
    ]
