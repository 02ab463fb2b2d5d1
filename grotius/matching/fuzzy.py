"""Privacy-preserving fuzzy name matching between two nodes: keyed, salted, balanced
Bloom-filter encodings (:mod:`pprl`) over the partner channel, beside the exact PSI.

The two nodes share a per-agreement key (``grotius match-key PARTNER``: one node
generates it, the other imports it; each keeps it encrypted under its node secret in
``matching_fuzzy_keys``). The requester encodes its names (and their consonant
skeletons), salted with the year of birth when it gives one, and sends only the
encodings::

    POST /api/match/fuzzy/queries
        {"version", "key_id", "bits", "k", "entries": [{"i", "salted", "abjad", "encoding", "skeleton"}]}
     -> {"session", "threshold", "matches": [{"i", "score"}]}

The holder encodes the names of its person and organisation records (not TLP:RED ones,
nor those it received from the requester) under the same key, unsalted and salted with each record's own year of birth, compares
every entry with the encodings of the same kind (Dice coefficient; skeletons where a
name is in an abjad script, as :func:`names.similarity` does) and answers which entries
reached its threshold, with the best score. It says nothing of its records: not
their number, not which matched. Budgets (values and runs per period) are those of the
exact exchange (:mod:`exchange`), counted together; both sides audit the run and store it
as an ``x-grotius-match`` object with mode ``fuzzy``. What each side learns, and the known
weaknesses, are in docs/matching.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import numpy as np
import orjson

from grotius.exc import BudgetExceeded, GrotiusError, InvalidInput, PolicyError
from grotius.matching import entities, exchange, names, pprl
from grotius.sharing import audit, partners
from grotius.store.objects import now_us

if TYPE_CHECKING:
    from grotius.node import Node

PREFIX = "/api/match/fuzzy"
VERSION = 1
BITS, K = 1024, 15
THRESHOLD = pprl.SAME_NAME_DICE
KEY_BYTES = 32
MAX_ENTRIES = 100_000
HOLDER_KINDS = ("person", "organization")
_WIDTH = 2 * BITS // 8


# -- the agreement key --------------------------------------------------------------------


def key_id(key: bytes) -> str:
    """Names a key without revealing it, so two nodes can see they hold the same one."""
    return hmac.new(key, b"grotius/fuzzy/key-id", hashlib.sha256).hexdigest()[:16]


def _aead(node: "Node") -> Any:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    # its own HKDF label: the remote-password key of the partner record is another key
    return AESGCM(HKDF(hashes.SHA256(), 32, salt=None, info=b"grotius matching fuzzy key").derive(
        node.config.secret.encode()))


def parse_key(text: str) -> bytes:
    t = text.strip()
    try:
        key = bytes.fromhex(t)
    except ValueError:
        raise InvalidInput("the fuzzy-matching key must be hexadecimal (64 hex digits)", property="key") from None
    if len(key) != KEY_BYTES:
        raise InvalidInput(f"the fuzzy-matching key must have {KEY_BYTES} bytes ({2 * KEY_BYTES} hex digits)",
                           property="key", length=len(key))
    return key


def set_key(node: "Node", partner: str, key: bytes | None = None) -> tuple[bytes, str]:
    """Store the agreement key with ``partner`` (a fresh random one when ``key`` is None);
    returns (key, key id). Audited with the key id only."""
    p = partners.get(node, partner)
    key = key if key is not None else secrets.token_bytes(KEY_BYTES)
    if len(key) != KEY_BYTES:
        raise InvalidInput(f"the fuzzy-matching key must have {KEY_BYTES} bytes", property="key")
    nonce = os.urandom(12)
    enc = "v1:" + base64.b64encode(nonce + _aead(node).encrypt(nonce, key, p.name.encode())).decode()
    kid = key_id(key)
    with node.store.transaction() as tx:
        tx.execute("DELETE FROM matching_fuzzy_keys WHERE partner = ?", (p.name,))
        tx.execute("INSERT INTO matching_fuzzy_keys (partner, key_id, key_enc, set_us) VALUES (?,?,?,?)",
                   (p.name, kid, enc, now_us()))
        audit.record(tx, "match.fuzzy.key", partner=p.name, agreement=p.agreement_id, detail={"key_id": kid})
    return key, kid


def get_key(node: "Node", partner: str) -> bytes:
    partners.get(node, partner)  # NotFound names an unknown partner
    row = node.store.query_one("SELECT key_enc FROM matching_fuzzy_keys WHERE partner = ?", (partner,))
    if row is None:
        raise PolicyError(
            f"no fuzzy-matching key agreed with {partner!r}: one node runs `grotius match-key {partner} "
            "--generate`, the other imports the key with `grotius match-key PARTNER --key-file FILE`",
            partner=partner)
    from cryptography.exceptions import InvalidTag

    try:
        blob = base64.b64decode(row[0].removeprefix("v1:"))
        return _aead(node).decrypt(blob[:12], blob[12:], partner.encode())
    except (InvalidTag, ValueError):
        raise PolicyError(f"the fuzzy-matching key of {partner!r} cannot be decrypted (node secret changed?): "
                          "set it again with `grotius match-key`", partner=partner) from None


def encoder(key: bytes) -> pprl.Encoder:
    return pprl.Encoder(key, bits=BITS, k=K)


# -- the requester's input ------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    name: str
    date_of_birth: str | None  # YYYYMMDD or YYYY
    line: int

    @property
    def salt(self) -> str:
        return self.date_of_birth[:4] if self.date_of_birth else ""


def read_input(lines: Sequence[str]) -> list[Query]:
    """One name per line, optionally ``name<TAB>date of birth`` (YYYY-MM-DD or YYYY).
    Blank lines and ``#`` comments are skipped."""
    out = []
    for n, raw in enumerate(lines, 1):
        line = raw.strip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, dob_text = line.partition("\t")
        name = name.strip()
        if not names.form(name).folded:
            raise InvalidInput(f"line {n}: no name to match", line=n, column=1)
        dob = None
        if sep and dob_text.strip():
            dob = entities.parse_date(dob_text.strip())
            if dob is None or dob_text.strip()[:4] != dob[:4]:
                raise InvalidInput(f"line {n}: {dob_text.strip()!r} is not a date of birth (YYYY-MM-DD or YYYY)",
                                   line=n, column=len(name) + 2)
        out.append(Query(name, dob, n))
    if not out:
        raise InvalidInput("no names in the input")
    return out


# -- encodings and comparison ---------------------------------------------------------------

ABJAD = ("arabic", "hebrew")


def skeleton_text(name: str) -> str | None:
    """The consonant skeletons of a name's tokens (``محمد الحسن`` and ``Mohammed
    Al-Hassan`` both give ``mhmt hsn``), or None when they are too short to say anything
    (as names.similarity, which uses skeletons from four letters)."""
    sk = [s for s in (names.skeleton(t) for t in names.form(name).tokens) if s]
    return " ".join(sk) if len("".join(sk)) >= 4 else None


@dataclass(frozen=True)
class Entry:
    """One encoded name: the full encoding and, when the skeleton is long enough, the
    encoding of the skeleton text. ``abjad``: written in a script without short vowels,
    so only the skeleton is comparable with spellings in other scripts."""

    i: int
    salted: bool
    abjad: bool
    full: bytes
    skeleton: bytes | None


def encode(enc: pprl.Encoder, name: str, salt: str = "") -> bytes:
    return enc.to_bytes(enc.encode(name, salt))


def entry(enc: pprl.Encoder, i: int, name: str, salt: str = "") -> Entry:
    sk = skeleton_text(name)
    return Entry(i, bool(salt), names.script_of(name) in ABJAD and sk is not None, encode(enc, name, salt),
                 encode(enc, sk, salt) if sk else None)


@dataclass
class Held:
    """The holder's encodings, one row per (record name, salt, form), and per row the
    record, whether it is salted, a skeleton form, and of a name in an abjad script."""

    records: list[entities.Record]
    rows: np.ndarray
    owner: np.ndarray
    salted: np.ndarray
    skeleton: np.ndarray
    abjad: np.ndarray


_CACHE: dict[tuple[str, str, str, str, str], Entry] = {}
_CACHE_LOCK = threading.Lock()
_CACHE_MAX = 500_000


def held(node: "Node", key: bytes, requester: str | None = None) -> Held:
    """The holder's person and organisation records (TLP:RED ones left out), encoded.
    Records received from ``requester`` are left out too: a hit on the requester's own
    record (synced here) would tell it nothing but look like the holder's knowledge."""
    records = [r for r in entities.read_records(node, include_red=False)
               if r.kind in HOLDER_KINDS and (requester is None or r.source != requester)]
    return encode_records(key, records)


def encode_records(key: bytes, records: list[entities.Record]) -> Held:
    """Every name of the records (aliases, and for organisations also the name without
    its legal form), unsalted and salted with the record's own year of birth. Cached per
    key and record version."""
    enc, kid = encoder(key), key_id(key)
    rows: list[bytes] = []
    cols: list[tuple[int, bool, bool, bool]] = []
    for i, r in enumerate(records):
        forms = list(r.names)
        if r.kind == "organization":
            forms += [f for f in (names.company_fingerprint(n) for n in r.names) if f and f not in forms]
        salts = [""] + ([r.date_of_birth[:4]] if r.date_of_birth else [])
        for form in forms:
            for salt in salts:
                ck = (kid, r.object_id, r.version, form, salt)
                with _CACHE_LOCK:
                    e = _CACHE.get(ck)
                if e is None:
                    e = entry(enc, 0, form, salt)
                    with _CACHE_LOCK:
                        if len(_CACHE) >= _CACHE_MAX:
                            _CACHE.clear()
                        _CACHE[ck] = e
                rows.append(e.full)
                cols.append((i, bool(salt), False, e.abjad))
                if e.skeleton is not None:
                    rows.append(e.skeleton)
                    cols.append((i, bool(salt), True, e.abjad))
    c = np.array(cols, dtype=np.int64).reshape(-1, 4)
    return Held(records, _matrix(rows), c[:, 0], c[:, 1].astype(bool), c[:, 2].astype(bool), c[:, 3].astype(bool))


def _matrix(rows: Sequence[bytes]) -> np.ndarray:
    if not rows:
        return np.zeros((0, _WIDTH), np.uint8)
    return np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), _WIDTH)


def best_scores(queries: np.ndarray, held_rows: np.ndarray, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Per query (rows of packed encodings): the best Dice coefficient against the held
    encodings and the row that gave it (-1 when nothing is held). Balanced encodings all
    weigh BITS, so Dice is the common ones over BITS: one matrix product of 0/1 bits."""
    best = np.zeros(len(queries))
    arg = np.full(len(queries), -1, dtype=np.int64)
    if len(queries) == 0 or len(held_rows) == 0:
        return best, arg
    q = np.unpackbits(queries, axis=1, bitorder="little").astype(np.float32)
    qw = q.sum(axis=1)
    for start in range(0, len(held_rows), chunk):
        h = np.unpackbits(held_rows[start : start + chunk], axis=1, bitorder="little").astype(np.float32)
        common = q @ h.T
        dice = 2 * common / (qw[:, None] + h.sum(axis=1)[None, :])
        j = dice.argmax(axis=1)
        top = dice[np.arange(len(q)), j]
        better = top > best
        best[better] = top[better]
        arg[better] = j[better] + start
    return best, arg


def compare(entries: Sequence[Entry], h: Held) -> list[tuple[int, float, int]]:
    """(entry i, best score, record index) for every entry that has a comparable held
    encoding. Like names.similarity: full encodings against full encodings, and where
    either name is in an abjad script (Arabic, Hebrew), skeleton against skeleton. A
    salted entry meets only salted encodings (the same year, or nothing in common)."""
    best: dict[int, tuple[float, int]] = {}

    def run(sel: list[Entry], use_skeleton: bool, mask: np.ndarray) -> None:
        idx = np.flatnonzero(mask)
        if not sel or not len(idx):
            return
        q = _matrix([e.skeleton if use_skeleton else e.full for e in sel])  # type: ignore[misc]
        score, arg = best_scores(q, h.rows[idx])
        for e, s, j in zip(sel, score.tolist(), arg.tolist()):
            if j >= 0 and s > best.get(e.i, (-1.0, -1))[0]:
                best[e.i] = (s, int(h.owner[idx[j]]))

    for salted in (False, True):
        group = [e for e in entries if e.salted == salted]
        same = h.salted == salted
        run([e for e in group if not e.abjad], False, same & ~h.skeleton)
        run([e for e in group if not e.abjad and e.skeleton is not None], True, same & h.skeleton & h.abjad)
        run([e for e in group if e.abjad], True, same & h.skeleton)
    return [(i, s, r) for i, (s, r) in sorted(best.items())]


# -- holder side --------------------------------------------------------------------------


def _decode_request(body: bytes) -> tuple[str, list[Entry]]:
    try:
        msg = orjson.loads(body)
    except orjson.JSONDecodeError as e:
        raise InvalidInput(f"the fuzzy query is not JSON: {e}") from None
    if not isinstance(msg, dict) or msg.get("version") != VERSION:
        raise InvalidInput(f"unsupported fuzzy query version (this node speaks {VERSION})",
                           version=msg.get("version") if isinstance(msg, dict) else None)
    if msg.get("bits") != BITS or msg.get("k") != K:
        raise InvalidInput(f"encodings must have bits={BITS}, k={K}", bits=msg.get("bits"), k=msg.get("k"))
    raw = msg.get("entries")
    if not isinstance(raw, list) or not raw:
        raise InvalidInput("entries must be a non-empty list", property="entries")
    if len(raw) > MAX_ENTRIES:
        raise InvalidInput("too many entries in one query", count=len(raw), limit=MAX_ENTRIES)
    entries = []
    seen: set[int] = set()
    for pos, e in enumerate(raw):
        try:
            full = base64.b64decode(e["encoding"], validate=True)
            sk = base64.b64decode(e["skeleton"], validate=True) if e.get("skeleton") else None
            item = Entry(int(e["i"]), bool(e["salted"]), bool(e.get("abjad")) and sk is not None, full, sk)
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InvalidInput("each entry needs i, salted and a base64 encoding", position=pos) from None
        if len(full) != _WIDTH or (sk is not None and len(sk) != _WIDTH) or item.i in seen:
            raise InvalidInput(f"entry {pos}: an encoding has {_WIDTH} bytes and a unique i", position=pos)
        seen.add(item.i)
        entries.append(item)
    return str(msg.get("key_id", "")), entries


def holder_query(node: "Node", partner: str, body: bytes) -> dict[str, Any]:
    """Answer a partner's encoded names: which entries matched, with the best score."""
    kid, entries = _decode_request(body)
    key = get_key(node, partner)
    if not hmac.compare_digest(kid, key_id(key)):
        raise PolicyError("the fuzzy-matching key differs from the one agreed with this node "
                          "(compare the key ids of `grotius match-key`)", partner=partner)
    sid = secrets.token_hex(16)
    try:
        with node.store.transaction() as tx:
            exchange._check_budget(node, tx, partner, len(entries))
            rid = exchange._record_run(tx, sid, partner, "holder", 0, len(entries))
    except BudgetExceeded as e:
        audit.record_now(node.store, "match.fuzzy.refused", partner=partner,
                         detail={"reason": e.message, "asked": len(entries)})
        raise
    mine = held(node, key, partner)
    matches: list[dict[str, Any]] = []
    hit_records: dict[int, tuple[float, list[int]]] = {}
    for i, score, r in compare(entries, mine):
        if score >= THRESHOLD:
            matches.append({"i": i, "score": round(score, 4)})
            best, asked = hit_records.get(r, (0.0, []))
            hit_records[r] = (max(best, score), asked + [i])
    # which entries met which record: a request for information about entry i of this
    # session can then be answered from these records
    hits = [{"type": mine.records[r].object_type, "value": mine.records[r].object_id,
             "name": mine.records[r].names[0], "score": round(s, 4), "entries": asked}
            for r, (s, asked) in sorted(hit_records.items())]
    with node.store.transaction() as tx:
        _finish(tx, rid, [(h["type"], h["value"]) for h in hits], partner, "holder", sid,
                {"entries": len(entries), "matched_entries": len(matches), "key_id": kid})
    exchange._store_object(node, match_object(node, sid, "holder", partner, len(entries), hits))
    return {"session": sid, "threshold": THRESHOLD, "matches": matches}


def _finish(tx: Any, rid: int, hits: list[tuple[str, str]], partner: str, role: str, sid: str,
            detail: dict[str, Any]) -> None:
    tx.execute("UPDATE matching_runs SET hits = ?, status = 'complete' WHERE rid = ?", (len(hits), rid))
    tx.executemany("INSERT INTO matching_hits (rid, kind, value) VALUES (?,?,?)", [(rid, k, v) for k, v in hits])
    audit.record(tx, "match.fuzzy.complete", partner=partner, request_id=sid,
                 detail={"role": role, "hits": len(hits), **detail})


def match_object(node: "Node", sid: str, role: str, partner: str, size: int,
                 hits: list[dict[str, Any]]) -> dict[str, Any]:
    """The run as ``x-grotius-match`` (like the exact runs, TLP:RED), mode ``fuzzy``. The
    requester's hits are its own names; the holder's are its own records that matched."""
    obj = exchange.match_object(node, sid, role, partner, size, 0, [])
    del obj["partner_size"]  # the holder does not say how many records it compared
    obj.update({
        "name": f"fuzzy name match with {partner}: {len(hits)} hit(s)"[:250],
        "method": "pprl-clk-dice", "mode": "fuzzy", "threshold": THRESHOLD,
        "hit_count": len(hits), "hits": hits,
    })
    return obj


# -- requester side -------------------------------------------------------------------------


@dataclass
class Result:
    partner: str
    session: str
    size: int
    #: (entry number sent, the query, best score at the holder)
    hits: list[tuple[int, Query, float]]
    bytes_sent: int
    bytes_received: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "partner": self.partner, "session": self.session, "size": self.size, "mode": "fuzzy",
            "bytes_sent": self.bytes_sent, "bytes_received": self.bytes_received,
            "hits": [_hit(i, q, s) for i, q, s in self.hits],
        }


def _hit(i: int, q: Query, score: float) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "name", "value": q.name, "score": score, "entry": i}
    if q.date_of_birth:
        out["date_of_birth"] = q.date_of_birth
    return out


def request(node: "Node", partner_name: str, queries: Sequence[Query]) -> Result:
    """Ask ``partner_name`` which of ``queries`` match its person and organisation records."""
    partner = partners.get(node, partner_name)
    key = get_key(node, partner.name)
    enc = encoder(key)
    order = list(range(len(queries)))
    secrets.SystemRandom().shuffle(order)  # the entry numbers say nothing of the input order
    entries = []
    for k in order:
        e = entry(enc, k, queries[k].name, queries[k].salt)
        entries.append({"i": k, "salted": e.salted, "abjad": e.abjad, "encoding": base64.b64encode(e.full).decode(),
                        **({"skeleton": base64.b64encode(e.skeleton).decode()} if e.skeleton else {})})
    body = orjson.dumps({"version": VERSION, "key_id": key_id(key), "bits": BITS, "k": K, "entries": entries})
    ch = exchange._Channel(node, partner)
    ch.base = ch.base.removesuffix(exchange.PREFIX) + PREFIX
    try:
        reply = orjson.loads(ch.call("POST", "/queries", body))
    except orjson.JSONDecodeError:
        raise GrotiusError("the partner's answer is not JSON") from None
    finally:
        ch.close()
    sid = str(reply.get("session", ""))
    hits: list[tuple[int, Query, float]] = []
    for m in reply.get("matches", []):
        i = int(m["i"])
        if not 0 <= i < len(queries):
            raise InvalidInput("the partner answered an entry that was not asked", entry=i)
        hits.append((i, queries[i], float(m["score"])))
    hits.sort(key=lambda h: h[1].line)
    with node.store.transaction() as tx:
        rid = exchange._record_run(tx, sid, partner.name, "requester", len(queries), 0)
        _finish(tx, rid, [("name", q.name) for _, q, _ in hits], partner.name, "requester", sid,
                {"entries": len(queries), "key_id": key_id(key)})
    exchange._store_object(node, match_object(node, sid, "requester", partner.name, len(queries),
                                              [_hit(i, q, s) for i, q, s in hits]))
    return Result(partner.name, sid, len(queries), hits, ch.sent, ch.received)
