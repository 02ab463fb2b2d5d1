"""What a principal may receive: the one place TLP 2.0 and the agreements are decided.

Every read path (TAXII objects/object/manifest/versions, search, export, UI, sync push)
asks :func:`disclose`; the SQL prefilter from :func:`sql_filter` only narrows what the
database returns so pages stay O(limit); :func:`disclose` re-checks every version itself.

The rules (docs/sharing.md has the reasoning):

* A version this node holds was either made here (``source`` NULL) or received from a
  partner (``source`` = that partner's name).
* Node users see everything their node holds; RED never leaves the node over TAXII or
  sync, not even to a node user's TAXII client.
* To a partner P, a version made here goes out when P's agreement allows its level:
  CLEAR always; GREEN when P shares a community with this node (and P's ``tlp_max`` is at
  least GREEN); AMBER / AMBER+STRICT when P's ``tlp_max`` allows that level; RED never.
* A version received from P may go back to P (it tells P nothing new), RED excepted.
* A version received from partner A goes to another partner B only when it is CLEAR, or
  GREEN and B shares with this node a community that A shares too (GREEN may circulate
  inside the community it was given to, no further), and B's ``tlp_max`` allows GREEN.
  AMBER, AMBER+STRICT and RED from A never go to B.
* Granular markings: a property marked with a TLP level the recipient may not receive
  (by the same rules, for that version's source) is removed before sending, and the
  object carries a redaction notice in the node's property extension. When the marked
  property is one the object cannot be valid without, the whole version is withheld.
* Anything else (no principal, an unknown kind of principal) receives nothing.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from ..stix import markings
from ..stix.grading import GROTIUS_EXTENSION_ID
from ..store.objects import Stored

if TYPE_CHECKING:
    from ..node import Node
    from ..store.engine import Tx
    from .partners import Partner

#: channels over which information leaves the node; RED never travels on them
LEAVING: frozenset[str] = frozenset({"taxii", "sync"})
CHANNELS: frozenset[str] = frozenset({"taxii", "sync", "ui", "api", "search", "export"})


@dataclass(frozen=True)
class Clearance:
    """What one principal may receive on one channel, per (level, source)."""

    who: str
    kind: str  # "user" | "partner" | "none"
    #: levels of versions made by this node
    local: frozenset[str]
    #: partner whose own versions may go back to it (all levels but RED)
    own: str | None = None
    #: partners whose GREEN versions may be relayed to this principal
    relay_green_from: frozenset[str] = frozenset()
    #: node user off the wire: everything, RED included
    everything: bool = False
    #: node user on TAXII: every level but RED, whatever the source
    all_but_red: bool = False
    partner: "Partner | None" = None

    def allows(self, level: str, source: str | None) -> bool:
        if self.everything:
            return True
        if self.all_but_red:
            return level != "red"
        if self.kind != "partner":
            return False
        if source is None:
            return level in self.local
        if source == self.own:
            return level != "red"
        if level == "clear":
            return True
        return level == "green" and source in self.relay_green_from

    @property
    def agreement(self) -> str | None:
        return self.partner.agreement_id if self.partner is not None else None


NOBODY = Clearance(who="", kind="none", local=frozenset())


def _partner_of(node: "Node", principal: Any) -> "Partner | None":
    from . import partners

    p = (getattr(principal, "extra", None) or {}).get("partner")
    if p is not None:
        return p  # type: ignore[no-any-return]
    return partners.find(node, principal.name)


def clearance(node: "Node", principal: Any, channel: str = "taxii") -> Clearance:
    """The clearance of ``principal`` (a grotius.web.auth.Principal) on ``channel``."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown disclosure channel {channel!r}")
    if principal is None:
        return NOBODY
    kind = getattr(principal, "kind", None)
    if kind == "user":
        if channel in LEAVING:
            return Clearance(who=principal.name, kind="user", local=frozenset(), all_but_red=True)
        return Clearance(who=principal.name, kind="user", local=frozenset(), everything=True)
    if kind != "partner":
        return NOBODY
    p = _partner_of(node, principal)
    if p is None or p.disabled:
        return NOBODY
    mine = set(node.config.communities)
    shared = set(p.communities) & mine
    green_ok = bool(shared) and markings.allows(p.tlp_max, "green")
    local = {"clear"}
    if green_ok:
        local.add("green")
    for lvl in ("amber", "amber+strict"):
        if markings.allows(p.tlp_max, lvl):
            local.add(lvl)
    relay: set[str] = set()
    if green_ok:
        for name, comms in node.store.query("SELECT name, communities FROM partners"):
            if name != p.name and shared & set(json.loads(comms)):
                relay.add(name)
    return Clearance(
        who=p.name, kind="partner", local=frozenset(local), own=p.name,
        relay_green_from=frozenset(relay), partner=p,
    )


def sql_filter(c: Clearance, alias: str = "o") -> tuple[str, list[Any]]:
    """A WHERE fragment admitting (a superset of) what ``c`` allows; never less.

    Only row columns are used (tlp, source), so the page query stays index-driven.
    """
    if c.everything:
        return "1=1", []
    if c.all_but_red:
        return f"{alias}.tlp <> 'red'", []
    if c.kind != "partner":
        return "1=0", []
    parts: list[str] = []
    params: list[Any] = []
    local = sorted(c.local)
    parts.append(f"({alias}.source IS NULL AND {alias}.tlp IN ({','.join('?' * len(local))}))")
    params.extend(local)
    if c.own:
        parts.append(f"({alias}.source = ? AND {alias}.tlp <> 'red')")
        params.append(c.own)
    parts.append(f"({alias}.source IS NOT NULL AND {alias}.tlp = 'clear')")
    if c.relay_green_from:
        names = sorted(c.relay_green_from)
        parts.append(f"({alias}.tlp = 'green' AND {alias}.source IN ({','.join('?' * len(names))}))")
        params.extend(names)
    return "(" + " OR ".join(parts) + ")", params


# -- granular markings ------------------------------------------------------------------

_COMMON = frozenset({"type", "id", "spec_version", "created", "modified"})
_REQUIRED: dict[str, frozenset[str]] = {
    "attack-pattern": frozenset({"name"}),
    "campaign": frozenset({"name"}),
    "course-of-action": frozenset({"name"}),
    "grouping": frozenset({"context", "object_refs"}),
    "identity": frozenset({"name"}),
    "incident": frozenset({"name"}),
    "indicator": frozenset({"pattern", "pattern_type", "valid_from"}),
    "infrastructure": frozenset({"name"}),
    "intrusion-set": frozenset({"name"}),
    "location": frozenset({"region", "country", "latitude", "longitude"}),
    "malware": frozenset({"is_family"}),
    "malware-analysis": frozenset({"product"}),
    "note": frozenset({"content", "object_refs"}),
    "observed-data": frozenset({"first_observed", "last_observed", "number_observed"}),
    "opinion": frozenset({"opinion", "object_refs"}),
    "report": frozenset({"name", "published", "object_refs"}),
    "threat-actor": frozenset({"name"}),
    "tool": frozenset({"name"}),
    "vulnerability": frozenset({"name"}),
    "relationship": frozenset({"relationship_type", "source_ref", "target_ref"}),
    "sighting": frozenset({"sighting_of_ref"}),
    "marking-definition": frozenset({"definition_type", "definition", "extensions"}),
    "extension-definition": frozenset({"name", "schema", "version", "extension_types"}),
    "language-content": frozenset({"object_ref", "contents"}),
}
# cyber observables and custom objects: the identifying properties
_REQUIRED_OTHER = frozenset({"value", "name", "hashes", "key", "number", "body", "pid", "src_ref"})
# keys without which a nested dict (external reference, kill chain phase, ...) is invalid
_NESTED_REQUIRED = frozenset({
    "source_name", "kill_chain_name", "phase_name", "extension_type", "marking_ref", "selectors",
})


def _required(obj: dict[str, Any]) -> frozenset[str]:
    return _COMMON | _REQUIRED.get(str(obj.get("type")), _REQUIRED_OTHER)


Path = tuple[str | int, ...]


def _parse(selector: str) -> Path | None:
    out: list[str | int] = []
    for tok in selector.split("."):
        if tok.startswith("[") and tok.endswith("]"):
            try:
                out.append(int(tok[1:-1]))
            except ValueError:
                return None
        elif tok:
            out.append(tok)
        else:
            return None
    return tuple(out) if out and isinstance(out[0], str) else None


def _fmt(path: Path) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else p for p in path)


def _resolve(obj: Any, path: Path) -> bool:
    cur = obj
    for p in path:
        if isinstance(p, int):
            if not isinstance(cur, list) or not 0 <= p < len(cur):
                return False
        elif not isinstance(cur, dict) or p not in cur:
            return False
        cur = cur[p]
    return True


def _widen(obj: Any, path: Path) -> Path:
    """Removing a key a nested structure needs removes the enclosing list element."""
    if len(path) >= 3 and isinstance(path[-1], str) and path[-1] in _NESTED_REQUIRED and isinstance(path[-2], int):
        return path[:-1]
    return path


def _delete(obj: dict[str, Any], paths: Sequence[Path]) -> dict[str, Any]:
    """A copy of obj without the given paths; lists left empty are removed too."""
    out = copy.deepcopy(obj)
    # deepest and highest indices first so earlier deletions do not move later targets
    for path in sorted(set(paths), key=lambda p: (len(p), [x if isinstance(x, int) else -1 for x in p]), reverse=True):
        parent: Any = out
        ok = True
        for p in path[:-1]:
            try:
                parent = parent[p]
            except (KeyError, IndexError, TypeError):
                ok = False
                break
        if not ok:
            continue
        last = path[-1]
        try:
            del parent[last]
        except (KeyError, IndexError, TypeError):
            continue
    _prune_empty(out)
    return out


def _prune_empty(node: Any) -> None:
    if isinstance(node, dict):
        for k in list(node):
            _prune_empty(node[k])
            if isinstance(node[k], list) and not node[k]:
                del node[k]
    elif isinstance(node, list):
        for v in node:
            _prune_empty(v)


def _shift(path: Path, removed: Sequence[Path]) -> Path | None:
    """Where a surviving selector points after ``removed`` were deleted (None: gone)."""
    new = list(path)
    for r in removed:
        if path[: len(r)] == r:
            return None
    for i, p in enumerate(path):
        if not isinstance(p, int):
            continue
        prefix = path[:i]
        n = sum(1 for r in removed if len(r) == i + 1 and r[:i] == prefix and isinstance(r[i], int) and r[i] < p)
        new[i] = p - n
    return tuple(new)


def redact(obj: dict[str, Any], c: Clearance, source: str | None, node_identity: str) -> tuple[dict[str, Any] | None, list[str]]:
    """``obj`` as ``c`` may receive it: (object, removed selectors), or (None, ...) when
    a property it cannot do without is marked above the clearance."""
    gms = obj.get("granular_markings")
    if not gms or not isinstance(gms, list):
        return obj, []
    remove: list[Path] = []
    for gm in gms:
        if not isinstance(gm, dict):
            continue
        lvl = markings.LEVEL_OF_ID.get(gm.get("marking_ref", ""))
        if lvl is None or c.allows(lvl, source):
            continue
        for sel in gm.get("selectors") or ():
            path = _parse(sel) if isinstance(sel, str) else None
            if path is None:
                # a selector we cannot follow might hide anything: withhold the object
                return None, [str(sel)]
            if _resolve(obj, path):
                remove.append(_widen(obj, path))
    if not remove:
        return obj, []
    required = _required(obj)
    removed_sel = sorted({_fmt(p) for p in remove})
    for p in remove:
        if len(p) == 1 and p[0] in required:
            return None, removed_sel
    out = _delete(obj, remove)
    for key in required & set(obj):
        if key not in out:  # a required list emptied by removing its elements
            return None, removed_sel
    kept: list[dict[str, Any]] = []
    for gm in out.get("granular_markings") or ():
        sels = []
        for sel in gm.get("selectors") or ():
            path = _parse(sel)
            moved = _shift(path, remove) if path else None
            if moved is not None and _resolve(out, moved):
                sels.append(_fmt(moved))
        if sels:
            kept.append(gm | {"selectors": sels})
    if kept:
        out["granular_markings"] = kept
    else:
        out.pop("granular_markings", None)
    exts = out.setdefault("extensions", {})
    mine = dict(exts.get(GROTIUS_EXTENSION_ID) or {"extension_type": "property-extension"})
    mine["redacted"] = {
        "selectors": removed_sel,
        "by": node_identity,
        "reason": "granular TLP markings above the recipient's clearance",
    }
    exts[GROTIUS_EXTENSION_ID] = mine
    return out, removed_sel


# -- the decision -----------------------------------------------------------------------


def disclose(
    node: "Node",
    principal: Any,
    stored_versions: Iterable[Stored],
    *,
    channel: str = "taxii",
    request_id: str | None = None,
    endpoint: str | None = None,
    collection: str | None = None,
    tx: "Tx | None" = None,
    audit: bool = True,
    clear: Clearance | None = None,
) -> list[tuple[Stored, dict[str, Any]]]:
    """The versions ``principal`` may receive, each with the object to send (the stored
    object itself, or a redacted copy). Disclosures to partners are audited: one entry
    listing every version sent, in ``tx`` when given (so the caller's own writes and the
    entry commit together), otherwise in a transaction of its own."""
    c = clear or clearance(node, principal, channel)
    out: list[tuple[Stored, dict[str, Any]]] = []
    redacted: dict[str, list[str]] = {}
    withheld = 0
    for st in stored_versions:
        if not c.allows(st.tlp, st.source):
            withheld += 1
            continue
        if c.everything:
            out.append((st, st.obj))
            continue
        obj, removed = redact(st.obj, c, st.source, node.identity_id)
        if obj is None:
            withheld += 1
            continue
        if removed:
            from .signing import for_redacted

            # the copy no longer matches its signature: re-signed if we originated it,
            # otherwise sent unsigned with a note (never with a signature that fails)
            obj = for_redacted(node, obj)
            redacted[f"{st.id}@{st.version}"] = removed
        out.append((st, obj))
    if audit and out and c.kind == "partner":
        record_disclosure(
            node, c, out, channel=channel, request_id=request_id, endpoint=endpoint,
            collection=collection, redacted=redacted, withheld=withheld, tx=tx,
        )
    return out


def record_disclosure(
    node: "Node",
    c: Clearance,
    sent: Sequence[tuple[Stored, dict[str, Any]]],
    *,
    channel: str,
    request_id: str | None,
    endpoint: str | None,
    collection: str | None,
    redacted: dict[str, list[str]],
    withheld: int,
    tx: "Tx | None" = None,
) -> None:
    from . import audit

    kwargs: dict[str, Any] = dict(
        partner=c.who,
        objects=[(st.id, st.version) for st, _ in sent],
        agreement=c.agreement,
        request_id=request_id,
        detail={
            "channel": channel, "endpoint": endpoint, "collection": collection,
            "count": len(sent), "redacted": redacted, "withheld": withheld,
        },
    )
    if tx is not None:
        audit.record(tx, "disclose", **kwargs)
    else:
        audit.record_now(node.store, "disclose", **kwargs)


def can_read(principal: Any, collection: str) -> bool:
    """May this principal read this collection at all (before any TLP decision)?"""
    if principal is None:
        return False
    if principal.kind == "user":
        return True
    p = (principal.extra or {}).get("partner")
    return principal.kind == "partner" and p is not None and not p.disabled and p.can_read(collection)


def can_write(principal: Any, collection: str) -> bool:
    if principal is None:
        return False
    if principal.kind == "user":
        return True
    p = (principal.extra or {}).get("partner")
    return principal.kind == "partner" and p is not None and not p.disabled and p.can_write(collection)
