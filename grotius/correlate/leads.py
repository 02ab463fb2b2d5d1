"""Leads: a STIX object (``x-grotius-lead``, a new SDO of the node extension) saying that
information from one source matches holdings from another, with both sides, their
originators, Admiralty grades and TLP, and a score with its components.

One lead per pair of objects (its id is derived from the two ids, so the same pair never
makes two leads); a lead gets a new version when its matched values change or an analyst
accepts, dismisses or re-opens it. Leads are stored through :func:`grotius.ingest.ingest`
like everything else, so they are shared under the same rules.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import defaultdict
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Sequence

import orjson

from grotius.correlate import index
from grotius.correlate.extract import Extraction
from grotius.exc import InvalidInput, NotFound
from grotius.stix import extension, grading, markings
from grotius.store.engine import MAX_INT64, Tx
from grotius.store.objects import Stored

if TYPE_CHECKING:
    from grotius.node import Node

LEAD_TYPE = "x-grotius-lead"
STATUSES = ("new", "accepted", "dismissed", "suppressed")
_NS = uuid.UUID("5e1d0c2a-7b39-4f7e-9a41-0c7d2f6b8e33")
STRENGTH = {"exact": 1.0, "in-range": 0.8, "contains": 0.8, "overlaps": 0.6, "subdomain": 0.7,
            "parent-domain": 0.7, "url-host": 0.7, "host-of-url": 0.7}
WEIGHTS = {"grade": 0.35, "recency": 0.2, "agreement": 0.25, "strength": 0.2}
#: half-life of the held side's age in the recency component
HALF_LIFE_DAYS = 180.0
MAX_LEADS_PER_OBJECT = 50
#: types that never raise leads themselves (they are the node's own bookkeeping)
SKIP_TYPES = frozenset({LEAD_TYPE, "marking-definition", "extension-definition", "relationship", "language-content"})


def lead_id(a: str, b: str) -> str:
    return f"{LEAD_TYPE}--{uuid.uuid5(_NS, '|'.join(sorted((a, b))))}"


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _now_after(prev: str | None) -> str:
    now = datetime.now(timezone.utc)
    s = now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    if prev and s <= prev:
        # versions must strictly increase even within one millisecond
        base = datetime.strptime(prev, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)
        s = datetime.fromtimestamp(base.timestamp() + 0.001, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return s


def score(grade_a: grading.Grade | None, grade_b: grading.Grade | None, held_age_days: float, sources: int, strength: float) -> dict[str, float]:
    g = [x.weight() if x else 0.25 for x in (grade_a, grade_b)]
    comp = {
        "grade": round(sum(g) / 2, 4),
        "recency": round(0.5 ** (max(held_age_days, 0.0) / HALF_LIFE_DAYS), 4),
        # two sources is the minimum for a lead; every further one raises agreement
        "agreement": round(1 - 1 / max(sources, 1), 4),
        "strength": strength,
    }
    comp["score"] = round(sum(WEIGHTS[k] * comp[k] for k in WEIGHTS), 4)
    comp["sources"] = sources
    return comp


def _side(node: "Node", tx: Tx, st: Stored | tuple) -> dict[str, Any]:
    if isinstance(st, Stored):
        obj, src, tlp, added, version = st.obj, st.source, st.tlp, st.date_added, st.version
    else:
        obj, src, tlp, added, version = st
    g = grading.grade_of(node, obj)
    side: dict[str, Any] = {
        "object_ref": obj["id"],
        "object_type": obj["type"],
        "object_version": version,
        "source": src or node.config.org,
        "tlp": tlp,
        "date_added": _iso(added),
    }
    if obj.get("created_by_ref"):
        side["originator_ref"] = obj["created_by_ref"]
    if g:
        side["admiralty"] = str(g)
    if obj.get("name"):
        side["name"] = str(obj["name"])[:200]
    return side


def correlate(tx: Tx, node: "Node", stored: Sequence[Stored], extractions: dict[int, Extraction], values: dict[tuple[str, str], index.Value], *, include_flagged: bool = False) -> list[dict[str, Any]]:
    """Leads raised by ``stored`` (already indexed) against everything else held."""
    sources = {st.source or "" for st in stored}
    if len(sources) == 1 and not _held_from_others(tx, sources.pop()):
        # a lead needs a held mention from another source: without one the range scans
        # and mention reads below find nothing (a node's first bulk import of its own
        # holdings spent 14 µs per object on them)
        return []
    incoming_by_vid: dict[int, list[Stored]] = defaultdict(list)
    for st in stored:
        ex = extractions.get(st.pk)
        if not ex:
            continue
        for m in ex.mentions:
            incoming_by_vid[values[(m.kind, m.value)].vid].append(st)
    if not incoming_by_vid:
        return []
    distinct = {v.vid: v for v in values.values() if v.vid in incoming_by_vid}
    matches = index.related(tx, list(distinct.values()))
    if not include_flagged:
        matches = [m for m in matches if not m.incoming.flags and not m.held.flags]
    if not matches:
        return []
    held_vids = sorted({m.held.vid for m in matches})
    mentions: dict[int, list[tuple[int, str, str, str]]] = defaultdict(list)
    for chunk in index._chunks(held_vids):
        for vid, pk, src, oid, version in tx.query(
            "SELECT m.vid, m.pk, m.src, o.id, o.version FROM correlate_mentions m JOIN objects o ON o.pk = m.pk "
            f"WHERE m.vid IN ({','.join('?' * len(chunk))})",
            chunk,
        ):
            mentions[vid].append((pk, src, oid, version))
    pairs: dict[tuple[int, str], dict[str, Any]] = {}
    for m in matches:
        held_rows = mentions.get(m.held.vid, [])
        if len(held_rows) > index.MAX_MENTIONS:
            continue  # too common to be a lead; `grotius leads check` still shows it
        for st in incoming_by_vid[m.incoming.vid]:
            src_in = st.source or ""
            for pk, src, oid, version in held_rows:
                # held means earlier: the store's pk is its arrival order (date_added)
                if src == src_in or oid == st.id or pk >= st.pk:
                    continue
                p = pairs.setdefault((st.pk, oid), {"incoming": st, "held": {}, "matches": {}, "sources": {src_in}})
                best = p["held"].get(oid)
                if best is None or version > best[1]:
                    p["held"][oid] = (pk, version)
                p["matches"][(m.incoming.vid, m.held.vid)] = m
                p["sources"].update(r[1] for r in held_rows)
    if not pairs:
        return []
    per_obj: dict[int, int] = defaultdict(int)
    out = []
    for (pk_in, held_id), p in sorted(pairs.items(), key=lambda kv: -len(kv[1]["matches"])):
        if per_obj[pk_in] >= MAX_LEADS_PER_OBJECT:
            continue
        per_obj[pk_in] += 1
        lead = _build(tx, node, p["incoming"], p["held"][held_id][0], list(p["matches"].values()), len(p["sources"]))
        if lead is not None:
            out.append(lead)
    return out


def _held_from_others(tx: Tx, source: str) -> bool:
    """Whether any stored version has a source other than ``source`` ("" = local, stored
    as NULL). Mentions carry their object's source, so without such a version no held
    mention can pair with ``source``'s objects.

    MIN and MAX read one end of the (source, date_added) index on both engines; a
    ``source <> ?`` probe with LIMIT 1 may be planned as a table scan on PostgreSQL
    (measured: 84 ms at 200,000 rows without statistics), and reading nothing, it scans
    to the end. Only equality is compared here, never order, which is collation-free."""
    for agg in ("MIN", "MAX"):
        row = tx.query_one(f"SELECT {agg}(source) FROM objects")
        if row is not None and row[0] is not None and row[0] != source:
            return True
    if source == "":
        return False
    return tx.query_one("SELECT 1 FROM objects WHERE source IS NULL LIMIT 1") is not None


def _build(tx: Tx, node: "Node", incoming: Stored, held_pk: int, matches: list[index.Match], sources: int) -> dict[str, Any] | None:
    row = tx.query_one("SELECT raw, source, tlp, date_added, version FROM objects WHERE pk = ?", (held_pk,))
    if row is None:
        return None
    held_obj = orjson.loads(row[0])
    held_side = _side(node, tx, (held_obj, row[1], row[2], row[3], row[4]))
    in_side = _side(node, tx, incoming)
    lid = lead_id(incoming.id, held_obj["id"])
    prev = tx.query_one("SELECT status, summary FROM correlate_leads WHERE lead_id = ?", (lid,))
    vids = sorted({m.incoming.vid for m in matches} | {m.held.vid for m in matches})
    if prev is not None:
        old = sorted(r[0] for r in tx.query("SELECT vid FROM correlate_lead_values WHERE lead_id = ?", (lid,)))
        if old == vids and prev[0] != "suppressed":
            return None  # nothing new about this pair
    age_days = (time.time() - row[3] / 1e6) / 86400
    g_in = grading.parse(in_side["admiralty"]) if "admiralty" in in_side else None
    g_held = grading.parse(held_side["admiralty"]) if "admiralty" in held_side else None
    comp = score(g_in, g_held, age_days, sources, max(STRENGTH[m.relation] for m in matches))
    tlp = max(in_side["tlp"], held_side["tlp"], key=lambda t: markings.RANK[t])
    match_list = [
        {"kind": m.incoming.kind, "value": m.incoming.value, "held_kind": m.held.kind, "held_value": m.held.value,
         "relation": m.relation, **({"flags": sorted(set(m.incoming.flags) | set(m.held.flags))} if m.incoming.flags or m.held.flags else {})}
        for m in sorted(matches, key=lambda m: (m.incoming.value, m.held.value))
    ]
    first = match_list[0]
    how = "" if first["relation"] == "exact" else f" ({first['relation']} {first['held_value']})"
    name = f"{first['value']}{how} also held by {held_side['source']}"
    if len(match_list) > 1:
        name += f" (+{len(match_list) - 1} more)"
    old_version = tx.query_one("SELECT MAX(version) FROM objects WHERE id = ?", (lid,))
    created = tx.query_one("SELECT MIN(created) FROM objects WHERE id = ?", (lid,))
    modified = _now_after(old_version[0] if old_version else None)
    status = prev[0] if prev and prev[0] in ("accepted", "dismissed") else "new"
    lead: dict[str, Any] = {
        "type": LEAD_TYPE,
        "spec_version": "2.1",
        "id": lid,
        "created": (created[0] if created and created[0] else modified),
        "modified": modified,
        "created_by_ref": node.identity_id,
        "name": name[:250],
        "status": status,
        "matches": match_list,
        "incoming": in_side,
        "held": held_side,
        "object_refs": [incoming.id, held_obj["id"]],
        "score": comp["score"],
        "score_components": {k: comp[k] for k in ("grade", "recency", "agreement", "strength", "sources")},
        "object_marking_refs": [markings.TLP2_IDS[tlp]],
        "extensions": extension.new_sdo_extension(),
    }
    return lead


def record(tx: Tx, leads: Sequence[Stored]) -> None:
    """Keep the inbox table in step with stored lead versions."""
    for st in leads:
        o = st.obj
        if o.get("type") != LEAD_TYPE:
            continue
        lid = o["id"]
        sources = f"{o['incoming']['source']}\n{o['held']['source']}"
        created = tx.query_one("SELECT created FROM correlate_leads WHERE lead_id = ?", (lid,))
        tx.execute("DELETE FROM correlate_leads WHERE lead_id = ?", (lid,))
        tx.execute(
            "INSERT INTO correlate_leads (lead_id, incoming_id, held_id, status, score, tlp, sources, summary, created, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (lid, o["incoming"]["object_ref"], o["held"]["object_ref"], o["status"], float(o["score"]), st.tlp, sources,
             o["name"], created[0] if created else st.date_added, st.date_added),
        )
        tx.execute("DELETE FROM correlate_lead_values WHERE lead_id = ?", (lid,))
        keys = {(m["kind"], m["value"]) for m in o["matches"]} | {(m["held_kind"], m["held_value"]) for m in o["matches"]}
        rows = []
        for kind, value in keys:
            r = tx.query_one("SELECT vid FROM correlate_values WHERE kind = ? AND value = ?", (kind, value))
            if r:
                rows.append((lid, r[0]))
        tx.executemany("INSERT INTO correlate_lead_values (lead_id, vid) VALUES (?, ?) ON CONFLICT DO NOTHING", rows)


# -- inbox ------------------------------------------------------------------------------

SORTS = {"score": "score DESC, updated DESC", "recent": "updated DESC", "oldest": "updated ASC"}


def tlp_clause(tlp_max: str | None) -> tuple[str, list[str]]:
    """A condition on ``correlate_leads.tlp``: the leads a caller cleared up to ``tlp_max`` may see."""
    if tlp_max is None:
        return "1=1", []
    levels = markings.cleared(markings.level(tlp_max))
    return f"tlp IN ({','.join('?' * len(levels))})", levels


def _where(status: str | None, source: str | None, min_score: float | None, q: str | None,
           tlp_max: str | None) -> tuple[str, list[Any]]:
    if status is not None and status not in STATUSES and status != "all":
        raise InvalidInput(f"unknown lead status {status!r}; expected one of {', '.join(STATUSES)} or all", property="status")
    where, params = [], []
    if status and status != "all":
        where.append("status = ?")
        params.append(status)
    if source:
        # one whole name of the newline-separated list: 'US' must not pick out 'US-FED'
        where.append("(? || sources || ?) LIKE ? ESCAPE '!'")
        params += ["\n", "\n", f"%\n{_literal(source)}\n%"]
    if min_score is not None:
        where.append("score >= ?")
        params.append(min_score)
    if q:
        where.append("LOWER(summary) LIKE ? ESCAPE '!'")
        params.append(f"%{_literal(q.lower())}%")
    if tlp_max is not None:
        # in SQL, so LIMIT/OFFSET and the count see only the leads the caller may see
        clause, cleared = tlp_clause(tlp_max)
        where.append(clause)
        params += cleared
    return (" WHERE " + " AND ".join(where) if where else ""), params


def inbox(node: "Node", *, status: str | None = "new", source: str | None = None, min_score: float | None = None,
          q: str | None = None, tlp_max: str | None = None, sort: str = "score", limit: int = 100,
          offset: int = 0) -> list[dict[str, Any]]:
    """One page of leads; ``tlp_max`` leaves out leads above the caller's TLP ceiling."""
    if sort not in SORTS:
        raise InvalidInput(f"unknown sort {sort!r}; expected one of {', '.join(SORTS)}", property="sort")
    # both engines bind LIMIT/OFFSET as 64-bit integers; PostgreSQL also refuses a negative LIMIT
    if not 1 <= limit <= MAX_INT64:
        raise InvalidInput(f"limit must be between 1 and {MAX_INT64}, got {limit}", property="limit")
    if not 0 <= offset <= MAX_INT64:
        raise InvalidInput(f"offset must be between 0 and {MAX_INT64}, got {offset}", property="offset")
    where, params = _where(status, source, min_score, q, tlp_max)
    sql = ("SELECT lead_id, status, score, tlp, sources, summary, incoming_id, held_id, created, updated FROM correlate_leads"
           + where + f" ORDER BY {SORTS[sort]} LIMIT ? OFFSET ?")
    rows = node.store.query(sql, (*params, int(limit), int(offset)))
    return [
        {"id": r[0], "status": r[1], "score": r[2], "tlp": r[3], "sources": r[4].split("\n"), "name": r[5],
         "incoming_ref": r[6], "held_ref": r[7], "created": _iso(r[8]), "updated": _iso(r[9])}
        for r in rows
    ]


def count(node: "Node", *, status: str | None = "new", source: str | None = None, min_score: float | None = None,
          q: str | None = None, tlp_max: str | None = None) -> int:
    """How many leads :func:`inbox` pages through with the same filters."""
    where, params = _where(status, source, min_score, q, tlp_max)
    row = node.store.query_one("SELECT COUNT(*) FROM correlate_leads" + where, params)
    return int(row[0]) if row else 0


def _literal(text: str) -> str:
    """``text`` for a LIKE pattern with ESCAPE '!', its wildcards taken literally."""
    return re.sub(r"([!%_])", r"!\1", text)


def get(node: "Node", lid: str) -> dict[str, Any]:
    row = node.store.query_one("SELECT raw FROM objects WHERE id = ? ORDER BY version DESC LIMIT 1", (lid,))
    if row is None or not lid.startswith(LEAD_TYPE + "--"):
        raise NotFound(f"no lead {lid}", object_id=lid)
    return orjson.loads(row[0])


def both_sides(node: "Node", lead: dict[str, Any]) -> dict[str, Any]:
    """The lead with the two objects it links (the versions it was raised on)."""
    out = {"lead": lead}
    for side in ("incoming", "held"):
        s = lead[side]
        row = node.store.query_one("SELECT raw FROM objects WHERE id = ? AND version = ?", (s["object_ref"], s["object_version"]))
        out[side] = orjson.loads(row[0]) if row else None
    return out


def set_status(node: "Node", lid: str, status: str, reason: str = "", *, by: str | None = None) -> dict[str, Any]:
    """Accept, dismiss (a reason is required) or re-open a lead: a new version of it."""
    if status not in ("new", "accepted", "dismissed"):
        raise InvalidInput(f"a lead can be set to new, accepted or dismissed, not {status!r}", property="status")
    if status == "dismissed" and not reason.strip():
        raise InvalidInput("dismissing a lead needs a reason", property="reason")
    from grotius.ingest import ingest

    lead = get(node, lid)
    new = _next_version(lead)
    new["status"] = status
    if reason.strip():
        new["status_reason"] = reason.strip()[:1000]
    else:
        new.pop("status_reason", None)
    if by:
        new["status_by"] = by
    summary = ingest(node, [new], quiet=True)
    if not summary.ok:
        raise summary.errors[0]
    return new


def _next_version(lead: dict[str, Any]) -> dict[str, Any]:
    """A copy to change: later ``modified``, and without the previous version's signature
    (the node signs the new version as it stores it)."""
    new = dict(lead)
    new["modified"] = _now_after(lead["modified"])
    new["extensions"] = extension.new_sdo_extension()
    return new


def suppress_leads(node: "Node", tx: Tx, vids: Sequence[int]) -> int:
    """New 'suppressed' versions of open leads all of whose matches involve a flagged value."""
    from grotius.ingest import ingest

    lids = set()
    for chunk in index._chunks(list(vids)):
        lids.update(r[0] for r in tx.query(
            f"SELECT DISTINCT l.lead_id FROM correlate_lead_values l JOIN correlate_leads c ON c.lead_id = l.lead_id "
            f"WHERE c.status = 'new' AND l.vid IN ({','.join('?' * len(chunk))})", chunk))
    out = []
    for lid in sorted(lids):
        lead = get(node, lid)
        flagged = []
        for m in lead["matches"]:
            fl = set()
            for k, v in ((m["kind"], m["value"]), (m["held_kind"], m["held_value"])):
                r = tx.query_one("SELECT flags FROM correlate_values WHERE kind = ? AND value = ?", (k, v))
                if r and r[0]:
                    fl.update(r[0].split("\n"))
            flagged.append(fl)
        if all(flagged):
            new = _next_version(lead)
            new["status"] = "suppressed"
            new["status_reason"] = ("on " + ", ".join(sorted(set().union(*flagged))))[:900]
            out.append(new)
    if out:
        ingest(node, out, quiet=True)
    return len(out)


