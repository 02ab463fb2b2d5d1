"""Object versions in the store: put (idempotent, every version kept), get, list.

Every version (id + modified) is a row; ``raw`` holds the object as imported so export
gives it back unchanged. ``date_added`` comes from the node clock: unique and strictly
increasing per node, so TAXII paging can use it as a cursor. It doubles as the row's
primary key, which saves a lookup per insert.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Iterator, Sequence

import orjson

from .. import checkpool
from ..exc import Conflict, NotFound
from ..stix import markings
from .engine import Row, Store, Tx

# Top-level references that get their own indexes (created_by_ref, markings) are not
# repeated in object_refs.
_SKIP_REFS = frozenset({"created_by_ref", "object_marking_refs"})


def norm_ts(value: str) -> str:
    """RFC 3339 timestamp to a fixed-width, sortable form with microseconds.

    The input was validated; this only pads or truncates the fraction.
    """
    if not value:
        return ""
    base, _, frac = value.rstrip("Zz").partition(".")
    return f"{base}.{(frac + '000000')[:6]}Z"


def version_of(obj: dict[str, Any]) -> str:
    v = obj.get("modified") or obj.get("created")
    return norm_ts(v) if isinstance(v, str) else ""


#: property name -> 1 (holds one reference), 2 (a list of them) or 0; the same few dozen
#: names recur in every object, and one probe costs less than two endswith calls
_REF_KIND: dict[str, int] = {}


def _ref_kind(key: str) -> int:
    kind = 0 if key in _SKIP_REFS else 1 if key.endswith("_ref") else 2 if key.endswith("_refs") else 0
    if len(_REF_KIND) < 4096:
        _REF_KIND[key] = kind
    return kind


def refs_of(obj: dict[str, Any]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    kinds = _REF_KIND
    for key, value in obj.items():
        kind = kinds.get(key)
        if kind is None:
            kind = _ref_kind(key)
        if kind == 1:
            if isinstance(value, str):
                out.append((key, value))
        elif kind == 2 and isinstance(value, list):
            out.extend((key, v) for v in value if isinstance(v, str))
    return out


Parts = tuple[str, str, str, str, list[tuple[str, str]], list[str], "str | None"]

#: name of :func:`row_parts` among the per-object analyses of grotius.checkpool
ROW = "store.row"


def row_parts(obj: dict[str, Any]) -> Parts:
    """What a stored row derives from a valid object alone: (raw, version, created,
    modified, references, marking ids, TLP level or None for the node default).
    Computed by the ingest worker for large inputs."""
    mids = list(dict.fromkeys(obj.get("object_marking_refs") or ()))
    for g in obj.get("granular_markings") or ():
        if isinstance(g, dict) and "marking_ref" in g and g["marking_ref"] not in mids:
            mids.append(g["marking_ref"])
    created, modified = obj.get("created") or "", obj.get("modified") or ""
    mod = norm_ts(modified)
    # the same string object where the values agree (most objects): one normalisation,
    # and the worker's results carry it once
    cre = mod if created == modified else norm_ts(created)
    version = mod if modified and isinstance(modified, str) else version_of(obj)
    return (dumps(obj), version, cre, mod, refs_of(obj), mids, markings.marked_level(obj))


checkpool.ANALYSERS[ROW] = row_parts


@dataclass(slots=True)
class Stored:
    """One object version as it is (now) in the store."""

    pk: int
    id: str
    type: str
    version: str
    date_added: int
    tlp: str
    source: str | None
    collection: str | None
    obj: dict[str, Any]
    #: "stored" (new version), "unchanged" (already held), "added" (held, newly in collection)
    status: str = "stored"
    raw: str = field(default="", repr=False)
    #: per-object analysis done while checking (see grotius.checkpool), for ingest hooks
    derived: dict[str, Any] | None = field(default=None, repr=False, compare=False)


def now_us() -> int:
    return time.time_ns() // 1000


def next_times(tx: Tx, n: int) -> list[int]:
    """Reserve n strictly increasing microsecond stamps from the node clock."""
    if n <= 0:
        return []
    lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""
    row = tx.query_one("SELECT last_us FROM node_clock WHERE id = 1" + lock)
    last = int(row[0]) if row else 0
    start = max(now_us(), last + 1)
    tx.execute("UPDATE node_clock SET last_us = ? WHERE id = 1", (start + n - 1,))
    return list(range(start, start + n))


def dumps(obj: dict[str, Any]) -> str:
    try:
        return orjson.dumps(obj).decode()
    except TypeError:
        # integers beyond 64 bits: orjson refuses them, the standard library does not
        import json

        return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def loads(raw: str) -> dict[str, Any]:
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        import json

        return json.loads(raw)


def collection_id(tx: Tx | Store, name: str) -> int:
    row = tx.query_one("SELECT cid FROM collections WHERE name = ?", (name,))
    if row is None:
        raise NotFound(f"no collection named {name!r}", collection=name)
    return int(row[0])


def put(
    tx: Tx,
    objects: Sequence[dict[str, Any]],
    *,
    default_tlp: str,
    collection: str | None = None,
    source: str | None = None,
    derived: Sequence[dict[str, Any] | None] | None = None,
) -> list[Stored | Conflict]:
    """Store validated objects; one result per input object, in order.

    A version already held with the same content is "unchanged"; with different content
    it is a Conflict (the producer should have changed ``modified``) and nothing of it
    is written. ``derived`` may carry each object's :func:`row_parts` (under :data:`ROW`)
    computed elsewhere.
    """
    cid = collection_id(tx, collection) if collection else None
    if derived is None:
        parts = [row_parts(o) for o in objects]
    else:
        parts = [d[ROW] if d and ROW in d else row_parts(o) for o, d in zip(objects, derived)]
    held: dict[tuple[str, str], Row] = {}
    ids = sorted({o["id"] for o in objects})
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        marks = ",".join("?" * len(chunk))
        for row in tx.query(
            f"SELECT pk, id, version, raw, date_added, tlp, source FROM objects WHERE id IN ({marks})",
            chunk,
        ):
            held[(row[1], row[2])] = row

    results: list[Stored | Conflict] = []
    fresh: list[tuple[Stored, Parts]] = []
    seen_in_batch: dict[tuple[str, str], Stored] = {}
    for obj, part in zip(objects, parts):
        raw = part[0]
        key = (obj["id"], part[1])
        prev = seen_in_batch.get(key)
        if prev is not None:
            results.append(_same_or_conflict(prev.raw, prev, raw, obj))
            continue
        row = held.get(key)
        if row is not None:
            st = Stored(
                pk=int(row[0]), id=row[1], type=obj["type"], version=row[2],
                date_added=int(row[4]), tlp=row[5], source=row[6], collection=collection,
                obj=obj, status="unchanged", raw=row[3],
            )
            res = _same_or_conflict(row[3], st, raw, obj)
            results.append(res)
            if isinstance(res, Stored):
                seen_in_batch[key] = res
            continue
        # positional: this runs once per new version (pk, id, type, version, date_added,
        # tlp, source, collection, obj, status, raw)
        st = Stored(0, key[0], obj["type"], key[1], 0, part[6] or default_tlp, source, collection, obj,
                    "stored", raw)
        fresh.append((st, part))
        seen_in_batch[key] = st
        results.append(st)

    stamps = next_times(tx, len(fresh))
    for (st, _), stamp in zip(fresh, stamps):
        st.pk = st.date_added = stamp
    if fresh:
        tx.executemany(
            "INSERT INTO objects (pk, id, type, version, spec_version, created, modified, "
            "created_by_ref, tlp, date_added, source, raw) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    st.pk, st.id, st.type, st.version, st.obj.get("spec_version"),
                    p[2], p[3], st.obj.get("created_by_ref"), st.tlp, st.date_added, source, st.raw,
                )
                for st, p in fresh
            ],
        )
        marks_rows = [(st.pk, m) for st, p in fresh for m in p[5]]
        if marks_rows:
            tx.executemany(
                "INSERT INTO object_markings (pk, marking_id) VALUES (?, ?) ON CONFLICT DO NOTHING",
                marks_rows,
            )
        ref_rows = [(st.pk, prop, r) for st, p in fresh for prop, r in p[4]]
        if ref_rows:
            tx.executemany("INSERT INTO object_refs (pk, prop, ref_id) VALUES (?, ?, ?)", ref_rows)

    if cid is not None:
        members = [r for r in results if isinstance(r, Stored)]
        unique = list({m.pk: m for m in members}.values())
        already: set[int] = set()
        old = [m.pk for m in unique if m.status != "stored"]
        for i in range(0, len(old), 500):
            chunk = old[i : i + 500]
            marks = ",".join("?" * len(chunk))
            already.update(
                int(r[0])
                for r in tx.query(
                    f"SELECT pk FROM collection_items WHERE cid = ? AND pk IN ({marks})",
                    [cid, *chunk],
                )
            )
        joining = [m for m in unique if m.pk not in already]
        # joining an existing collection later gets a fresh stamp so TAXII added_after
        # readers of that collection see it; new rows reuse their own stamp
        late = [m for m in joining if m.status != "stored"]
        for m, stamp in zip(late, next_times(tx, len(late))):
            m.status = "added"
            m.date_added = stamp
        tx.executemany(
            "INSERT INTO collection_items (cid, pk, date_added) VALUES (?, ?, ?)",
            [(cid, m.pk, m.date_added) for m in joining],
        )
    return results


def _same_or_conflict(held_raw: str, st: Stored, raw: str, obj: dict[str, Any]) -> Stored | Conflict:
    if held_raw == raw or loads(held_raw) == obj:
        return Stored(
            pk=st.pk, id=st.id, type=st.type, version=st.version, date_added=st.date_added,
            tlp=st.tlp, source=st.source, collection=st.collection, obj=obj,
            status="unchanged", raw=held_raw,
        )
    return Conflict(
        f"{st.id} version {st.version or '(unversioned)'} is already stored with different "
        "content; a changed object needs a new 'modified' timestamp",
        object_id=st.id,
        property="modified",
    )


# -- reads ------------------------------------------------------------------------------

_COLS = "pk, id, type, version, date_added, tlp, source, raw"


def _row(row: Row, collection: str | None = None) -> Stored:
    return Stored(
        pk=int(row[0]), id=row[1], type=row[2], version=row[3], date_added=int(row[4]),
        tlp=row[5], source=row[6], collection=collection, obj=loads(row[7]),
        status="unchanged", raw=row[7],
    )


def get(store: Store, object_id: str, version: str | None = None) -> Stored | None:
    """The given version, or the latest one."""
    if version:
        row = store.query_one(
            f"SELECT {_COLS} FROM objects WHERE id = ? AND version = ?", (object_id, norm_ts(version))
        )
    else:
        row = store.query_one(
            f"SELECT {_COLS} FROM objects WHERE id = ? ORDER BY version DESC LIMIT 1", (object_id,)
        )
    return _row(row) if row else None


def versions(store: Store, object_id: str) -> list[Stored]:
    rows = store.query(f"SELECT {_COLS} FROM objects WHERE id = ? ORDER BY version", (object_id,))
    return [_row(r) for r in rows]


def iter_objects(
    store: Store,
    *,
    types: Sequence[str] = (),
    since_us: int | None = None,
    tlp_max: str | None = None,
    latest_only: bool = False,
    batch: int = 2000,
) -> Iterator[Stored]:
    """Every stored version in date_added order, filtered; keyset-paged so memory stays flat."""
    where = ["pk > ?"]
    params: list[Any] = []
    if types:
        where.append(f"type IN ({','.join('?' * len(types))})")
        params.extend(types)
    if tlp_max is not None:
        allowed = markings.cleared(tlp_max)
        where.append(f"tlp IN ({','.join('?' * len(allowed))})")
        params.extend(allowed)
    if latest_only:
        where.append(
            "version = (SELECT MAX(o2.version) FROM objects o2 WHERE o2.id = objects.id)"
        )
    sql = f"SELECT {_COLS} FROM objects WHERE {' AND '.join(where)} ORDER BY pk LIMIT {int(batch)}"
    # pk == date_added for every version: "added after" starts the key range there
    last = -1 if since_us is None else max(-1, since_us)
    while True:
        rows = store.query(sql, (last, *params))
        for r in rows:
            yield _row(r)
        if len(rows) < batch:
            return
        last = int(rows[-1][0])


def count(store: Store) -> int:
    row = store.query_one("SELECT COUNT(*) FROM objects")
    return int(row[0]) if row else 0
