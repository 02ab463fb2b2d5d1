"""Append-only, hash-chained audit log: disclosures, writes and administrative changes.

Every entry's hash is SHA-256 over the RFC 8785 canonical JSON of
``{seq, time, action, actor, partner, objects, agreement, request_id, detail, prev}``
where ``prev`` is the previous entry's hash (64 zeros for the first). An entry is
written inside the caller's transaction, so a disclosure and its audit entry commit
together or not at all. Appends are serialised: the node clock row (which also gives
the entry its unique, increasing time) and then the chain head row are locked
(``FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` serialises writers anyway),
always in that order, the same order ingest takes them, so appends never deadlock.

A database administrator could rewrite the whole chain from some entry on with fresh
hashes; the chain alone cannot see that. Signed checkpoints (the head's seq and hash
signed with the node's Ed25519 key, appended to a file in the node home, outside the
database) catch it up to the last checkpoint. See docs/sharing-audit.md.
"""

from __future__ import annotations

import base64
import contextvars
import getpass
import hashlib
import json
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import orjson

from ..exc import IntegrityError, InvalidInput
from ..store import Store
from ..store.engine import Tx
from ..store.objects import Stored, next_times
from .canonical import CanonicalizationError
from .canonical import dumps as canonical_json

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from ..node import Node

GENESIS = "0" * 64
CHECKPOINT_FILE = "audit-checkpoints.jsonl"

#: who is acting; the web edge sets the logged-in user, sync sets "sync:<partner>"
_actor: contextvars.ContextVar[str | None] = contextvars.ContextVar("grotius_audit_actor", default=None)
_default_actor = "node"


def set_default_actor(actor: str) -> None:
    """Actor for entries recorded without an explicit one (the CLI sets ``cli:<login>``)."""
    global _default_actor
    _default_actor = actor


def cli_actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except Exception:  # no login name (containers without passwd entry)
        return "cli"


def current_actor() -> str:
    return _actor.get() or _default_actor


@contextmanager
def acting_as(actor: str) -> Iterator[None]:
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


# -- the chain --------------------------------------------------------------------------


def canonical(
    seq: int, at_us: int, action: str, actor: str, partner: str | None,
    objects: Sequence[Sequence[str]], agreement: str | None, request_id: str | None,
    detail: dict[str, Any], prev: str,
) -> bytes:
    entry = {
        "seq": seq, "time": at_us, "action": action, "actor": actor, "partner": partner,
        "objects": [[o[0], o[1]] for o in objects], "agreement": agreement,
        "request_id": request_id, "detail": detail, "prev": prev,
    }
    # the object pairs are strings (checked by _norm_objects)
    return canonical_json(entry, strings=("objects",))


def entry_hash(*args: Any) -> str:
    return hashlib.sha256(canonical(*args)).hexdigest()


def _norm_objects(objects: Sequence[tuple[str, str]]) -> list[list[str]]:
    out: list[list[str]] = []
    for i, o in enumerate(objects):
        if (not isinstance(o, (tuple, list)) or len(o) != 2
                or type(o[0]) is not str or type(o[1]) is not str):
            raise InvalidInput(
                f"audit objects[{i}] must be an (object id, version) pair of strings",
                property=f"objects[{i}]",
            )
        out.append([o[0], o[1]])
    return out


def record(
    tx: Tx,
    action: str,
    *,
    actor: str | None = None,
    partner: str | None = None,
    objects: Sequence[tuple[str, str]] = (),
    agreement: str | None = None,
    request_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> int:
    """Append one entry inside ``tx``; returns its sequence number.

    ``actor`` defaults to the current actor (see :func:`acting_as`).
    """
    if not isinstance(action, str) or not action:
        raise InvalidInput("audit action must be a non-empty string", property="action")
    return _append(tx, action, actor or current_actor(), partner, _norm_objects(objects), agreement,
                   request_id, detail)


def _append(
    tx: Tx, action: str, who: str, partner: str | None, objs: list[list[str]], agreement: str | None,
    request_id: str | None, detail: dict[str, Any] | None,
) -> int:
    """:func:`record` after its checks; ``objs`` are [object id, version] string pairs."""
    det = dict(detail or {})
    try:
        det_text = json.dumps(det, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        # round-trip so the hash is computed over exactly what verify will read back
        det = json.loads(det_text)
    except (TypeError, ValueError) as e:
        raise InvalidInput(f"audit detail is not JSON: {e}", property="detail") from None
    (at_us,) = next_times(tx, 1)
    lock = " FOR UPDATE" if tx.dialect == "postgresql" else ""
    head = tx.query_one("SELECT seq, hash FROM audit_head WHERE id = 1" + lock)
    if head is None:
        raise IntegrityError("audit chain head row is missing (the database was altered)")
    seq, prev = int(head[0]) + 1, str(head[1])
    try:
        h = entry_hash(seq, at_us, action, who, partner, objs, agreement, request_id, det, prev)
    except CanonicalizationError as e:
        raise InvalidInput(f"audit detail cannot be canonicalised: {e}", property="detail") from None
    tx.execute(
        "INSERT INTO audit_log (seq, at_us, action, actor, partner, objects, agreement, "
        "request_id, detail, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (seq, at_us, action, who, partner, _pairs_json(objs), agreement, request_id, det_text, prev, h),
    )
    ids = sorted({o[0] for o in objs})
    if ids:
        tx.executemany("INSERT INTO audit_objects (object_id, seq) VALUES (?, ?)", [(i, seq) for i in ids])
    tx.execute("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, h))
    return seq


def _pairs_json(objs: list[list[str]]) -> str:
    # verify parses this column back, so any JSON of the same pairs would do; orjson
    # writes what the standard library writes for the (ASCII) ids and versions of an
    # ingest, ten times faster, and refuses only lone surrogates
    try:
        return orjson.dumps(objs).decode()
    except TypeError:
        return json.dumps(objs, ensure_ascii=False, separators=(",", ":"))


def record_now(store: Store, action: str, **kwargs: Any) -> int:
    """:func:`record` in a transaction of its own (for callers outside one)."""
    with store.transaction() as tx:
        return record(tx, action, **kwargs)


def _write_hook(tx: Tx, node: "Node", stored: list[Stored]) -> None:
    """Ingest hook: one entry per stored batch with every new object version."""
    if not stored:
        return
    first = stored[0]
    types: dict[str, int] = {}
    for st in stored:
        types[st.type] = types.get(st.type, 0) + 1
    # the pairs are strings by construction (ids and versions of stored rows)
    _append(
        tx, "write", current_actor(), first.source, [[st.id, st.version] for st in stored], None, None,
        {"count": len(stored), "source": first.source, "collection": first.collection, "types": types},
    )


# -- reading ----------------------------------------------------------------------------


@dataclass
class Entry:
    seq: int
    at_us: int
    action: str
    actor: str
    partner: str | None
    objects: list[list[str]]
    agreement: str | None
    request_id: str | None
    detail: dict[str, Any]
    prev_hash: str
    hash: str

    @property
    def time(self) -> str:
        from datetime import datetime, timezone

        dt = datetime.fromtimestamp(self.at_us / 1e6, tz=timezone.utc)
        return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def expected_hash(self) -> str:
        return entry_hash(
            self.seq, self.at_us, self.action, self.actor, self.partner, self.objects,
            self.agreement, self.request_id, self.detail, self.prev_hash,
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "seq": self.seq, "time": self.time, "action": self.action, "actor": self.actor,
            "partner": self.partner, "objects": self.objects, "agreement": self.agreement,
            "request_id": self.request_id, "detail": self.detail, "prev_hash": self.prev_hash,
            "hash": self.hash,
        }


_COLS = "seq, at_us, action, actor, partner, objects, agreement, request_id, detail, prev_hash, hash"


class _Unreadable(Exception):
    pass


def _entry(row: tuple[Any, ...]) -> Entry:
    try:
        objs = json.loads(row[5])
        det = json.loads(row[8])
    except (TypeError, ValueError) as e:
        raise _Unreadable(str(e)) from None
    return Entry(int(row[0]), int(row[1]), row[2], row[3], row[4], objs, row[6], row[7],
                 det, row[9], row[10])


def entries(
    store: Store,
    *,
    partner: str | None = None,
    object_id: str | None = None,
    action: str | None = None,
    before_seq: int | None = None,
    limit: int = 100,
) -> list[Entry]:
    """Newest first, filtered (the UI pages with ``before_seq``)."""
    where: list[str] = []
    params: list[Any] = []
    if partner is not None:
        where.append("partner = ?")
        params.append(partner)
    if object_id is not None:
        where.append("seq IN (SELECT seq FROM audit_objects WHERE object_id = ?)")
        params.append(object_id)
    if action is not None:
        where.append("action = ?")
        params.append(action)
    if before_seq is not None:
        where.append("seq < ?")
        params.append(before_seq)
    sql = f"SELECT {_COLS} FROM audit_log"
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY seq DESC LIMIT {int(limit)}"
    out = []
    for r in store.query(sql, params):
        try:
            out.append(_entry(r))
        except _Unreadable:
            continue
    return out


def head(store: Store) -> tuple[int, str]:
    row = store.query_one("SELECT seq, hash FROM audit_head WHERE id = 1")
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


# -- checkpoints ------------------------------------------------------------------------


def _checkpoint_message(seq: int, h: str, at_us: int, identity: str) -> bytes:
    return canonical_json({"type": "grotius-audit-checkpoint", "seq": seq, "hash": h,
                           "time": at_us, "identity": identity})


def checkpoint(node: "Node") -> dict[str, Any] | None:
    """Sign the committed chain head and append it to the node home's checkpoint file.

    Call after commits (never inside a transaction that may still roll back). Returns
    the new checkpoint, or None when the head did not move since the last one.
    """
    from ..store.objects import now_us

    seq, h = head(node.store)
    if seq == 0:
        return None
    path = node.home / CHECKPOINT_FILE
    last = _last_checkpoint(path)
    if last is not None and int(last.get("seq", -1)) == seq and last.get("hash") == h:
        return None
    at = now_us()
    sig = node.signing_key.sign(_checkpoint_message(seq, h, at, node.identity_id))
    cp = {"seq": seq, "hash": h, "time": at, "identity": node.identity_id,
          "signature": base64.b64encode(sig).decode()}
    with open(path, "a", encoding="utf-8") as f:
        f.write(json.dumps(cp, separators=(",", ":")) + "\n")
        f.flush()
    return cp


def _last_checkpoint(path: Path) -> dict[str, Any] | None:
    try:
        lines = path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(lines):
        if line.strip():
            try:
                return json.loads(line)
            except ValueError:
                return None
    return None


# -- verification -----------------------------------------------------------------------


@dataclass
class Problem:
    seq: int | None
    kind: str  # altered | inserted | deleted | unreadable | head | checkpoint
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "kind": self.kind, "message": self.message}


@dataclass
class Report:
    entries: int = 0
    head_seq: int = 0
    checkpoints: int = 0
    last_checkpoint_seq: int | None = None
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "entries": self.entries, "head_seq": self.head_seq,
                "checkpoints": self.checkpoints, "last_checkpoint_seq": self.last_checkpoint_seq,
                "problems": [p.to_dict() for p in self.problems]}


def verify(
    store: Store,
    *,
    checkpoints: Path | None = None,
    public_key: "Ed25519PublicKey | None" = None,
    max_problems: int = 1000,
) -> Report:
    """Walk the whole chain; report altered, inserted and deleted entries.

    With ``checkpoints`` (and the node's ``public_key``) also check every signed
    checkpoint against the chain: this catches tail truncation and whole-chain
    rewrites up to the last checkpoint.
    """
    rep = Report()
    hashes: dict[int, str] = {}
    want_cp: set[int] = set()
    cps: list[dict[str, Any]] = []
    if checkpoints is not None:
        cps = _read_checkpoints(checkpoints, public_key, rep)
        want_cp = {int(c["seq"]) for c in cps}

    def problem(seq: int | None, kind: str, msg: str) -> None:
        if len(rep.problems) < max_problems:
            rep.problems.append(Problem(seq, kind, msg))

    expected_seq, prev = 1, GENESIS
    last = 0
    cursor = -(2**62)
    page = 2000
    while True:
        rows = store.query(
            f"SELECT {_COLS} FROM audit_log WHERE seq > ? ORDER BY seq LIMIT {page}", (cursor,)
        )
        for r in rows:
            rep.entries += 1
            seq = int(r[0])
            last = cursor = seq
            try:
                e = _entry(r)
            except _Unreadable as err:
                problem(seq, "altered", f"entry {seq} is not readable JSON ({err}): altered")
                expected_seq, prev = seq + 1, str(r[10])
                continue
            if seq > expected_seq:
                missing = f"{expected_seq}" if seq == expected_seq + 1 else f"{expected_seq}-{seq - 1}"
                problem(seq, "deleted", f"entries {missing} are missing before entry {seq}: deleted")
            elif seq < expected_seq:  # only possible if seq is not unique (schema altered)
                problem(seq, "inserted", f"entry {seq} repeats a sequence number: inserted")
            if e.prev_hash != prev:
                problem(seq, "inserted" if seq <= expected_seq else "deleted",
                        f"entry {seq} does not link to the entry before it (prev hash "
                        f"{e.prev_hash[:12]}..., expected {prev[:12]}...): an entry was inserted, "
                        "deleted or rewritten before it")
            if e.expected_hash() != e.hash:
                problem(seq, "altered", f"entry {seq} ({e.action}) does not match its hash: altered")
            if seq in want_cp:
                hashes[seq] = e.hash
            expected_seq, prev = seq + 1, e.hash
        if len(rows) < page:
            break
    rep.head_seq = last
    hseq, hhash = head(store)
    if hseq != last or (last and hhash != prev):
        problem(hseq, "head",
                f"the chain head says entry {hseq} but the log ends at entry {last}: "
                + ("the tail was deleted" if hseq > last else "the head row was altered"))
    for c in cps:
        seq = int(c["seq"])
        if seq > last:
            problem(seq, "deleted",
                    f"signed checkpoint of entry {seq} is beyond the end of the log ({last}): "
                    f"entries {last + 1}-{seq} were deleted (tail truncated)")
        elif hashes.get(seq) != c["hash"]:
            problem(seq, "altered",
                    f"entry {seq} differs from its signed checkpoint: the chain was rewritten")
    return rep


def _read_checkpoints(path: Path, key: "Ed25519PublicKey | None", rep: Report) -> list[dict[str, Any]]:
    from cryptography.exceptions import InvalidSignature

    out: list[dict[str, Any]] = []
    try:
        lines = path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        return out
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            c = json.loads(line)
            msg = _checkpoint_message(int(c["seq"]), str(c["hash"]), int(c["time"]), str(c["identity"]))
            sig = base64.b64decode(c["signature"], validate=True)
        except (ValueError, KeyError, TypeError):
            rep.problems.append(Problem(None, "checkpoint", f"{path.name} line {n} is not a checkpoint"))
            continue
        if key is not None:
            try:
                key.verify(sig, msg)
            except InvalidSignature:
                rep.problems.append(Problem(int(c["seq"]), "checkpoint",
                                            f"{path.name} line {n}: signature does not verify"))
                continue
        out.append(c)
        rep.checkpoints += 1
        rep.last_checkpoint_seq = int(c["seq"])
    return out


def verify_node(node: "Node") -> Report:
    return verify(node.store, checkpoints=node.home / CHECKPOINT_FILE, public_key=node.public_key)


def require_ok(rep: Report) -> None:
    if not rep.ok:
        raise IntegrityError(f"audit log verification failed: {rep.problems[0].message}",
                             problems=len(rep.problems))
