"""The ingest hook (index every stored version, raise leads) and re-evaluation when
warninglists or exclusions change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from grotius.correlate import index, leads, suppress
from grotius.correlate.extract import Extraction, Mention, Unreduced, extract
from grotius.correlate.types import registry
from grotius.store.engine import Tx
from grotius.store.objects import Stored

if TYPE_CHECKING:
    from grotius.node import Node


#: name of the extraction among the per-object analyses of grotius.checkpool
ANALYSER = "correlate.extract"


def raise_flagged(node: "Node") -> bool:
    return bool(getattr(node, "correlate_raise_flagged", False))


def on_ingest(tx: Tx, node: "Node", stored: list[Stored]) -> None:
    lead_versions = [s for s in stored if s.type == leads.LEAD_TYPE]
    if lead_versions:
        leads.record(tx, lead_versions)
    objs = [s for s in stored if s.type not in leads.SKIP_TYPES]
    if not objs:
        return
    extractions = {}
    unreduced = []
    pairs = set()
    known: dict[tuple[str, str], index.Columns] = {}
    for st in objs:
        done = (st.derived or {}).get(ANALYSER)
        if done is not None:
            found, unred, columns = done
            if not found and not unred:
                continue
            ex = Extraction([Mention._make(m) for m in found], [Unreduced._make(u) for u in unred])
            for c in columns:
                known[c[:2]] = c[2:]
        else:
            ex = extract(st.obj)
        if ex.mentions:
            extractions[st.pk] = ex
            pairs.update((m.kind, m.value) for m in ex.mentions)
        unreduced.extend((st.pk, u.path, u.reason) for u in ex.unreduced)
    if unreduced:
        tx.executemany("INSERT INTO correlate_unreduced (pk, path, reason) VALUES (?, ?, ?)", unreduced)
    if not pairs:
        return
    values = index.upsert_values(tx, pairs, suppress.flagger(node), known)
    index.add_mentions(tx, [
        (values[(m.kind, m.value)].vid, pk, (st_src or ""))
        for st_src, pk, ex in ((s.source, s.pk, extractions.get(s.pk)) for s in objs) if ex
        for m in ex.mentions
    ])
    new_leads = leads.correlate(tx, node, objs, extractions, values, include_flagged=raise_flagged(node))
    if new_leads:
        from grotius.ingest import ingest

        coll = "leads" if tx.query_one("SELECT 1 FROM collections WHERE name = 'leads'") else None
        summary = ingest(node, new_leads, collection=coll, quiet=True)
        if summary.errors:
            raise summary.errors[0]


def reevaluate(node: "Node") -> dict[str, int]:
    """Recompute flags of every indexed value; leads on newly flagged values are suppressed,
    values no longer flagged are matched again. Only changed values cause work on leads."""
    fl = suppress.flagger(node)
    flagged_now, cleared = [], []
    with node.store.transaction() as tx:
        rows = tx.query("SELECT vid, kind, value, flags FROM correlate_values")
        updates = []
        for vid, kind, value, flags in rows:
            new = "\n".join(fl.flags(kind, value)) or None
            if new != flags:
                updates.append((new, vid))
                (flagged_now if new and not flags else cleared if flags and not new else flagged_now).append(vid)
        tx.executemany("UPDATE correlate_values SET flags = ? WHERE vid = ?", updates)
        suppressed = leads.suppress_leads(node, tx, flagged_now) if flagged_now else 0
        raised = _rematch(tx, node, cleared) if cleared else 0
    return {"values": len(rows), "changed": len(updates), "suppressed": suppressed, "raised": raised}


def _rematch(tx: Tx, node: "Node", vids: list[int]) -> int:
    """Match again the latest object versions that mention values that are no longer flagged."""
    import orjson

    pks: set[int] = set()
    for chunk in index._chunks(vids):
        pks.update(r[0] for r in tx.query(f"SELECT pk FROM correlate_mentions WHERE vid IN ({','.join('?' * len(chunk))})", chunk))
    stored = []
    for chunk in index._chunks(sorted(pks)):
        for pk, oid, otype, version, date_added, tlp, source, raw in tx.query(
            f"SELECT pk, id, type, version, date_added, tlp, source, raw FROM objects WHERE pk IN ({','.join('?' * len(chunk))}) ORDER BY pk",
            chunk,
        ):
            stored.append(Stored(pk, oid, otype, version, date_added, tlp, source, None, orjson.loads(raw)))
    extractions = {s.pk: extract(s.obj) for s in stored}
    pairs = {(m.kind, m.value) for ex in extractions.values() for m in ex.mentions}
    values = index.upsert_values(tx, pairs, suppress.flagger(node))
    made = leads.correlate(tx, node, stored, extractions, values, include_flagged=raise_flagged(node))
    if made:
        from grotius.ingest import ingest

        ingest(node, made, quiet=True)
    return len(made)


def check(node: "Node", raw: str, kind: str | None = None) -> dict[str, Any]:
    """What the node holds for one value, flagged matches included ("unless asked")."""
    if kind:
        clean = registry.clean(kind, raw)
    else:
        found = registry.detect_clean(raw)
        if not found:
            from grotius.exc import InvalidInput

            raise InvalidInput(f"cannot tell what kind of value {raw!r} is", value=raw)
        kind, clean = found
    fl = suppress.flagger(node).flags(kind, clean)
    out: dict[str, Any] = {"kind": kind, "value": clean, "matchable": registry.matchable(kind, clean), "flags": fl, "matches": []}
    with node.store.transaction() as tx:
        rkey, lo, hi, plen = index.derived(kind, clean)
        probe = index.Value(-1, kind, clean, tuple(fl))
        row = tx.query_one("SELECT vid, flags FROM correlate_values WHERE kind = ? AND value = ?", (kind, clean))
        if row:
            probe = index.Value(row[0], kind, clean, tuple(row[1].split("\n")) if row[1] else ())
        for m in index.related(tx, [probe]):
            for pk, src, oid, otype in tx.query(
                "SELECT m.pk, m.src, o.id, o.type FROM correlate_mentions m JOIN objects o ON o.pk = m.pk WHERE m.vid = ? LIMIT 100",
                (m.held.vid,),
            ):
                out["matches"].append({"relation": m.relation, "held_kind": m.held.kind, "held_value": m.held.value,
                                       "flags": list(m.held.flags), "object_ref": oid, "object_type": otype,
                                       "source": src or node.config.org})
    return out


Analysed = tuple[list[tuple[str, str, str]], list[tuple[str, str]], list[tuple[Any, ...]]]


def analyse(obj: dict[str, Any]) -> Analysed:
    """What the ingest worker computes for the hook: the object's values (mentions and
    what could not be reduced) and, per value, its index columns and MISP list names
    (a third of the hook's work otherwise). Plain tuples: they cross a process boundary,
    where named tuples and dataclasses cost ten times more to unpickle (measured) and
    marshal refuses them (grotius.checkpool)."""
    ex = extract(obj)
    if not ex.mentions:  # about half the objects: no comprehensions to run
        return [], [tuple(u) for u in ex.unreduced] if ex.unreduced else [], []  # type: ignore[misc]
    return ([tuple(m) for m in ex.mentions], [tuple(u) for u in ex.unreduced],  # type: ignore[misc]
            [(m.kind, m.value, *index.columns(m.kind, m.value)) for m in ex.mentions])


def register() -> None:
    from grotius import checkpool, ingest

    if on_ingest not in ingest.HOOKS:
        ingest.HOOKS.append(on_ingest)
    checkpool.ANALYSERS[ANALYSER] = analyse
