"""Entity resolution inside one node's store: which person and organisation records
(from any source) denote the same real-world entity.

The adapter reads the latest version of every record (see :data:`RECORD_TYPES` and
docs/matching.md, "Entity resolution in the store", for the properties read), the
linker of :mod:`resolve` learns Fellegi-Sunter weights from them, a constrained
clustering groups the links, and each group of two or more records becomes an
``x-grotius-entity`` object (node extension) stored through :func:`grotius.ingest.ingest`.

Names are compared with :func:`names.similarity` (across scripts), not with the
Jaro-Winkler of :mod:`resolve`: a Latin and an Arabic spelling share no letters.
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, Iterable, Sequence

import numpy as np

from grotius.exc import InvalidInput
from grotius.matching import names, resolve
from grotius.sharing.signing import without_signature
from grotius.stix import extension, markings
from grotius.store.objects import iter_objects

if TYPE_CHECKING:
    from grotius.node import Node

ENTITY_TYPE = "x-grotius-entity"
_NS = uuid.UUID("9c4e2f7a-1b8d-4e63-a0f5-3d7c9b1e2a64")
FTM_TYPE = "x-ftm-entity"
RECORD_TYPES = ("identity", "threat-actor", "intrusion-set", FTM_TYPE)
IDENTITY_CLASSES = {"individual": "person", "organization": "organization"}
FTM_SCHEMAS = {"Person": "person", "Company": "organization", "Organization": "organization",
               "LegalEntity": "organization"}
FTM_NAMES = ("name", "alias", "weakAlias", "previousName")
FTM_IDENTIFIERS = ("idNumber", "passportNumber", "taxNumber", "registrationNumber", "leiCode",
                   "innCode", "ogrnCode", "vatCode", "swiftBic", "imoNumber")
FTM_NATIONALITY = ("nationality", "citizenship", "country", "jurisdiction")

FIELDS = [
    resolve.Field("name", "name"),
    resolve.Field("date_of_birth", "date"),
    resolve.Field("nationality", "exact"),
    resolve.Field("identifiers", "code"),
]
#: blocking rules as resolve.train reads them: a key belongs to the field its name starts
#: with, and is then left out of that rule's EM. A shared name token does not make the
#: name level agree, so that key belongs to no field.
RULES = [["token_key"], ["date_of_birth"], ["identifiers"]]
LEVEL_NAMES = {
    "name": ("different", "close", "similar", "exact"),
    "date_of_birth": ("different", "close", "exact"),
    "nationality": ("different", "same"),
    "identifiers": ("different", "close", "exact"),
}
#: name similarity bounds of the levels "similar" and "close" (names.SAME_NAME is 0.88)
NAME_SIMILAR, NAME_CLOSE = names.SAME_NAME, 0.75

# Used when the store is too small to learn from (EM needs hundreds of candidate pairs):
# m and u per level, set by hand from the FEBRL4 and pair-set runs; docs/matching.md.
DEFAULT_M = [np.array([0.02, 0.08, 0.45, 0.45]), np.array([0.05, 0.10, 0.85]),
             np.array([0.10, 0.90]), np.array([0.10, 0.10, 0.80])]
DEFAULT_U = [np.array([0.90, 0.08, 0.015, 0.005]), np.array([0.9989, 0.001, 0.0001]),
             np.array([0.80, 0.20]), np.array([0.999, 0.0009, 0.0001])]
DEFAULT_PRIOR = 1e-3
#: a link needs more than a similar name: name alone scores about 0.5 on the pair-set
#: population (docs/matching.md), where 0.8 keeps precision at 0.97
DEFAULT_THRESHOLD = 0.8
MIN_TRAIN_PAIRS = 200
MIN_FIELD_PAIRS = 20
MAX_BLOCK = 300
U_SAMPLE = 20_000
MAX_LINKS = 200

_DATE = re.compile(r"^\s*(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


# -- records ----------------------------------------------------------------------------


@dataclass
class Record:
    object_id: str
    object_type: str
    kind: str  # person, organization, threat-actor, intrusion-set
    names: tuple[str, ...]
    date_of_birth: str | None = None  # YYYYMMDD, or YYYY when only the year is known
    nationality: frozenset[str] = frozenset()
    identifiers: frozenset[tuple[str, str]] = frozenset()
    tlp: str = "clear"
    source: str | None = None
    version: str = ""
    #: properties present but not understood (a malformed date), for the run report
    ignored: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"object_ref": self.object_id, "object_type": self.object_type,
                               "name": self.names[0], "source": self.source or "", "tlp": self.tlp}
        if len(self.names) > 1:
            out["aliases"] = list(self.names[1:])
        if self.date_of_birth:
            d = self.date_of_birth
            out["date_of_birth"] = f"{d[:4]}-{d[4:6]}-{d[6:]}" if len(d) == 8 else d
        if self.nationality:
            out["nationality"] = sorted(self.nationality)
        if self.identifiers:
            out["identifiers"] = [{"type": t, "value": v} for t, v in sorted(self.identifiers)]
        return out


def _list(v: Any) -> list[Any]:
    if v is None:
        return []
    return list(v) if isinstance(v, (list, tuple)) else [v]


def parse_date(value: Any) -> str | None:
    """YYYYMMDD (or YYYY) from an ISO date or timestamp; None when it is not one."""
    if not isinstance(value, str):
        return None
    m = _DATE.match(value)
    if not m:
        return None
    y, mo, d = m.groups()
    if mo and d and 1 <= int(mo) <= 12 and 1 <= int(d) <= 31:
        return y + mo + d
    return y


def _ident(kind: Any, value: Any) -> tuple[str, str] | None:
    v = re.sub(r"[^0-9A-Za-z]", "", str(value or "")).upper()
    k = re.sub(r"[^0-9a-z_-]", "", str(kind or "id").lower()) or "id"
    return (k, v) if v else None


def _props(obj: dict[str, Any]) -> dict[str, Any]:
    """Top-level x_ properties and those of property extensions, under plain names."""
    out: dict[str, Any] = {}
    for ext in (obj.get("extensions") or {}).values():
        if isinstance(ext, dict) and ext.get("extension_type") == "property-extension":
            out.update({k: v for k, v in ext.items() if k != "extension_type"})
    for k, v in obj.items():
        if k.startswith("x_"):
            out.setdefault(k[2:], v)
    return out


def record_of(obj: dict[str, Any], tlp: str = "clear", source: str | None = None, version: str = "") -> Record | None:
    """The record of one STIX object, or None when it is not a person or organisation."""
    t = obj.get("type")
    ignored: list[str] = []
    if t == FTM_TYPE:
        kind = FTM_SCHEMAS.get(str(obj.get("schema")))
        props = obj.get("properties") if isinstance(obj.get("properties"), dict) else {}
        if kind is None:
            return None
        found = [str(n) for p in FTM_NAMES for n in _list(props.get(p)) if str(n).strip()]
        dobs = _list(props.get("birthDate"))
        nat = [n for p in FTM_NATIONALITY for n in _list(props.get(p))]
        idents = [_ident(p, v) for p in FTM_IDENTIFIERS for v in _list(props.get(p))]
    else:
        if t == "identity":
            kind = IDENTITY_CLASSES.get(str(obj.get("identity_class")))
        elif t in ("threat-actor", "intrusion-set"):
            kind = t
        else:
            return None
        if kind is None or obj.get("id") == extension.GROTIUS_IDENTITY:
            return None
        ext = _props(obj)
        found = [str(obj.get("name") or "")] + [str(a) for a in _list(obj.get("aliases")) + _list(ext.get("aliases"))]
        found = [n for n in found if n.strip()]
        dobs = _list(ext.get("date_of_birth") or ext.get("birth_date"))
        nat = _list(ext.get("nationality") or ext.get("country"))
        idents = []
        for i in _list(ext.get("identifiers")):
            if isinstance(i, dict):
                idents.append(_ident(i.get("type"), i.get("value")))
            elif isinstance(i, str):
                k, sep, v = i.partition(":")
                idents.append(_ident(k, v) if sep else _ident("id", i))
    if not found:
        return None
    dob = None
    for d in dobs:
        dob = parse_date(d)
        if dob:
            break
        ignored.append(f"date_of_birth {str(d)[:40]!r}")
    seen: list[str] = []
    for n in found:
        if n not in seen:
            seen.append(n)
    return Record(
        object_id=obj["id"], object_type=t, kind=kind, names=tuple(seen), date_of_birth=dob,
        nationality=frozenset(str(n).strip().lower() for n in nat if str(n).strip()),
        identifiers=frozenset(i for i in idents if i), tlp=tlp, source=source, version=version, ignored=ignored,
    )


def read_records(node: "Node", *, include_red: bool = True) -> list[Record]:
    """Latest versions of every person and organisation record, in arrival order.
    Revoked objects are left out; so are TLP:RED ones unless ``include_red``."""
    out = []
    for st in iter_objects(node.store, types=RECORD_TYPES, latest_only=True):
        if st.obj.get("revoked") or (not include_red and st.tlp == "red"):
            continue
        r = record_of(st.obj, st.tlp, st.source, st.version)
        if r is not None:
            out.append(r)
    return out


# -- comparison -------------------------------------------------------------------------


def name_similarity(a: Record, b: Record) -> float:
    """Best similarity over both records' names (aliases included)."""
    best = 0.0
    for x in a.names:
        for y in b.names:
            if a.kind == "organization":
                s = names.similarity(names.company_fingerprint(x) or x, names.company_fingerprint(y) or y)
            else:
                s = names.similarity(x, y)
            best = max(best, s)
            if best >= 1.0:
                return best
    return best


def _same_form(a: Record, b: Record) -> bool:
    fa = {tuple(sorted(names.form(n).folded)) for n in a.names}
    return any(tuple(sorted(names.form(n).folded)) in fa for n in b.names)


def compare(a: Record, b: Record) -> tuple[list[int], float]:
    """Comparison levels (resolve's convention: -1 missing) and the name similarity."""
    sim = name_similarity(a, b)
    if _same_form(a, b):
        name = 3
    else:
        name = 2 if sim >= NAME_SIMILAR else 1 if sim >= NAME_CLOSE else 0
    da, db = a.date_of_birth, b.date_of_birth
    if not da or not db:
        dob = resolve.MISSING
    elif len(da) == 8 and len(db) == 8:
        if da == db:
            dob = 2
        else:
            swapped = da[:4] + da[6:8] + da[4:6] == db
            one_edit = sum(x != y for x, y in zip(da, db)) == 1
            dob = 1 if swapped or one_edit else 0
    else:  # only a year on one side
        dob = 1 if da[:4] == db[:4] else 0
    if not a.nationality or not b.nationality:
        nat = resolve.MISSING
    else:
        nat = 1 if a.nationality & b.nationality else 0
    ident = resolve.MISSING
    if a.identifiers & b.identifiers:
        ident = 2
    else:
        shared = {t for t, _ in a.identifiers} & {t for t, _ in b.identifiers}
        if shared:
            close = any(
                ta == tb and ta in shared and _one_edit(va, vb)
                for ta, va in a.identifiers for tb, vb in b.identifiers
            )
            ident = 1 if close else 0
    return [name, dob, nat, ident], sim


def _one_edit(a: str, b: str) -> bool:
    from rapidfuzz.distance import Levenshtein

    return Levenshtein.distance(a, b, score_cutoff=1) <= 1


def conflict(levels: Sequence[int]) -> bool:
    """Evidence that two records are different entities whatever else agrees: different
    names, a different date of birth, or identifiers of one kind that disagree."""
    return levels[0] == 0 or levels[1] == 0 or levels[3] == 0


# -- blocking ---------------------------------------------------------------------------


def _name_keys(r: Record) -> set[str]:
    keys = set()
    for n in r.names:
        text = names.company_fingerprint(n) if r.kind == "organization" else n
        for t in names.form(text).tokens:
            sk = names.skeleton(t)
            if len(sk) >= 2:
                keys.add("s:" + sk)
            folded = names.fold(t)
            if len(folded) >= 4:  # skeletons of short names are too coarse or empty
                keys.add("f:" + folded[:3])
    return keys


def block(records: Sequence[Record], max_block: int = MAX_BLOCK) -> resolve.Candidates:
    """Pairs (i < j, same kind) sharing a name-token skeleton, a full date of birth or an
    identifier; blocks of more than ``max_block`` records are skipped (too common to
    say anything, and quadratic)."""
    rule_keys: list[dict[str, list[int]]] = [defaultdict(list) for _ in RULES]
    for i, r in enumerate(records):
        for k in _name_keys(r):
            rule_keys[0][f"{r.kind}\x1f{k}"].append(i)
        if r.date_of_birth and len(r.date_of_birth) == 8:
            rule_keys[1][f"{r.kind}\x1f{r.date_of_birth}"].append(i)
        for t, v in r.identifiers:
            rule_keys[2][f"{r.kind}\x1f{t}\x1f{v}"].append(i)
    bits: dict[tuple[int, int], int] = defaultdict(int)
    for rule, keys in enumerate(rule_keys):
        for members in keys.values():
            if len(members) < 2 or len(members) > max_block:
                continue
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    bits[(members[x], members[y])] |= 1 << rule
    pairs = sorted(bits)
    return resolve.Candidates(
        np.array([p[0] for p in pairs], dtype=np.int64), np.array([p[1] for p in pairs], dtype=np.int64),
        np.array([bits[p] for p in pairs], dtype=np.int64),
    )


def _random_pairs(records: Sequence[Record], count: int, seed: int = 0) -> list[tuple[int, int]]:
    """Random pairs of distinct records of the same kind (for u), or all when few."""
    by_kind: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(records):
        by_kind[r.kind].append(i)
    total = sum(len(v) * (len(v) - 1) // 2 for v in by_kind.values())
    if total <= count:
        return [(m[x], m[y]) for m in by_kind.values() for x in range(len(m)) for y in range(x + 1, len(m))]
    rng = np.random.default_rng(seed)
    out = []
    kinds = [k for k, v in by_kind.items() if len(v) > 1]
    weights = np.array([len(by_kind[k]) ** 2 for k in kinds], dtype=float)
    for k in rng.choice(len(kinds), size=count, p=weights / weights.sum()):
        m = by_kind[kinds[k]]
        x, y = rng.choice(len(m), size=2, replace=False)
        out.append((m[x], m[y]))
    return out


# -- the run ----------------------------------------------------------------------------


@dataclass
class Link:
    a: int
    b: int
    levels: list[int]
    similarity: float
    probability: float


@dataclass
class Resolution:
    records: list[Record]
    candidates: int
    model: resolve.Model
    learned: bool
    links: list[Link]
    clusters: list[list[int]]
    threshold: float


def _default_model() -> resolve.Model:
    return resolve.Model(list(FIELDS), [m.copy() for m in DEFAULT_M], [u.copy() for u in DEFAULT_U], DEFAULT_PRIOR)


def resolve_records(records: Sequence[Record], threshold: float = DEFAULT_THRESHOLD, progress: Any = None) -> Resolution:
    """Block, compare, learn the weights (or use the defaults on a store too small to
    learn from), score, and cluster."""
    if not 0 < threshold < 1:
        raise InvalidInput("the threshold is a match probability between 0 and 1", property="threshold", value=threshold)
    records = list(records)
    cands = block(records)
    gamma = np.empty((len(cands.left), len(FIELDS)), dtype=np.int8)
    sims = np.zeros(len(cands.left))
    for n, (i, j) in enumerate(zip(cands.left.tolist(), cands.right.tolist())):
        levels, sims[n] = compare(records[i], records[j])
        gamma[n] = levels
        if progress and n % 500 == 0:
            progress(n, len(cands.left))
    learned = False
    model = _default_model()
    if len(gamma) >= MIN_TRAIN_PAIRS:
        sample = _random_pairs(records, U_SAMPLE)
        u_gamma = np.array([compare(records[i], records[j])[0] for i, j in sample], dtype=np.int8)
        by_kind: dict[str, int] = defaultdict(int)
        for r in records:
            by_kind[r.kind] += 1
        population = max(1, sum(n * (n - 1) // 2 for n in by_kind.values()))
        try:
            model = resolve.train(gamma, cands, FIELDS, RULES, u_gamma, population)
        except InvalidInput:
            model = _default_model()
        else:
            # a field the records hardly ever carry teaches nothing: keep its defaults
            for j in range(len(FIELDS)):
                if int((gamma[:, j] >= 0).sum()) < MIN_FIELD_PAIRS:
                    model.m[j], model.u[j] = DEFAULT_M[j].copy(), DEFAULT_U[j].copy()
            learned = _plausible(model)
        if not learned:
            model = _default_model()
    prob = resolve.score(model, gamma) if len(gamma) else np.zeros(0)
    links = [Link(int(i), int(j), [int(x) for x in gamma[n]], float(sims[n]), float(prob[n]))
             for n, (i, j) in enumerate(zip(cands.left, cands.right))]
    clusters = cluster(len(records), links, threshold, records)
    return Resolution(records, len(links), model, learned, links, clusters, threshold)


def _plausible(model: resolve.Model) -> bool:
    """EM found the match class when agreement is evidence for it on every field: the
    weight of the top level exceeds that of the bottom one. Otherwise (a store of few or
    unusual records) the defaults are safer than what EM converged to."""
    for m, u in zip(model.m, model.u):
        w = np.log2(np.maximum(m, 1e-12) / np.maximum(u, 1e-12))
        if not w[-1] > w[0]:
            return False
    return True


def cluster(n: int, links: Sequence[Link], threshold: float, records: Sequence[Record]) -> list[list[int]]:
    """Greedy agglomeration by descending probability: two groups merge through a link
    above the threshold unless some pair across them conflicts (:func:`conflict`), so a
    record without a date of birth cannot chain two people with different ones."""
    parent = list(range(n))
    members: dict[int, list[int]] = {i: [i] for i in range(n)}

    def find(x: int) -> int:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for link in sorted((lk for lk in links if lk.probability >= threshold), key=lambda lk: -lk.probability):
        ra, rb = find(link.a), find(link.b)
        if ra == rb:
            continue
        if any(conflict(compare(records[x], records[y])[0]) for x in members[ra] for y in members[rb]):
            continue
        if len(members[ra]) < len(members[rb]):
            ra, rb = rb, ra
        parent[rb] = ra
        members[ra].extend(members.pop(rb))
    return sorted((sorted(m) for m in members.values() if len(m) > 1), key=lambda m: m[0])


# -- entities as STIX objects -------------------------------------------------------------


def entity_id(member_ids: Iterable[str]) -> str:
    return f"{ENTITY_TYPE}--{uuid.uuid5(_NS, chr(10).join(sorted(member_ids)))}"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _features(model: resolve.Model, link: Link) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for j, f in enumerate(model.fields):
        lv = link.levels[j]
        if lv < 0:
            out[f.name] = {"level": "missing", "weight": 0.0}
            continue
        w = float(np.log2(max(model.m[j][lv], 1e-12) / max(model.u[j][lv], 1e-12)))
        out[f.name] = {"level": LEVEL_NAMES[f.name][lv], "weight": round(w, 2)}
        if f.name == "name":
            out[f.name]["similarity"] = round(link.similarity, 3)
    return out


def _display_name(recs: Sequence[Record]) -> str:
    """The most frequent Latin-script name of the members (ties: the longest)."""
    counts: dict[str, int] = defaultdict(int)
    for r in recs:
        counts[r.names[0]] += 1
    latin = [n for n in counts if names.script_of(n) == "latin"] or list(counts)
    return max(latin, key=lambda n: (counts[n], len(n), n))


def entity_objects(node: "Node", res: Resolution) -> list[dict[str, Any]]:
    """One ``x-grotius-entity`` per cluster (not yet versioned against the store)."""
    by_pair = {(lk.a, lk.b): lk for lk in res.links}
    out = []
    for members in res.clusters:
        recs = [res.records[i] for i in members]
        inside = set(members)
        links = [lk for (a, b), lk in by_pair.items() if a in inside and b in inside]
        links.sort(key=lambda lk: -lk.probability)
        tlp = markings_max(r.tlp for r in recs)
        kind = recs[0].kind
        out.append({
            "type": ENTITY_TYPE,
            "spec_version": "2.1",
            "id": entity_id(r.object_id for r in recs),
            "created_by_ref": node.identity_id,
            "name": _display_name(recs)[:250],
            "entity_class": kind,
            "names": sorted({n for r in recs for n in r.names}),
            "object_refs": sorted(r.object_id for r in recs),
            "members": sorted((r.summary() for r in recs), key=lambda m: m["object_ref"]),
            "links": [
                {"source_ref": res.records[lk.a].object_id, "target_ref": res.records[lk.b].object_id,
                 "probability": round(lk.probability, 4), "features": _features(res.model, lk)}
                for lk in links[:MAX_LINKS]
            ],
            "method": "fellegi-sunter",
            "weights": "learned" if res.learned else "default",
            "threshold": res.threshold,
            "object_marking_refs": [markings.TLP2_IDS[tlp]],
            "extensions": extension.new_sdo_extension(),
        })
    return out


def markings_max(levels: Iterable[str]) -> str:
    return max(levels, key=lambda t: markings.RANK[t])


def _signature(obj: dict[str, Any]) -> Any:
    """What makes a new version worth storing: members, and each link's evidence
    (probabilities to two decimals, so re-learned weights alone do not churn versions)."""
    return (
        tuple(obj["object_refs"]), obj.get("revoked", False),
        tuple((lk["source_ref"], lk["target_ref"], round(lk["probability"], 2),
               tuple(sorted((k, v["level"]) for k, v in lk["features"].items()))) for lk in obj["links"]),
    )


def previous(node: "Node") -> dict[str, dict[str, Any]]:
    """This node's current (latest, not revoked) entities by id."""
    out = {}
    for st in iter_objects(node.store, types=[ENTITY_TYPE], latest_only=True):
        if st.source is None and not st.obj.get("revoked"):
            out[st.id] = st.obj
    return out


def versioned(node: "Node", fresh: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], int]:
    """New versions to store: a cluster keeps the id of the current entity it shares most
    members with (so an analyst's reference survives a member joining or leaving),
    otherwise it gets the id derived from its members; an unchanged entity is not stored
    again; a current entity no cluster continues is revoked. Returns (objects, unchanged)."""
    prev = previous(node)
    member_of: dict[str, str] = {ref: eid for eid, o in prev.items() for ref in o["object_refs"]}
    taken: set[str] = set()
    # the largest clusters choose first, so a split keeps the id with its bigger part
    order = sorted(range(len(fresh)), key=lambda k: (-len(fresh[k]["object_refs"]), fresh[k]["id"]))
    for k in order:
        obj = fresh[k]
        if obj["id"] in prev and obj["id"] not in taken:
            taken.add(obj["id"])
            continue
        overlap: dict[str, int] = defaultdict(int)
        for ref in obj["object_refs"]:
            if ref in member_of:
                overlap[member_of[ref]] += 1
        best = sorted((eid for eid in overlap if eid not in taken), key=lambda e: (-overlap[e], e))
        if best:
            obj["id"] = best[0]
        taken.add(obj["id"])
    out: list[dict[str, Any]] = []
    unchanged = 0
    for obj in fresh:
        old = prev.get(obj["id"])
        if old is not None and _signature(old) == _signature(obj):
            unchanged += 1
            continue
        obj["created"] = old["created"] if old else _now()
        obj["modified"] = _after(old["modified"] if old else None)
        out.append(obj)
    for eid, old in prev.items():
        if eid not in taken:
            out.append(without_signature(old) | {"revoked": True, "modified": _after(old["modified"])})
    return out, unchanged


def _after(prev: str | None) -> str:
    from grotius.correlate.leads import _now_after

    return _now_after(prev)


@dataclass
class RunResult:
    resolution: Resolution
    entities: list[dict[str, Any]]
    stored: int
    unchanged: int
    revoked: int

    def to_dict(self) -> dict[str, Any]:
        res = self.resolution
        return {
            "records": len(res.records), "candidates": res.candidates,
            "weights": "learned" if res.learned else "default", "threshold": res.threshold,
            "model": res.model.describe(), "entities": len(self.entities),
            "stored": self.stored, "unchanged": self.unchanged, "revoked": self.revoked,
            "ignored": [{"object_ref": r.object_id, "properties": r.ignored} for r in res.records if r.ignored],
        }


def run(node: "Node", threshold: float = DEFAULT_THRESHOLD, progress: Any = None) -> RunResult:
    """Resolve the store's records and store the entities (new versions only)."""
    from grotius.ingest import ingest

    records = read_records(node)
    res = resolve_records(records, threshold, progress)
    fresh = entity_objects(node, res)
    todo, unchanged = versioned(node, fresh)
    if todo:
        summary = ingest(node, todo, quiet=True)
        if not summary.ok:
            raise summary.errors[0]
    revoked = sum(1 for o in todo if o.get("revoked"))
    return RunResult(res, fresh, len(todo) - revoked, unchanged, revoked)


def listing(node: "Node", tlp_max: str | None = None) -> list[dict[str, Any]]:
    """Current entities (latest version, not revoked), the caller's TLP permitting."""
    out = []
    for st in iter_objects(node.store, types=[ENTITY_TYPE], latest_only=True, tlp_max=tlp_max):
        if not st.obj.get("revoked"):
            out.append(st.obj | {"tlp": st.tlp})
    out.sort(key=lambda o: (-len(o["object_refs"]), o["name"]))
    return out
