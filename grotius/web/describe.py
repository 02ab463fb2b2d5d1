"""What the object page and its API show: labels, readable properties, relationships in
both directions, version history, and the names of the identities behind objects."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from ..stix import grading, markings
from ..store import Store
from ..store.objects import Stored, loads, refs_of, versions
from .search import LATEST

MAX_EDGES = 500
# properties shown in the page header or the metadata panel rather than the table
_HEADER = ("type", "id", "spec_version")


def us_to_iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1_000_000, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def label(obj: dict[str, Any]) -> str:
    """A short human name for any object."""
    t = obj.get("type", "")
    for key in ("name", "value", "pattern", "path", "title", "subject", "account_login", "user_id"):
        v = obj.get(key)
        if isinstance(v, str) and v:
            return v
    if t == "relationship":
        src = str(obj.get("source_ref", "?")).partition("--")[0]
        dst = str(obj.get("target_ref", "?")).partition("--")[0]
        return f"{src} {obj.get('relationship_type', 'related-to')} {dst}"
    if t == "sighting":
        n = obj.get("count")
        what = str(obj.get("sighting_of_ref", "?")).partition("--")[0]
        return f"sighting of {what}" + (f" ({n}×)" if isinstance(n, int) else "")
    if t == "observed-data":
        refs = obj.get("object_refs") or []
        return f"observed data: {len(refs)} object(s), {obj.get('number_observed', '?')}× observed"
    if t == "file":
        hashes = obj.get("hashes")
        if isinstance(hashes, dict) and hashes:
            k, v = next(iter(hashes.items()))
            return f"{k}:{v}"
    if t == "marking-definition":
        d = obj.get("definition")
        if isinstance(d, dict):
            return ", ".join(f"{k}:{v}" for k, v in d.items())
    return str(obj.get("id", t))


#: creators every node meets but need not hold (the TLP 2.0 definitions name OASIS)
WELL_KNOWN: dict[str, tuple[str, str]] = {markings.OASIS_IDENTITY: ("identity", "OASIS Open")}


def names_of(store: Store, ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """(type, label) of the latest held version of each id; unknown ids are left out."""
    wanted = sorted(set(ids))
    out: dict[str, tuple[str, str]] = {i: WELL_KNOWN[i] for i in wanted if i in WELL_KNOWN}
    for i in range(0, len(wanted), 500):
        chunk = wanted[i : i + 500]
        for oid, typ, raw in store.query(
            f"SELECT o.id, o.type, o.raw FROM objects o WHERE o.id IN ({','.join('?' * len(chunk))}) AND {LATEST}",
            chunk,
        ):
            out[oid] = (typ, label(loads(raw)))
    return out


@dataclass
class Edge:
    """One line of the relationships panel: this object and another, and what links them."""

    direction: str  # "out": this -> other ; "in": other -> this
    kind: str  # relationship_type, or the referencing property (object_refs, sighting_of_ref, ...)
    other_id: str
    other_type: str
    other_name: str
    via: str | None  # the relationship/sighting object carrying the link, if any
    held: bool = True

    def to_dict(self) -> dict[str, Any]:
        return {
            "direction": self.direction, "kind": self.kind, "other_id": self.other_id,
            "other_type": self.other_type, "other_name": self.other_name, "via": self.via,
            "held": self.held,
        }


def relationships(store: Store, st: Stored) -> dict[str, list[Edge]]:
    """Edges of one object version in both directions.

    Outgoing: references this version makes (``*_ref``/``*_refs``) and relationships whose
    source it is. Incoming: latest versions of other objects that reference it, with a
    relationship whose target it is shown by its relationship type.
    """
    raw_out: list[tuple[str, str, str | None]] = []  # (kind, other, via)
    raw_in: list[tuple[str, str, str | None]] = []
    if st.type == "relationship":
        # a relationship's own ends are its edges: show them plainly
        for prop in ("source_ref", "target_ref"):
            if isinstance(st.obj.get(prop), str):
                raw_out.append((prop, st.obj[prop], None))
    else:
        raw_out.extend((prop, ref, None) for prop, ref in refs_of(st.obj))
    rows = store.query(
        "SELECT o.id, o.type, r.prop, o.raw FROM object_refs r JOIN objects o ON o.pk = r.pk "
        f"WHERE r.ref_id = ? AND {LATEST} ORDER BY o.date_added DESC LIMIT {MAX_EDGES * 2}",
        (st.id,),
    )
    for oid, typ, prop, raw in rows:
        if oid == st.id:
            continue
        if typ == "relationship" and prop in ("source_ref", "target_ref"):
            rel = loads(raw)
            rtype = str(rel.get("relationship_type", "related-to"))
            if prop == "source_ref" and isinstance(rel.get("target_ref"), str):
                raw_out.append((rtype, rel["target_ref"], oid))
            elif prop == "target_ref" and isinstance(rel.get("source_ref"), str):
                raw_in.append((rtype, rel["source_ref"], oid))
        else:
            raw_in.append((prop, oid, None))
    names = names_of(store, [o for _, o, _ in raw_out[:MAX_EDGES] + raw_in[:MAX_EDGES]])

    def edges(direction: str, items: list[tuple[str, str, str | None]]) -> list[Edge]:
        out = []
        for kind, other, via in items[:MAX_EDGES]:
            typ, name = names.get(other, (other.partition("--")[0], other))
            out.append(Edge(direction, kind, other, typ, name, via, held=other in names))
        return out

    return {"outgoing": edges("out", raw_out), "incoming": edges("in", raw_in)}


def history(store: Store, object_id: str) -> list[dict[str, Any]]:
    """Every held version, newest first."""
    return [
        {
            "version": v.version, "date_added": us_to_iso(v.date_added), "tlp": v.tlp,
            "source": v.source, "pk": v.pk,
        }
        for v in reversed(versions(store, object_id))
    ]


def properties(obj: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """(property, kind, value) rows for the table; kind tells the template how to show it:
    'ref' (one id), 'refs' (list of ids), 'list', 'json' (nested), 'text'."""
    rows: list[tuple[str, str, Any]] = []
    for key, value in obj.items():
        if key in _HEADER:
            continue
        if key.endswith("_ref") and isinstance(value, str):
            rows.append((key, "ref", value))
        elif key.endswith("_refs") and isinstance(value, list) and all(isinstance(v, str) for v in value):
            rows.append((key, "refs", value))
        elif isinstance(value, list) and all(isinstance(v, (str, int, float)) for v in value):
            rows.append((key, "list", value))
        elif isinstance(value, bool):
            rows.append((key, "text", "yes" if value else "no"))
        elif isinstance(value, (dict, list)):
            rows.append((key, "json", value))
        else:
            rows.append((key, "text", value))
    return rows


def grade_info(node: Any, obj: dict[str, Any]) -> dict[str, Any] | None:
    g = grading.grade_of(node, obj)
    if g is None:
        return None
    row = node.store.query_one(
        "SELECT graded_by, graded_at, note FROM gradings WHERE id = ?", (obj.get("id"),)
    )
    info: dict[str, Any] = {
        "grade": str(g), "reliability": g.reliability, "credibility": g.credibility,
        "label": g.label, "confidence": g.confidence,
        "by": "originator", "at": None, "note": "",
    }
    if row:
        info.update(by=row[0], at=datetime.fromtimestamp(int(row[1]), timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), note=row[2])
    return info


def meta(node: Any, st: Stored) -> dict[str, Any]:
    """What the page and API say about one version beside the object itself."""
    creator = st.obj.get("created_by_ref")
    names = names_of(node.store, [creator]) if isinstance(creator, str) else {}
    return {
        "id": st.id, "type": st.type, "name": label(st.obj), "version": st.version,
        "date_added": us_to_iso(st.date_added), "tlp": st.tlp,
        "source": st.source, "created_by_ref": creator,
        "created_by_name": names.get(creator, (None, None))[1] if isinstance(creator, str) else None,
        "grade": grade_info(node, st.obj),
        "signature": signature_info(node, st.obj),
    }


def signature_info(node: Any, obj: dict[str, Any]) -> dict[str, Any]:
    """Who signed this version and whether it verifies against the keys this node pinned."""
    from ..sharing import signing

    ring = signing.keyring(node)
    res = signing.check(obj, ring)
    return {"status": res.status, "signer": res.signer, "signer_name": ring.names.get(res.signer or ""),
            "key_id": res.key_id, "message": res.message}
