"""Requests for information: a hit of a hit/no-hit run becomes a request to the partner
that holds the value; the holder approves it in full, in part, or declines it.

Two STIX objects of the node extension carry it, each versioned only by its author
(STIX lets only an object's creator version it, and a node signs only its own objects):

* ``x-grotius-request``, made and signed by the requester: what is asked, the legal
  basis, urgency, deadline, the run (``match_ref``, ``session``) and the hit values asked
  about, and ``status``. Its status changes (withdrawn; the holder's answer once received)
  are new versions of it, sent to the holder as well, so both sides hold the same chain.
* ``x-grotius-request-decision``, made and signed by the holder: approved,
  partially-approved or declined, the reason, and what it discloses (``disclosed``: id
  and version of each object, and for a redacted derivative the original it was made
  from and the properties left out).

Transport is the authenticated partner channel (the partner account, as for TAXII and
PSI): the requester POSTs request versions to ``/api/match/rfi/requests`` and fetches
the holder's answer from ``/api/match/rfi/requests/{id}``. The requester pulls the answer
because it already has the channel (it sent the request) and can retry until it gets it;
the holder needs no credentials for the requester's node and loses nothing when the
requester is offline. Every object that leaves a node goes through
:func:`grotius.sharing.policy.disclose` (agreement and TLP, RED never) and its audit
entry; the receiver stores what it gets through :func:`grotius.ingest.ingest` with the
partner as source, so signatures are checked and the write is audited.

Partial approval never alters an originator's signed object: a property the holder
withholds is left out of a *derivative* the holder makes and signs (a new id, same type
and markings), whose node-extension ``redacted`` notice names the original id, version
and the properties left out. Whole objects travel as stored.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, Iterable, Sequence
from urllib.parse import urlparse

import orjson

from grotius.exc import Conflict, Forbidden, GrotiusError, IntegrityError, InvalidInput, NotFound, PolicyError
from grotius.sharing import audit, partners, policy
from grotius.stix import extension, markings
from grotius.stix.grading import GROTIUS_EXTENSION_ID
from grotius.store import objects as store_objects
from grotius.store.engine import Tx
from grotius.store.objects import Stored, now_us

if TYPE_CHECKING:
    from grotius.node import Node
    from grotius.web.auth import Principal

REQUEST_TYPE = "x-grotius-request"
DECISION_TYPE = "x-grotius-request-decision"
MATCH_TYPE = "x-grotius-match"
PARTNER_PREFIX = "/api/match/rfi/"
STATUSES = ("open", "approved", "partially-approved", "declined", "withdrawn")
DECIDED = ("approved", "partially-approved", "declined")
URGENCIES = ("routine", "urgent", "immediate")
LEGAL_BASES: dict[str, str] = {
    "mla": "mutual legal assistance",
    "police-cooperation": "police cooperation",
    "europol": "Europol (SIENA)",
    "fiu": "FIU-to-FIU exchange",
    "other": "other (see text)",
}
#: properties a derivative always keeps: identity, provenance and markings must travel
KEPT = frozenset({"type", "id", "spec_version", "created", "modified", "created_by_ref",
                  "object_marking_refs", "granular_markings", "extensions"})
_NS = uuid.UUID("6f1c2e8a-4b7d-4e21-9a3f-0d5e7c9b1a42")
_TIMEOUT = 30.0


# -- time -------------------------------------------------------------------------------


def _ts(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse_ts(text: str) -> datetime:
    t = text.strip()
    if t.endswith(("Z", "z")):
        t = t[:-1] + "+00:00"
    dt = datetime.fromisoformat(t)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def parse_deadline(text: str, *, now: datetime | None = None) -> str:
    """A deadline as RFC 3339 (UTC). A bare date means the end of that day (UTC)."""
    raw = (text or "").strip()
    if not raw:
        raise InvalidInput("a request needs a deadline (a date such as 2026-12-05 or a timestamp)",
                           property="deadline")
    try:
        if len(raw) == 10:
            dt = datetime.strptime(raw, "%Y-%m-%d").replace(tzinfo=timezone.utc) + timedelta(days=1, milliseconds=-1)
        else:
            dt = _parse_ts(raw)
    except ValueError:
        raise InvalidInput(f"deadline {raw!r} is not a date (YYYY-MM-DD) or an RFC 3339 timestamp",
                           property="deadline", value=raw) from None
    if dt <= (now or datetime.now(timezone.utc)):
        raise InvalidInput(f"deadline {raw!r} is in the past", property="deadline", value=raw)
    return _ts(dt)


def _after(prev: str | None) -> str:
    """Now, or a millisecond after ``prev``: versions of one object strictly increase."""
    now = datetime.now(timezone.utc)
    if prev:
        floor = _parse_ts(prev) + timedelta(milliseconds=1)
        now = max(now, floor)
    return _ts(now)


def is_overdue(status: str, deadline: str) -> bool:
    try:
        return status == "open" and _parse_ts(deadline) < datetime.now(timezone.utc)
    except ValueError:
        return False


# -- the table (kept in step by the ingest hook) ----------------------------------------


def record_hook(tx: Tx, node: "Node", stored: list[Stored]) -> None:
    """Ingest hook: the request table follows every stored request and decision version."""
    for st in stored:
        if st.type == REQUEST_TYPE:
            _record_request(tx, node, st)
        elif st.type == DECISION_TYPE:
            _record_decision(tx, st)


def _record_request(tx: Tx, node: "Node", st: Stored) -> None:
    o = st.obj
    outgoing = st.source is None and o.get("created_by_ref") == node.identity_id
    row = tx.query_one("SELECT status FROM matching_requests WHERE request_id = ?", (o["id"],))
    status = str(o.get("status", "open"))
    latest = tx.query_one("SELECT MAX(version) FROM objects WHERE id = ?", (o["id"],))
    if latest and latest[0] and latest[0] > st.version:
        return  # an older version arriving late changes nothing
    if row is not None and status == "open" and row[0] in DECIDED:
        status = row[0]  # the holder's answer is known here already
    summary = str(o.get("name", ""))[:250]
    if row is None:
        tx.execute(
            "INSERT INTO matching_requests (request_id, direction, partner, status, urgency, deadline, summary, "
            "created_us, updated_us) VALUES (?,?,?,?,?,?,?,?,?)",
            (o["id"], "outgoing" if outgoing else "incoming", o.get("holder") if outgoing else st.source,
             status, str(o.get("urgency", "routine")), str(o.get("deadline", "")), summary,
             st.date_added, st.date_added),
        )
    else:
        tx.execute(
            "UPDATE matching_requests SET status = ?, urgency = ?, deadline = ?, summary = ?, updated_us = ? "
            "WHERE request_id = ?",
            (status, str(o.get("urgency", "routine")), str(o.get("deadline", "")), summary, st.date_added, o["id"]),
        )


def _record_decision(tx: Tx, st: Stored) -> None:
    o = st.obj
    tx.execute(
        "UPDATE matching_requests SET status = ?, decision_id = ?, updated_us = ? "
        "WHERE request_id = ? AND status <> 'withdrawn'",
        (str(o.get("outcome")), o["id"], st.date_added, str(o.get("request_ref"))),
    )


def register() -> None:
    from grotius import ingest

    if record_hook not in ingest.HOOKS:
        ingest.HOOKS.append(record_hook)


_COLS = ("request_id", "direction", "partner", "status", "urgency", "deadline", "summary",
         "decision_id", "delivered_us", "created_us", "updated_us")


def _row(r: Sequence[Any]) -> dict[str, Any]:
    d = dict(zip(_COLS, r))
    d["overdue"] = is_overdue(d["status"], d["deadline"])
    d["shown_status"] = "overdue" if d["overdue"] else d["status"]
    d["created"] = _ts(datetime.fromtimestamp(d["created_us"] / 1e6, timezone.utc))
    d["updated"] = _ts(datetime.fromtimestamp(d["updated_us"] / 1e6, timezone.utc))
    d["delivered"] = d["delivered_us"] is not None or d["direction"] == "incoming"
    return d


def list_requests(node: "Node", *, direction: str | None = None, status: str | None = None,
                  limit: int = 500) -> list[dict[str, Any]]:
    """Both directions, newest first; ``status`` may also be ``overdue``."""
    if direction not in (None, "", "incoming", "outgoing"):
        raise InvalidInput(f"direction must be incoming or outgoing, not {direction!r}", property="direction")
    if status not in (None, "", "all", "overdue", *STATUSES):
        raise InvalidInput(f"unknown status {status!r}; expected one of {', '.join(STATUSES)}, overdue or all",
                           property="status")
    where, params = [], []
    if direction:
        where.append("direction = ?")
        params.append(direction)
    if status and status not in ("all", "overdue"):
        where.append("status = ?")
        params.append(status)
    if status == "overdue":
        where.append("status = 'open'")
    sql = f"SELECT {', '.join(_COLS)} FROM matching_requests"
    if where:
        sql += " WHERE " + " AND ".join(where)
    rows = [_row(r) for r in node.store.query(sql + " ORDER BY updated_us DESC LIMIT ?", (*params, int(limit)))]
    return [r for r in rows if r["overdue"]] if status == "overdue" else rows


def row(node: "Node", rid: str) -> dict[str, Any]:
    r = node.store.query_one(f"SELECT {', '.join(_COLS)} FROM matching_requests WHERE request_id = ?", (rid,))
    if r is None:
        raise NotFound(f"no request for information {rid} (see `grotius rfi list`)", object_id=rid)
    return _row(r)


def _latest(node: "Node", oid: str) -> dict[str, Any] | None:
    r = node.store.query_one("SELECT raw FROM objects WHERE id = ? ORDER BY version DESC LIMIT 1", (oid,))
    return orjson.loads(r[0]) if r else None


def _stored_latest(node: "Node", oid: str) -> Stored:
    r = node.store.query_one("SELECT version FROM objects WHERE id = ? ORDER BY version DESC LIMIT 1", (oid,))
    st = store_objects.get(node.store, oid, r[0]) if r else None
    if st is None:
        raise NotFound(f"no object {oid}", object_id=oid)
    return st


def _store(node: "Node", objs: list[dict[str, Any]], source: str | None = None) -> list[Stored]:
    from grotius.ingest import ingest

    s = ingest(node, objs, source=source, strict_refs=source is None, quiet=True)
    if not s.ok:
        raise s.errors[0]
    return s.results


# -- requester side: create ---------------------------------------------------------------


def _pick_hits(match: dict[str, Any], values: Iterable[str]) -> list[dict[str, str]]:
    hits = [h for h in match.get("hits") or () if isinstance(h, dict)]
    wanted = [v.strip() for v in values if v and v.strip()]
    if not wanted:
        if not hits:
            raise InvalidInput(f"run {match['id']} has no hits to ask about", object_id=match["id"])
        return hits
    out: list[dict[str, str]] = []
    for v in wanted:
        kind, sep, rest = v.partition(":")
        found = [h for h in hits if h["value"] == v or (sep and h["type"] == kind and h["value"] == rest)]
        if not found:
            raise InvalidInput(
                f"{v!r} is not a hit of run {match['id']}; its hits are: "
                + ", ".join(h["value"] for h in hits[:20]),
                property="values", value=v, object_id=match["id"],
            )
        out.extend(h for h in found if h not in out)
    return out


def create(
    node: "Node",
    match_id: str,
    values: Sequence[str],
    *,
    asked: str,
    legal_basis: str,
    legal_basis_text: str = "",
    urgency: str = "routine",
    deadline: str,
    tlp: str = "amber",
    by: str | None = None,
    send: bool = True,
) -> dict[str, Any]:
    """Turn hits of a hit/no-hit run into a request to the partner of that run, store it
    (signed) and send it. A request that could not be sent stays here, marked undelivered;
    :func:`refresh` sends it again."""
    match = _latest(node, match_id) if match_id.startswith(MATCH_TYPE + "--") else None
    if match is None or match.get("type") != MATCH_TYPE:
        raise NotFound(f"no hit/no-hit run {match_id} on this node", object_id=match_id, property="match")
    if match.get("role") != "requester":
        raise InvalidInput(f"run {match_id} was asked by {match.get('partner')}: only the side that asked "
                           "can request information on its hits", object_id=match_id, property="match")
    hits = _pick_hits(match, values)
    if not (asked or "").strip():
        raise InvalidInput("say what is asked (free text)", property="asked")
    if legal_basis not in LEGAL_BASES:
        raise InvalidInput(f"unknown legal basis {legal_basis!r}; expected one of {', '.join(LEGAL_BASES)}",
                           property="legal_basis", known=list(LEGAL_BASES))
    if legal_basis == "other" and not legal_basis_text.strip():
        raise InvalidInput("legal basis 'other' needs the basis in words", property="legal_basis_text")
    if urgency not in URGENCIES:
        raise InvalidInput(f"unknown urgency {urgency!r}; expected one of {', '.join(URGENCIES)}",
                           property="urgency")
    level = markings.level(tlp)
    if level == "red":
        raise PolicyError("a request cannot be TLP:RED: RED never leaves this node", property="tlp")
    due = parse_deadline(deadline)
    partner = partners.get(node, str(match["partner"]))
    clear = policy.clearance(node, partners.principal_for(node, partner), "api")
    if send and not clear.allows(level, None):
        raise PolicyError(f"the agreement with {partner.name} ({clear.agreement}, up to TLP:"
                          f"{partner.tlp_max.upper()}) does not allow sending a TLP:{level.upper()} request",
                          partner=partner.name, tlp=level, property="tlp")
    now = _after(None)
    rid = f"{REQUEST_TYPE}--{uuid.uuid4()}"
    obj: dict[str, Any] = {
        "type": REQUEST_TYPE, "spec_version": "2.1", "id": rid, "created": now, "modified": now,
        "created_by_ref": node.identity_id,
        "name": f"Request for information to {partner.name}: {', '.join(h['value'] for h in hits)}"[:250],
        "asked": asked.strip()[:4000],
        "legal_basis": legal_basis,
        "legal_basis_text": (legal_basis_text.strip() or LEGAL_BASES[legal_basis])[:1000],
        "urgency": urgency, "deadline": due,
        "requester": node.config.org, "requester_ref": node.identity_id,
        "holder": partner.name,
        "match_ref": match["id"], "session": match["session"],
        "hits": [{"type": h["type"], "value": h["value"]} for h in hits],
        "status": "open",
        "object_marking_refs": [markings.TLP2_IDS[level]],
        "extensions": extension.new_sdo_extension(),
    }
    if partner.identity_id:
        obj["holder_ref"] = partner.identity_id
    if by:
        obj["requested_by"] = by[:100]
    _store(node, [obj])
    with node.store.transaction() as tx:
        audit.record(tx, "rfi.create", partner=partner.name, objects=[(rid, store_objects.norm_ts(now))],
                     request_id=rid,
                     detail={"urgency": urgency, "deadline": due, "hits": len(hits), "legal_basis": legal_basis})
    if send:
        try:
            deliver(node, rid)
        except GrotiusError as e:
            e.message = (f"{e.message}; the request is kept here as {rid}, not delivered: "
                         f"send it again with `grotius rfi refresh {rid}`")
            e.args = (e.message,)
            raise
    return _latest(node, rid) or obj


# -- the partner channel ----------------------------------------------------------------


def _http(node: "Node", partner: partners.Partner) -> tuple[str, Any]:
    import httpx

    if not partner.url or not partner.remote_user:
        raise InvalidInput(
            f"partner {partner.name!r} has no URL or remote account: set them with `grotius partner update`",
            partner=partner.name,
        )
    u = urlparse(partner.url)
    client = httpx.Client(auth=httpx.BasicAuth(partner.remote_user, partners.remote_password(node, partner) or ""),
                          timeout=_TIMEOUT)
    return f"{u.scheme}://{u.netloc}{PARTNER_PREFIX.rstrip('/')}", client


def _call(node: "Node", partner: partners.Partner, method: str, path: str, body: Any = None) -> dict[str, Any]:
    import httpx

    base, client = _http(node, partner)
    last = ""
    try:
        for attempt in range(3):
            try:
                r = client.request(method, base + path, json=body)
            except httpx.TransportError as e:
                last = f"{type(e).__name__}: {e}"
                time.sleep(0.3 * 2 ** attempt)
                continue
            try:
                doc = r.json()
            except ValueError:
                doc = {"message": r.text[:200]}
            if r.status_code >= 400:
                cls: type[GrotiusError] = {400: InvalidInput, 401: Forbidden, 403: Forbidden, 404: NotFound,
                                           409: Conflict}.get(r.status_code, GrotiusError)
                raise cls(f"{partner.name} refused: {doc.get('message', r.status_code)}",
                          partner=partner.name, status=r.status_code, code=doc.get("error"))
            return doc if isinstance(doc, dict) else {}
        raise GrotiusError(f"{partner.name} unreachable at {base}: {last}", partner=partner.name)
    finally:
        client.close()


def _send_versions(node: "Node", partner: partners.Partner, rid: str, versions: list[Stored]) -> None:
    """Disclose request versions to the holder (policy-checked), then audit what went."""
    principal = partners.principal_for(node, partner, via="rfi")
    clear = policy.clearance(node, principal, "api")
    sent = policy.disclose(node, principal, versions, channel="api", audit=False, clear=clear)
    if len(sent) < len(versions):
        st = versions[0]
        raise PolicyError(
            f"the agreement with {partner.name} ({clear.agreement}, up to TLP:{partner.tlp_max.upper()}) "
            f"does not allow sending this TLP:{st.tlp.upper()} request",
            partner=partner.name, object_id=rid, tlp=st.tlp,
        )
    _call(node, partner, "POST", "/requests", {"objects": [obj for _, obj in sent]})
    with node.store.transaction() as tx:
        policy.record_disclosure(node, clear, sent, channel="api", request_id=rid,
                                 endpoint=PARTNER_PREFIX + "requests", collection=None,
                                 redacted={}, withheld=0, tx=tx)
        tx.execute("UPDATE matching_requests SET delivered_us = ? WHERE request_id = ?", (now_us(), rid))


def deliver(node: "Node", rid: str) -> None:
    """Send the request's latest version to its holder."""
    r = row(node, rid)
    if r["direction"] != "outgoing":
        raise InvalidInput(f"{rid} was sent to this node; only its requester delivers it", object_id=rid)
    _send_versions(node, partners.get(node, r["partner"]), rid, [_stored_latest(node, rid)])


# -- holder side: receive ---------------------------------------------------------------


def _validate(obj: Any) -> dict[str, Any]:
    if not isinstance(obj, dict) or obj.get("type") != REQUEST_TYPE:
        raise InvalidInput(f"expected an {REQUEST_TYPE} object", property="type")
    for key in ("id", "asked", "legal_basis", "urgency", "deadline", "session", "hits", "status"):
        if key not in obj:
            raise InvalidInput(f"request lacks {key!r}", object_id=obj.get("id"), property=key)
    if obj["status"] not in STATUSES:
        raise InvalidInput(f"unknown status {obj['status']!r}", object_id=obj["id"], property="status")
    if obj["urgency"] not in URGENCIES:
        raise InvalidInput(f"unknown urgency {obj['urgency']!r}", object_id=obj["id"], property="urgency")
    if not isinstance(obj["hits"], list) or not obj["hits"] or not all(
            isinstance(h, dict) and isinstance(h.get("type"), str) and isinstance(h.get("value"), str)
            for h in obj["hits"]):
        raise InvalidInput("hits must be a non-empty list of {type, value}", object_id=obj["id"], property="hits")
    return obj


def receive(node: "Node", principal: "Principal", objs: Any) -> dict[str, Any]:
    """A partner sends a version of one of its requests (new, withdrawn, or acknowledging
    this node's answer). Checked against this node's own record of the run."""
    partner_name = principal.name
    if not isinstance(objs, list) or len(objs) != 1:
        raise InvalidInput("send exactly one request version in 'objects'", property="objects")
    obj = _validate(objs[0])
    p = partners.get(node, partner_name)
    rid = obj["id"]
    if p.identity_id and obj.get("created_by_ref") != p.identity_id:
        raise Forbidden(f"{rid} is not made by {partner_name} ({p.identity_id})", object_id=rid)
    if obj.get("holder_ref") not in (None, node.identity_id):
        raise InvalidInput(f"{rid} is addressed to {obj.get('holder_ref')}, not to this node", object_id=rid)
    existing = node.store.query_one("SELECT direction, partner, status FROM matching_requests WHERE request_id = ?",
                                    (rid,))
    if existing is not None and (existing[0] != "incoming" or existing[1] != partner_name):
        raise Forbidden(f"{rid} is not a request of {partner_name}", object_id=rid)
    if existing is None:
        if obj["status"] != "open":
            raise InvalidInput(f"a new request must be open, not {obj['status']}", object_id=rid, property="status")
        run = node.store.query_one(
            "SELECT rid FROM matching_runs WHERE session = ? AND role = 'holder' AND partner = ?",
            (str(obj["session"]), partner_name))
        if run is None:
            raise InvalidInput(f"{partner_name} ran no hit/no-hit session {obj['session']} with this node",
                               object_id=rid, property="session")
        held = {(k, v) for k, v in node.store.query("SELECT kind, value FROM matching_hits WHERE rid = ?", (run[0],))}
        for h in obj["hits"]:
            if (h["type"], h["value"]) not in held:
                raise InvalidInput(f"{h['type']} {h['value']!r} was not a hit of session {obj['session']}: "
                                   "a request may only ask about hits", object_id=rid, property="hits")
        parse_deadline(obj["deadline"], now=datetime(1970, 1, 1, tzinfo=timezone.utc))  # well-formed
    else:
        first = node.store.query_one("SELECT raw FROM objects WHERE id = ? ORDER BY version LIMIT 1", (rid,))
        before = orjson.loads(first[0]) if first else {}
        for key in ("hits", "session", "match_ref"):
            if obj.get(key) != before.get(key):
                raise InvalidInput(f"{rid}: a later version cannot change {key!r}", object_id=rid, property=key)
        now = existing[2]
        # the requester may withdraw an open request, or acknowledge this node's own answer
        if not (obj["status"] == now or (obj["status"] == "withdrawn" and now == "open")):
            raise Conflict(f"{rid} is {now} here: a version saying {obj['status']} is refused",
                           object_id=rid, status=now)
    from grotius.sharing.audit import acting_as

    with acting_as(f"partner:{partner_name}"):
        _store(node, [obj], source=partner_name)
        with node.store.transaction() as tx:
            audit.record(tx, "rfi.receive", partner=partner_name, request_id=rid,
                         objects=[(rid, store_objects.version_of(obj))],
                         detail={"status": obj["status"], "urgency": obj["urgency"], "deadline": obj["deadline"]})
    return {"request_id": rid, "status": row(node, rid)["status"]}


# -- holder side: what it holds, and the decision -----------------------------------------


def _request(node: "Node", rid: str) -> dict[str, Any]:
    obj = _latest(node, rid)
    if obj is None or obj.get("type") != REQUEST_TYPE:
        raise NotFound(f"no request for information {rid} (see `grotius rfi list`)", object_id=rid)
    return obj


def _open(node: "Node", rid: str, direction: str, wrong: str) -> dict[str, Any]:
    """The table row of an open request of this direction (clear errors otherwise)."""
    r = row(node, rid)
    if r["direction"] != direction:
        raise InvalidInput(f"{rid} {wrong}", object_id=rid)
    if r["status"] != "open":
        raise Conflict(f"{rid} is {r['status']} already", object_id=rid, status=r["status"])
    return r


def _next_version(req: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A new version of this node's own request: later ``modified``, without the old
    version's signature (ingest signs the new one)."""
    new = {**req, **changes}
    new["modified"] = _after(req["modified"])
    new["extensions"] = extension.new_sdo_extension()
    return new


def droppable(obj: dict[str, Any]) -> list[str]:
    """Properties a holder may leave out of a derivative: not required, not provenance."""
    need = policy._required(obj)
    return sorted(k for k in obj if k not in need and k not in KEPT)


def proposed(node: "Node", rid: str) -> list[dict[str, Any]]:
    """The objects this node holds that mention the requested hit values (latest mentioned
    version of each), with whether the agreement lets each go to the requester."""
    r = row(node, rid)
    if r["direction"] != "incoming":
        raise InvalidInput(f"{rid} is this node's own request: the holder proposes objects", object_id=rid)
    req = _request(node, rid)
    clear = policy.clearance(node, partners.principal_for(node, partners.get(node, r["partner"])), "api")
    best: dict[str, tuple[str, int, list[str]]] = {}
    for h in req["hits"]:
        for oid, otype, version, pk in node.store.query(
            "SELECT o.id, o.type, o.version, o.pk FROM correlate_values v JOIN correlate_mentions m ON m.vid = v.vid "
            "JOIN objects o ON o.pk = m.pk WHERE v.kind = ? AND v.value = ?", (h["type"], h["value"])):
            if otype.startswith("x-grotius-"):
                continue  # the node's own bookkeeping (runs, leads, requests) is not evidence
            prev = best.get(oid)
            if prev is None or version > prev[0]:
                best[oid] = (version, pk, (prev[2] if prev else []))
            if h["value"] not in best[oid][2]:
                best[oid][2].append(h["value"])
    out = []
    for oid, (version, _pk, values) in sorted(best.items()):
        st = store_objects.get(node.store, oid, version)
        if st is None:
            continue
        ok = clear.allows(st.tlp, st.source)
        out.append({
            "id": oid, "type": st.type, "version": version, "tlp": st.tlp, "source": st.source or node.config.org,
            "name": st.obj.get("name") or st.obj.get("value") or oid, "values": values,
            "disclosable": ok,
            "why_not": None if ok else _why_not(st, clear),
            "properties": droppable(st.obj), "obj": st.obj,
        })
    return out


def _why_not(st: Stored, clear: policy.Clearance) -> str:
    if st.tlp == "red":
        return "TLP:RED never leaves this node"
    if st.source is not None and st.source != clear.who:
        return (f"TLP:{st.tlp.upper()} received from {st.source}: it may not be passed on to {clear.who}")
    return f"TLP:{st.tlp.upper()} is above the agreement with {clear.who} ({clear.agreement})"


def _derivative(node: "Node", rid: str, st: Stored, disclosed: dict[str, Any], drop: list[str]) -> dict[str, Any]:
    """The holder's own redacted copy of ``st``: a new id, the holder as author."""
    out = {k: copy.deepcopy(v) for k, v in disclosed.items() if k not in drop}
    now = _after(None)
    out["id"] = f"{st.type}--{uuid.uuid5(_NS, f'{rid}|{st.id}|{st.version}')}"
    out["created"] = out["modified"] = now
    out["created_by_ref"] = node.identity_id
    gms = []
    for gm in out.get("granular_markings") or ():
        sels = [s for s in gm.get("selectors") or () if str(s).split(".")[0].split("[")[0] not in drop]
        if sels:
            gms.append({**gm, "selectors": sels})
    if gms:
        out["granular_markings"] = gms
    else:
        out.pop("granular_markings", None)
    exts = {k: v for k, v in (out.get("extensions") or {}).items() if k != GROTIUS_EXTENSION_ID}
    mine = {k: v for k, v in ((disclosed.get("extensions") or {}).get(GROTIUS_EXTENSION_ID) or {}).items()
            if k not in ("signature", "redacted")}
    mine.setdefault("extension_type", "property-extension")
    mine["redacted"] = {
        "selectors": sorted(drop), "by": node.identity_id,
        "reason": f"partial approval of request for information {rid}",
        "derived_from": st.id, "derived_from_version": st.version,
    }
    exts[GROTIUS_EXTENSION_ID] = mine
    out["extensions"] = exts
    return out


def decide(
    node: "Node",
    rid: str,
    *,
    approve: bool,
    objects: Sequence[str] | None = None,
    drop: dict[str, list[str]] | None = None,
    reason: str = "",
    by: str | None = None,
) -> dict[str, Any]:
    """The holder's answer. ``objects`` None approves every proposed object the agreement
    allows; ``drop`` maps an object id to properties left out of what is disclosed."""
    r = _open(node, rid, "incoming", "is this node's own request: only its holder decides")
    req = _request(node, rid)
    reason = (reason or "").strip()
    drop = {k: list(dict.fromkeys(v)) for k, v in (drop or {}).items() if v}
    partner = partners.get(node, r["partner"])
    principal = partners.principal_for(node, partner, via="rfi")
    clear = policy.clearance(node, principal, "api")
    level = markings.object_level(req, "amber")
    if not clear.allows(level, None):
        raise PolicyError(f"the answer to {rid} would be TLP:{level.upper()}, above the agreement with "
                          f"{partner.name} ({clear.agreement})", object_id=rid)
    disclosed: list[dict[str, Any]] = []
    new_objs: list[dict[str, Any]] = []
    if not approve:
        if not reason:
            raise InvalidInput("declining a request needs a reason", property="reason")
        if objects or drop:
            raise InvalidInput("a declined request discloses nothing: leave out objects and properties",
                               property="objects")
        outcome = "declined"
    else:
        props = {p["id"]: p for p in proposed(node, rid)}
        if objects is None:
            chosen = [i for i, p in props.items() if p["disclosable"]]
        else:
            chosen = list(dict.fromkeys(objects))
        if not chosen:
            raise InvalidInput("nothing to disclose: choose objects, or decline with a reason", property="objects")
        for oid in chosen:
            if oid not in props:
                raise InvalidInput(f"{oid} is not among the objects this node holds for the requested values",
                                   object_id=oid, property="objects")
            if not props[oid]["disclosable"]:
                raise PolicyError(f"{oid} cannot be disclosed to {partner.name}: {props[oid]['why_not']}",
                                  object_id=oid, tlp=props[oid]["tlp"], agreement=clear.agreement)
        for oid, names in drop.items():
            if oid not in chosen:
                raise InvalidInput(f"properties of {oid} are dropped but the object is not disclosed",
                                   object_id=oid, property="drop")
            bad = [n for n in names if n not in props[oid]["properties"]]
            if bad:
                raise InvalidInput(
                    f"{oid}: {', '.join(bad)} cannot be left out (required, provenance or not present); "
                    f"droppable: {', '.join(props[oid]['properties']) or 'none'}",
                    object_id=oid, property="drop")
        for oid in chosen:
            st = store_objects.get(node.store, oid, props[oid]["version"])
            assert st is not None
            sent = policy.disclose(node, principal, [st], channel="api", audit=False, clear=clear)
            if not sent:  # a granular marking it cannot do without
                raise PolicyError(f"{oid} cannot be disclosed to {partner.name}: a property it needs is "
                                  "marked above the agreement", object_id=oid, agreement=clear.agreement)
            if oid in drop:
                d = _derivative(node, rid, st, sent[0][1], drop[oid])
                new_objs.append(d)
                disclosed.append({"object_ref": d["id"], "version": store_objects.version_of(d),
                                  "object_type": st.type,
                                  "derived_from": oid, "derived_from_version": st.version,
                                  "dropped": sorted(drop[oid])})
            else:
                disclosed.append({"object_ref": oid, "version": st.version, "object_type": st.type})
        full = objects is None or set(chosen) == set(props)
        outcome = "approved" if full and not drop and all(p["disclosable"] for p in props.values()) else \
            "partially-approved"
    did = f"{DECISION_TYPE}--{uuid.uuid5(_NS, rid)}"
    now = _after(None)
    decision: dict[str, Any] = {
        "type": DECISION_TYPE, "spec_version": "2.1", "id": did, "created": now, "modified": now,
        "created_by_ref": node.identity_id,
        "name": f"{outcome.replace('-', ' ')}: {req.get('name', rid)}"[:250],
        "request_ref": rid, "outcome": outcome, "holder": node.config.org,
        "requester": str(req.get("requester") or partner.name),
        "disclosed": disclosed,
        "object_marking_refs": [markings.TLP2_IDS[level]],
        "extensions": extension.new_sdo_extension(),
    }
    if reason:
        decision["reason"] = reason[:2000]
    if by:
        decision["decided_by"] = by[:100]
    _store(node, new_objs + [decision])
    with node.store.transaction() as tx:
        audit.record(tx, "rfi.decide", partner=partner.name, request_id=rid,
                     objects=[(did, store_objects.norm_ts(now))]
                     + [(d["object_ref"], d["version"]) for d in disclosed],
                     agreement=clear.agreement,
                     detail={"outcome": outcome, "reason": reason or None, "disclosed": len(disclosed),
                             "derived": [d["object_ref"] for d in disclosed if "derived_from" in d]})
    return decision


def answer_for(node: "Node", principal: "Principal", rid: str) -> dict[str, Any]:
    """Partner endpoint: the holder's answer and the approved objects, each through the
    disclosure policy (re-checked now, audited as a disclosure to the requester)."""
    r = node.store.query_one("SELECT direction, partner, status, decision_id FROM matching_requests "
                             "WHERE request_id = ?", (rid,))
    if r is None or r[0] != "incoming" or r[1] != principal.name:
        raise NotFound(f"no request {rid} from {principal.name}", object_id=rid)
    if not r[3]:
        return {"request_id": rid, "status": r[2], "objects": []}
    decision = _stored_latest(node, r[3])
    versions = [decision]
    for d in decision.obj.get("disclosed") or ():
        st = store_objects.get(node.store, d["object_ref"], d["version"])
        if st is not None:
            versions.append(st)
    with audit.acting_as(f"partner:{principal.name}"):
        sent = policy.disclose(node, principal, versions, channel="api", request_id=rid,
                               endpoint=f"{PARTNER_PREFIX}requests/{rid}")
    return {"request_id": rid, "status": r[2], "objects": [obj for _, obj in sent]}


# -- requester side: fetch the answer, withdraw -------------------------------------------


_REFRESHING = threading.Lock()


def refresh(node: "Node", rid: str) -> dict[str, Any]:
    """Send an undelivered request, or fetch the holder's answer and store it (source =
    the holder, signatures checked); a decided request gets a new version saying so."""
    with _REFRESHING:  # the web poller and a user's click must not both record the answer
        return _refresh(node, rid)


def _refresh(node: "Node", rid: str) -> dict[str, Any]:
    r = row(node, rid)
    if r["direction"] != "outgoing":
        raise InvalidInput(f"{rid} was sent to this node: its status here is the one you set", object_id=rid)
    partner = partners.get(node, r["partner"])
    if r["delivered_us"] is None:
        deliver(node, rid)
        return {"request_id": rid, "delivered": True, "status": row(node, rid)["status"], "received": 0}
    doc = _call(node, partner, "GET", f"/requests/{rid}")
    objs = [o for o in doc.get("objects") or () if isinstance(o, dict)]
    decision = next((o for o in objs if o.get("type") == DECISION_TYPE and o.get("request_ref") == rid), None)
    if objs and decision is None:
        raise IntegrityError(f"{partner.name} sent objects without its decision on {rid}", object_id=rid)
    received = 0
    if objs:
        with audit.acting_as(f"sync:{partner.name}"):
            from grotius.ingest import ingest

            s = ingest(node, objs, source=partner.name, strict_refs=False, quiet=True)
        if not s.ok:
            raise IntegrityError(f"{s.rejected} object(s) from {partner.name} rejected: {s.errors[0]}",
                                 object_id=rid)
        received = s.stored
    req = _request(node, rid)
    if decision is not None and req.get("status") == "open":
        st = _store(node, [_next_version(req, status=decision["outcome"], decision_ref=decision["id"])])
        try:  # tell the holder its answer arrived (both sides then hold the same chain)
            _send_versions(node, partner, rid, [s for s in st if s.id == rid] or [_stored_latest(node, rid)])
        except GrotiusError:
            pass  # the holder knows its own decision; the acknowledgement is a courtesy
    return {"request_id": rid, "delivered": True, "status": row(node, rid)["status"], "received": received}


def refresh_open(node: "Node") -> list[dict[str, Any]]:
    out = []
    for r in list_requests(node, direction="outgoing"):
        if r["status"] == "open":
            try:
                out.append(refresh(node, r["request_id"]))
            except GrotiusError as e:
                out.append({"request_id": r["request_id"], "error": str(e)})
    return out


def withdraw(node: "Node", rid: str, reason: str = "", by: str | None = None) -> dict[str, Any]:
    r = _open(node, rid, "outgoing", "was sent to this node: decline it instead")
    if r["delivered_us"] is not None and refresh(node, rid)["status"] != "open":
        r = row(node, rid)
        raise Conflict(f"{rid} was answered by {r['partner']} already ({r['status']}); the answer is now here",
                       object_id=rid, status=r["status"])
    extra = {"status_reason": reason.strip()[:1000]} if reason.strip() else {}
    if by:
        extra["status_by"] = by[:100]
    new = _next_version(_request(node, rid), status="withdrawn", **extra)
    _store(node, [new])
    if r["delivered_us"] is not None:
        deliver(node, rid)
    return new


# -- one request, both sides --------------------------------------------------------------


def detail(node: "Node", rid: str) -> dict[str, Any]:
    """Everything a page or API caller shows about a request."""
    r = row(node, rid)
    req = _request(node, rid)
    out: dict[str, Any] = {**r, "request": req, "versions": len(store_objects.versions(node.store, rid)),
                           "legal_basis_label": LEGAL_BASES.get(str(req.get("legal_basis")), req.get("legal_basis")),
                           "request_tlp": markings.object_level(req, "amber"),
                           "decision": None, "disclosed": [], "proposed": []}
    if r["decision_id"]:
        dec = _latest(node, r["decision_id"])
        out["decision"] = dec
        for d in (dec or {}).get("disclosed") or ():
            st = store_objects.get(node.store, d["object_ref"], d["version"])
            out["disclosed"].append({**d, "held_here": st is not None,
                                     "name": (st.obj.get("name") if st else None) or d["object_ref"],
                                     "tlp": st.tlp if st else None})
    if r["direction"] == "incoming" and r["status"] == "open":
        out["proposed"] = [{k: v for k, v in p.items() if k != "obj"} for p in proposed(node, rid)]
    return out
