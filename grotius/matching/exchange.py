"""Hit/no-hit between two nodes: the PSI of :mod:`grotius.matching.psi` over HTTP.

The requester (``grotius match PARTNER --input FILE``) brings a list of values; the
holder answers with the values it holds (the clean values of its correlation index,
except those known only from TLP:RED objects). Both learn the intersection and the size
of the other's set, nothing else. Frames (:mod:`grotius.matching.wire`) travel over the
partner channel, authenticated like TAXII (the partner account), at::

    POST /api/match/psi/sessions                 hello -> hello (session id, holder size)
    POST /api/match/psi/sessions/{sid}/masked    requester's masked points -> answers
    GET  /api/match/psi/sessions/{sid}/masked?offset=N   holder's masked points
    POST /api/match/psi/sessions/{sid}/answers   requester's answers to them

Every frame is addressed by offset, so a frame lost to a network error is simply sent
again (answers are deterministic for a session key; a repeat is not counted twice).
Sessions live in the holder's memory for an hour: a holder restart ends them and the
requester starts over. The holder enforces a per-partner budget (values and runs per
period) before it does any work; refusals, starts and completions are audited on both
sides, with counts only: the audit never holds the values.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from datetime import datetime, timezone
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import httpx

from grotius.exc import BudgetExceeded, GrotiusError, InvalidInput, NotFound
from grotius.matching import wire
from grotius.matching.psi import FRAME, POINT, Engine, Party, decode, encode
from grotius.sharing import audit, partners
from grotius.stix import extension, markings
from grotius.store.objects import now_us

if TYPE_CHECKING:
    from grotius.node import Node

#: budget when none is configured for a partner: values offered per period, runs per period
DEFAULT_BUDGET = (1_000_000, 86_400, 100)
SESSION_SECONDS = 3600
PREFIX = "/api/match/psi"
MATCH_TYPE = "x-grotius-match"
_NS = uuid.UUID("2b0c8f1e-5d7a-4c3e-9f61-7a8e0d4b1c55")


# -- values -----------------------------------------------------------------------------


def read_input(lines: list[str]) -> list[bytes]:
    """Values of an input file: one per line, ``type<TAB>value`` or a bare value whose
    type the value-type registry recognises. Blank lines and ``#`` comments are skipped."""
    from grotius.correlate.types import registry

    out: list[bytes] = []
    for n, raw in enumerate(lines, 1):
        line = raw.strip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if "\t" in line:
            kind, _, value = line.partition("\t")
            kind = kind.strip()
            if kind not in registry:
                raise InvalidInput(f"unknown value type {kind!r}", line=n, column=1, known=registry.kinds())
            try:
                clean = registry.clean(kind, value.strip())
            except InvalidInput as e:
                raise InvalidInput(f"line {n}: {e.message}", line=n, column=len(kind) + 2, **e.detail) from None
        else:
            found = registry.detect_clean(line.strip())
            if found is None:
                raise InvalidInput(
                    f"line {n}: cannot tell what kind of value this is; write it as type<TAB>value",
                    line=n, column=1, value=line.strip()[:80],
                )
            kind, clean = found
        out.append(encode(kind, clean))
    return out


def held_values(node: "Node") -> list[bytes]:
    """The holder's side: every clean value mentioned by an object that is not TLP:RED."""
    rows = node.store.query(
        "SELECT DISTINCT v.kind, v.value FROM correlate_values v "
        "JOIN correlate_mentions m ON m.vid = v.vid JOIN objects o ON o.pk = m.pk "
        "WHERE o.tlp <> 'red'"
    )
    return [encode(k, v) for k, v in rows]


# -- budget -----------------------------------------------------------------------------


def budget(node: "Node", partner: str) -> tuple[int, int, int]:
    row = node.store.query_one(
        "SELECT max_values, period_s, max_runs FROM matching_budgets WHERE partner = ?", (partner,)
    )
    return (int(row[0]), int(row[1]), int(row[2])) if row else DEFAULT_BUDGET


def set_budget(node: "Node", partner: str, max_values: int, period_s: int, max_runs: int) -> None:
    partners.get(node, partner)  # NotFound for an unknown partner
    if max_values < 0 or period_s <= 0 or max_runs < 0:
        raise InvalidInput("budget values must be positive", max_values=max_values, period_s=period_s)
    with node.store.transaction() as tx:
        tx.execute("DELETE FROM matching_budgets WHERE partner = ?", (partner,))
        tx.execute(
            "INSERT INTO matching_budgets (partner, max_values, period_s, max_runs) VALUES (?,?,?,?)",
            (partner, max_values, period_s, max_runs),
        )
        audit.record(tx, "match.budget", partner=partner,
                     detail={"max_values": max_values, "period_s": period_s, "max_runs": max_runs})


def _check_budget(node: "Node", tx: Any, partner: str, size: int) -> None:
    max_values, period_s, max_runs = budget(node, partner)
    since = now_us() - period_s * 1_000_000
    used, runs = tx.query_one(
        "SELECT COALESCE(SUM(peer_size), 0), COUNT(*) FROM matching_runs "
        "WHERE partner = ? AND role = 'holder' AND started_us >= ?",
        (partner, since),
    )
    if int(runs) + 1 > max_runs or int(used) + size > max_values:
        raise BudgetExceeded(
            f"matching budget of partner {partner!r} exhausted: {int(used)} of {max_values} values "
            f"and {int(runs)} of {max_runs} runs used in the last {period_s} s, {size} more asked",
            partner=partner, used=int(used), asked=size, max_values=max_values, max_runs=max_runs,
        )


# -- the run as a STIX object -------------------------------------------------------------


def match_object(node: "Node", sid: str, role: str, partner: str, size: int, peer_size: int,
                 hits: list[tuple[str, str]]) -> dict[str, Any]:
    """``x-grotius-match`` (a new SDO of the node extension): one completed run, its hits.

    Marked TLP:RED: which values a partner also holds is this node's knowledge and must
    not travel by sync; a request for information discloses chosen parts deliberately.
    """
    now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    return {
        "type": MATCH_TYPE,
        "spec_version": "2.1",
        "id": f"{MATCH_TYPE}--{uuid.uuid5(_NS, sid + '|' + role)}",
        "created": now,
        "modified": now,
        "created_by_ref": node.identity_id,
        "name": f"hit/no-hit with {partner}: {len(hits)} hit(s)"[:250],
        "method": "ecdh-psi-x25519",
        "role": role,
        "partner": partner,
        "session": sid,
        "size": size,
        "partner_size": peer_size,
        "hit_count": len(hits),
        "hits": [{"type": k, "value": v} for k, v in sorted(hits)],
        "object_marking_refs": [markings.TLP2_IDS["red"]],
        "extensions": extension.new_sdo_extension(),
    }


def _store_object(node: "Node", obj: dict[str, Any]) -> None:
    from grotius.ingest import ingest

    summary = ingest(node, [obj], quiet=True)
    if not summary.ok:
        raise summary.errors[0]


# -- holder side ------------------------------------------------------------------------


@dataclass
class HolderSession:
    sid: str
    node_home: str
    partner: str
    party: Party
    rid: int
    created: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)
    answered: set[int] = field(default_factory=set)
    done: bool = False


_SESSIONS: dict[str, HolderSession] = {}
_SESSIONS_LOCK = threading.Lock()
_ENGINE: Engine | None = None


def engine() -> Engine:
    global _ENGINE
    if _ENGINE is None:
        _ENGINE = Engine()
    return _ENGINE


def _record_run(tx: Any, sid: str, partner: str, role: str, size: int, peer_size: int) -> int:
    tx.execute(
        "INSERT INTO matching_runs (session, partner, role, started_us, size, peer_size, status) "
        "VALUES (?,?,?,?,?,?,'running')",
        (sid, partner, role, now_us(), size, peer_size),
    )
    row = tx.query_one("SELECT rid FROM matching_runs WHERE session = ? AND role = ?", (sid, role))
    return int(row[0])


def _finish_run(tx: Any, rid: int, hits: list[bytes], partner: str, role: str, sid: str, sizes: dict[str, int]) -> None:
    tx.execute("UPDATE matching_runs SET hits = ?, status = 'complete' WHERE rid = ?", (len(hits), rid))
    tx.executemany("INSERT INTO matching_hits (rid, kind, value) VALUES (?,?,?)", [(rid, *decode(h)) for h in hits])
    audit.record(tx, "match.psi.complete", partner=partner, request_id=sid,
                 detail={"role": role, "hits": len(hits), **sizes})


def holder_start(node: "Node", partner: str, frame: bytes) -> bytes:
    f = wire.decode_frame(frame)
    if f.kind != wire.HELLO:
        raise InvalidInput("a session starts with a hello frame", kind=wire.KINDS[f.kind])
    _expire()
    sid = secrets.token_bytes(16)
    try:
        with node.store.transaction() as tx:
            _check_budget(node, tx, partner, f.count)
            party = Party(held_values(node))
            party.peer_size = f.count
            rid = _record_run(tx, sid.hex(), partner, "holder", party.size, f.count)
            audit.record(tx, "match.psi.start", partner=partner, request_id=sid.hex(),
                         detail={"role": "holder", "size": party.size, "peer_size": f.count})
    except BudgetExceeded as e:
        audit.record_now(node.store, "match.psi.refused", partner=partner, detail={"reason": e.message, "asked": f.count})
        raise
    with _SESSIONS_LOCK:
        _SESSIONS[sid.hex()] = HolderSession(sid.hex(), str(node.home), partner, party, rid)
    return wire.hello(sid, party.size)


def _session(node: "Node", partner: str, sid: str) -> HolderSession:
    with _SESSIONS_LOCK:
        s = _SESSIONS.get(sid)
    if s is None or s.partner != partner or s.node_home != str(node.home):
        raise NotFound("no such matching session (expired, finished or never started)", session=sid)
    return s


def holder_answer(node: "Node", partner: str, sid: str, frame: bytes) -> bytes:
    s = _session(node, partner, sid)
    f = wire.decode_frame(frame)
    if f.kind != wire.MASKED:
        raise InvalidInput("expected a masked frame", kind=wire.KINDS[f.kind])
    with s.lock:
        if f.offset in s.answered:  # a resend: same bytes, not counted again
            reply = engine().mask(s.party.key, f.payload, s.party.keep())
        else:
            reply = s.party.answer(engine(), f.payload)
            s.answered.add(f.offset)
        return wire.answer(bytes.fromhex(sid), f.offset, reply, f.count)


def holder_masked(node: "Node", partner: str, sid: str, offset: int) -> bytes:
    s = _session(node, partner, sid)
    if offset < 0 or offset >= max(1, s.party.size):
        raise InvalidInput("offset outside the holder's set", offset=offset, size=s.party.size)
    values = s.party.values[offset : offset + FRAME]
    payload = b"".join(engine().hash_and_mask(s.party.key, values))
    return wire.encode_frame(wire.MASKED, bytes.fromhex(sid), offset, payload)


def holder_answers(node: "Node", partner: str, sid: str, frame: bytes) -> dict[str, Any]:
    s = _session(node, partner, sid)
    f = wire.decode_frame(frame)
    if f.kind != wire.ANSWER:
        raise InvalidInput("expected an answer frame", kind=wire.KINDS[f.kind])
    with s.lock:
        have = len(s.party._answers_from_peer)
        if f.offset < have:
            return {"received": have, "complete": s.done}
        if f.offset > have:
            raise InvalidInput("answer frame out of order", expected_offset=have, offset=f.offset)
        s.party.receive_answers(f.payload)
        if s.party.complete and not s.done:
            hits = s.party.intersection()
            with node.store.transaction() as tx:
                _finish_run(tx, s.rid, hits, partner, "holder", sid,
                            {"size": s.party.size, "peer_size": s.party.peer_size or 0})
            _store_object(node, match_object(node, sid, "holder", partner, s.party.size,
                                             s.party.peer_size or 0, [decode(h) for h in hits]))
            s.done = True
            with _SESSIONS_LOCK:
                _SESSIONS.pop(sid, None)
        return {"received": len(s.party._answers_from_peer), "complete": s.done}


def _expire() -> None:
    cutoff = time.monotonic() - SESSION_SECONDS
    with _SESSIONS_LOCK:
        for k in [k for k, s in _SESSIONS.items() if s.created < cutoff]:
            del _SESSIONS[k]


# -- requester side ---------------------------------------------------------------------


@dataclass
class Result:
    partner: str
    session: str
    size: int
    peer_size: int
    hits: list[tuple[str, str]]
    bytes_sent: int
    bytes_received: int


class _Channel:
    def __init__(self, node: "Node", partner: partners.Partner, attempts: int = 4) -> None:
        if not partner.url or not partner.remote_user:
            raise InvalidInput(
                f"partner {partner.name!r} has no URL or remote account: set them with `grotius partner update`",
                partner=partner.name,
            )
        u = urlparse(partner.url)
        self.base = f"{u.scheme}://{u.netloc}{PREFIX}"
        self.http = httpx.Client(
            auth=httpx.BasicAuth(partner.remote_user, partners.remote_password(node, partner) or ""),
            timeout=300.0, headers={"Content-Type": "application/octet-stream"},
        )
        self.attempts = attempts
        self.sent = self.received = 0

    def call(self, method: str, path: str, body: bytes | None = None, params: dict[str, Any] | None = None) -> bytes:
        last = ""
        for attempt in range(self.attempts):
            try:
                r = self.http.request(method, self.base + path, content=body, params=params)
            except httpx.TransportError as e:
                last = f"{type(e).__name__}: {e}"
                time.sleep(0.2 * 2**attempt)
                continue
            self.sent += len(body or b"")
            self.received += len(r.content)
            if r.status_code >= 400:
                try:
                    err = r.json()
                except ValueError:
                    err = {"message": r.text[:200]}
                exc = BudgetExceeded if r.status_code == 429 else GrotiusError
                raise exc(f"partner refused: {err.get('message', r.status_code)}", status=r.status_code,
                          code=err.get("error"))
            return r.content
        raise GrotiusError(f"partner unreachable after {self.attempts} attempts: {last}")

    def close(self) -> None:
        self.http.close()


def request(node: "Node", partner_name: str, values: list[bytes], progress: Any = None) -> Result:
    """Run the exchange as requester; returns the hits (kind, value) among ``values``."""
    partner = partners.get(node, partner_name)
    party = Party(values)
    ch = _Channel(node, partner)
    eng = engine()
    try:
        hello = wire.decode_frame(ch.call("POST", "/sessions", wire.hello(bytes(16), party.size)))
        sid = hello.session
        party.peer_size = hello.count
        with node.store.transaction() as tx:
            rid = _record_run(tx, sid.hex(), partner.name, "requester", party.size, hello.count)
            audit.record(tx, "match.psi.start", partner=partner.name, request_id=sid.hex(),
                         detail={"role": "requester", "size": party.size, "peer_size": hello.count})
        total = party.size + hello.count
        offset = 0
        for chunk in party.masked(eng):
            n = len(chunk) // POINT
            back = wire.decode_frame(ch.call("POST", f"/sessions/{sid.hex()}/masked",
                                             wire.encode_frame(wire.MASKED, sid, offset, chunk)))
            if back.kind != wire.ANSWER or back.offset != offset:
                raise InvalidInput("partner answered another frame than the one sent", offset=offset)
            party.receive_answers(back.payload)
            offset += n
            if progress:
                progress(offset, total)
        offset = 0
        while offset < hello.count:
            f = wire.decode_frame(ch.call("GET", f"/sessions/{sid.hex()}/masked", params={"offset": offset}))
            if f.kind != wire.MASKED or f.offset != offset or f.count == 0:
                raise InvalidInput("partner sent a frame out of order", offset=offset)
            reply = party.answer(eng, f.payload)
            ch.call("POST", f"/sessions/{sid.hex()}/answers", wire.answer(sid, offset, reply, f.count))
            offset += f.count
            if progress:
                progress(party.size + offset, total)
        hits = party.intersection()
        with node.store.transaction() as tx:
            _finish_run(tx, rid, hits, partner.name, "requester", sid.hex(),
                        {"size": party.size, "peer_size": hello.count})
        _store_object(node, match_object(node, sid.hex(), "requester", partner.name, party.size,
                                         hello.count, [decode(h) for h in hits]))
        return Result(partner.name, sid.hex(), party.size, hello.count, [decode(h) for h in hits], ch.sent, ch.received)
    finally:
        ch.close()
