"""Dashboard counts over the latest version of every object, and recent activity."""

from __future__ import annotations

from typing import Any

from ..stix import markings
from ..store import Store
from ..store.objects import loads
from .describe import label, names_of, us_to_iso


# (store url, node clock) -> counts: the clock moves on every stored version, so a cached
# answer is exact until the next write
_cache: dict[str, tuple[int, dict[str, Any]]] = {}


#: the dashboard's four breakdowns: each column has an index that leads with it
_COLUMNS = ("type", "tlp", "created_by_ref", "source")


def _latest_by_column(store: Store) -> list[dict[Any, int]]:
    """Per column of :data:`_COLUMNS`, value -> count over the latest version of every
    object (source None and '' both local).

    Every version is counted per column from that column's index (a covering scan, no
    table read) and the superseded versions are subtracted: one scan of the (id, version)
    index and a row read for each superseded version only. Testing "is there a newer
    version?" row by row costs a B-tree probe per row instead, several times slower on a
    large store.
    """
    out: list[dict[Any, int]] = []
    for col in _COLUMNS:
        counts: dict[Any, int] = {}
        for value, n in store.query(f"SELECT {col}, COUNT(*) FROM objects GROUP BY {col}"):
            key = (value or "") if col == "source" else value
            counts[key] = counts.get(key, 0) + int(n)
        out.append(counts)
    superseded = store.query(
        "SELECT o.type, o.tlp, o.created_by_ref, o.source, COUNT(*) FROM objects o JOIN "
        "(SELECT id, MAX(version) AS v FROM objects GROUP BY id HAVING COUNT(*) > 1) m "
        "ON o.id = m.id AND o.version < m.v GROUP BY o.type, o.tlp, o.created_by_ref, o.source"
    )
    for *values, n in superseded:
        values[3] = values[3] or ""
        for counts, value in zip(out, values):
            counts[value] -= int(n)
    return [{k: n for k, n in counts.items() if n > 0} for counts in out]


def counts(store: Store) -> dict[str, Any]:
    clock_row = store.query_one("SELECT last_us FROM node_clock WHERE id = 1")
    clock = int(clock_row[0]) if clock_row else -1
    hit = _cache.get(store.url)
    if hit is not None and hit[0] == clock:
        return hit[1]
    by_type, by_tlp, by_creator, by_source = _latest_by_column(store)
    names = names_of(store, [c for c in by_creator if c])
    orgs = [
        {"key": names[c][1] if c in names else (c or "(not stated)"), "ref": c or "", "count": n}
        for c, n in by_creator.items()
    ]
    versions_row = store.query_one("SELECT COUNT(*) FROM objects")
    out = {
        "objects": sum(by_type.values()),
        "versions": int(versions_row[0]) if versions_row else 0,
        "by_type": [{"key": t, "count": n} for t, n in sorted(by_type.items(), key=lambda kv: (-kv[1], kv[0]))],
        "by_tlp": [{"key": l, "count": by_tlp.get(l, 0)} for l in markings.LEVELS],
        "by_org": sorted(orgs, key=lambda o: (-o["count"], o["key"])),
        "by_source": [
            {"key": s or "local", "count": n} for s, n in sorted(by_source.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    }
    _cache[store.url] = (clock, out)
    return out


def recent(store: Store, limit: int = 20) -> list[dict[str, Any]]:
    """The latest stored versions, newest first."""
    rows = store.query(
        "SELECT o.id, o.type, o.version, o.date_added, o.tlp, o.source, o.raw FROM objects o "
        f"ORDER BY o.pk DESC LIMIT {int(limit)}"  # pk == date_added, and pk is the table's order
    )
    return [
        {
            "id": oid, "type": typ, "name": label(loads(raw)), "version": version,
            "date_added": us_to_iso(int(added)), "tlp": tlp, "source": source,
        }
        for oid, typ, version, added, tlp, source, raw in rows
    ]
