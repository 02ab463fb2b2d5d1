"""Provenance: Ed25519 signatures over RFC 8785 canonical JSON that survive relaying.

The signature lives inside the object, in the Grotius property extension::

    "extensions": {"extension-definition--3f0e5d0a-...": {
        "extension_type": "property-extension",
        "signature": {"alg": "Ed25519", "key_id": "<sha256 hex of the raw public key>",
                      "signer": "identity--...", "value": "<base64>"}}}

The signed bytes are the RFC 8785 canonical JSON of the object with only that
``signature`` member removed (everything else, including the extension entry's
``extension_type``, is covered). Canonical JSON makes the signature independent of key
order and whitespace, so a relay that re-serialises the object (as every TAXII server
does) keeps it valid; any change to a value breaks it.

When: an object is signed as it first enters its originating node, before it is stored
(ingest's PREPARE step, source = local, ``created_by_ref`` = the node's identity, or the
node's identity object itself). Stored objects are kept verbatim, so the stored, the
disclosed and the relayed forms are the same bytes' worth of content. Objects arriving
signed are verified against the signer's pinned key; a signature that fails is rejected.
See docs/signing.md.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from ..exc import GrotiusError, IntegrityError, InvalidInput
from ..stix.grading import GROTIUS_EXTENSION_ID
from ..store import Store
from ..store.engine import Tx
from ..store.objects import Stored, version_of
from .canonical import CanonicalizationError
from .canonical import dumps as canonical_json

if TYPE_CHECKING:
    from ..node import Node

ALG = "Ed25519"

#: verification outcomes
VALID, INVALID, UNKNOWN_KEY, UNSIGNED = "valid", "invalid", "unknown-key", "unsigned"


def key_id(key: Ed25519PublicKey) -> str:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def load_public_key(pem: str | bytes, *, where: str = "key") -> Ed25519PublicKey:
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as e:
        raise InvalidInput(f"{where} is not a PEM public key: {e}", property="public_key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(f"{where} is not an Ed25519 public key", property="public_key")
    return key


def public_key_pem(key: Ed25519PublicKey) -> str:
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


# -- the signed form ---------------------------------------------------------------------


def signature_of(obj: dict[str, Any]) -> dict[str, Any] | None:
    ext = (obj.get("extensions") or {}).get(GROTIUS_EXTENSION_ID)
    if isinstance(ext, dict) and "signature" in ext:
        sig = ext["signature"]
        return sig if isinstance(sig, dict) else {"malformed": True}
    return None


def without_signature(obj: dict[str, Any]) -> dict[str, Any]:
    """``obj`` minus its signature member: what a signature covers, and the start of a new
    version (the old signature would fail the changed content; the node signs the new
    version as it stores it). ``obj`` itself is never changed; without a signature it is
    returned as is."""
    exts = obj.get("extensions")
    ext = exts.get(GROTIUS_EXTENSION_ID) if isinstance(exts, dict) else None
    if not isinstance(ext, dict) or "signature" not in ext:
        return obj
    rest = {k: v for k, v in ext.items() if k != "signature"}
    return {**obj, "extensions": {**exts, GROTIUS_EXTENSION_ID: rest}}


def signing_input(obj: dict[str, Any]) -> bytes:
    """Canonical bytes the signature covers: the object minus the signature member."""
    try:
        return canonical_json(without_signature(obj))
    except CanonicalizationError as e:
        raise InvalidInput(
            f"{obj.get('id')}: cannot be put in RFC 8785 canonical form to sign or verify: {e}",
            object_id=obj.get("id"),
        ) from None


def originator(obj: dict[str, Any]) -> str | None:
    """Who is answerable for the object: created_by_ref, or an identity for itself."""
    by = obj.get("created_by_ref")
    if isinstance(by, str):
        return by
    if obj.get("type") == "identity":
        return obj.get("id")
    return None


def sign(obj: dict[str, Any], key: Any, signer: str) -> dict[str, Any]:
    """A signed copy of ``obj`` (any earlier signature replaced).

    Only the copy's ``extensions`` and its Grotius extension entry are new dicts; the
    copy shares every other value with ``obj`` (a deep copy cost as much as the
    canonical form), and sign changes neither.
    """
    exts = obj.get("extensions", {})
    if not isinstance(exts, dict):
        raise InvalidInput(f"{obj.get('id')}: 'extensions' is not an object", property="extensions")
    ext = exts.get(GROTIUS_EXTENSION_ID, {"extension_type": "property-extension"})
    if not isinstance(ext, dict):
        raise InvalidInput(f"{obj.get('id')}: extension {GROTIUS_EXTENSION_ID} is not an object",
                           object_id=obj.get("id"), property="extensions")
    ext = {k: v for k, v in ext.items() if k != "signature"}
    out = {**obj, "extensions": {**exts, GROTIUS_EXTENSION_ID: ext}}
    value = key.sign(signing_input(out))
    ext["signature"] = {
        "alg": ALG, "key_id": key_id(key.public_key()), "signer": signer,
        "value": base64.b64encode(value).decode(),
    }
    return out


def sign_for(node: "Node", obj: dict[str, Any]) -> dict[str, Any]:
    """Sign an object the node's organisation originates (node tools call this)."""
    if originator(obj) != node.identity_id:
        raise InvalidInput(
            f"{obj.get('id')} is not originated by this node ({node.identity_id}); a node signs "
            "only its own organisation's objects", object_id=obj.get("id"), property="created_by_ref",
        )
    return sign(obj, node.signing_key, node.identity_id)


def for_redacted(node: "Node", obj: dict[str, Any]) -> dict[str, Any]:
    """A redacted copy (policy.redact) no longer matches its signature. The originating
    node vouches for its own redaction by signing the copy; a relay cannot, so it removes
    the signature and says in the redaction notice whose signature it removed (the
    receiver then sees an unsigned object instead of a forgery)."""
    sig = signature_of(obj)
    if sig is None:
        return obj
    if originator(obj) == node.identity_id:
        return sign(obj, node.signing_key, node.identity_id)
    out = copy.deepcopy(obj)
    ext = out["extensions"][GROTIUS_EXTENSION_ID]
    ext.pop("signature", None)
    notice = ext.get("redacted")
    if isinstance(notice, dict):
        notice["signature_removed"] = {"signer": sig.get("signer"), "key_id": sig.get("key_id")}
    return out


# -- keys --------------------------------------------------------------------------------


@dataclass
class Keyring:
    """Pinned keys: by signer identity (the normal case) and by key id (``--key FILE``)."""

    by_signer: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    by_key_id: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)

    def pin(self, signer: str | None, key: Ed25519PublicKey, name: str | None = None) -> None:
        if signer:
            self.by_signer[signer] = key
            if name:
                self.names[signer] = name
        self.by_key_id[key_id(key)] = key


def keyring(node: "Node") -> Keyring:
    """The node's own key, its partners' pinned keys and pinned originator keys."""
    from . import partners

    ring = Keyring()
    rows: list[tuple[str | None, str, str]] = [
        (r[0], r[1], r[2])
        for r in node.store.query("SELECT identity_id, public_key, name FROM originator_keys")
    ]
    rows += [(p.identity_id, p.public_key_pem, p.name)
             for p in partners.list_all(node) if p.public_key_pem]
    for ident, pem, name in rows:
        try:
            ring.pin(ident, load_public_key(pem), name)
        except InvalidInput:
            continue
    ring.pin(node.identity_id, node.public_key, node.config.org)
    return ring


def pin(store: Store, identity_id: str, pem: str, name: str = "") -> str:
    """Pin an originator's public key (for objects that reach us relayed by a partner)."""
    from .audit import record

    if not identity_id.startswith("identity--"):
        raise InvalidInput(f"{identity_id!r} is not a STIX identity id", property="identity_id")
    key = load_public_key(pem)
    kid = key_id(key)
    with store.transaction() as tx:
        tx.execute("DELETE FROM originator_keys WHERE identity_id = ?", (identity_id,))
        tx.execute(
            "INSERT INTO originator_keys (identity_id, public_key, key_id, name, pinned) VALUES (?,?,?,?,?)",
            (identity_id, public_key_pem(key), kid, name, int(time.time())),
        )
        record(tx, "key.pin", detail={"identity_id": identity_id, "key_id": kid, "name": name})
    return kid


# -- verification ------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    status: str
    signer: str | None = None
    key_id: str | None = None
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status != INVALID


def check(obj: dict[str, Any], ring: Keyring) -> Check:
    sig = signature_of(obj)
    oid = obj.get("id")
    if sig is None:
        return Check(UNSIGNED, message=f"{oid} is not signed")
    signer, kid, value = sig.get("signer"), sig.get("key_id"), sig.get("value")
    if sig.get("alg") != ALG or not isinstance(signer, str) or not isinstance(kid, str) \
            or not isinstance(value, str):
        return Check(INVALID, signer if isinstance(signer, str) else None, None,
                     f"{oid}: malformed signature (needs alg Ed25519, signer, key_id, value)")
    orig = originator(obj)
    if orig != signer:
        return Check(INVALID, signer, kid,
                     f"{oid}: signed by {signer} but originated by {orig}: only the originator signs")
    key = ring.by_signer.get(signer)
    if key is None:
        key = ring.by_key_id.get(kid)
        if key is None:
            return Check(UNKNOWN_KEY, signer, kid,
                         f"{oid}: signed by {signer} with key {kid[:16]}..., which is not pinned here")
    elif key_id(key) != kid:
        return Check(INVALID, signer, kid,
                     f"{oid}: signed with key {kid[:16]}... but the key pinned for {signer} is "
                     f"{key_id(key)[:16]}...")
    try:
        raw = base64.b64decode(value, validate=True)
        if base64.b64encode(raw).decode() != value:
            # unused low bits of the last base64 digit: another spelling of the same bytes
            raise ValueError("non-canonical base64")
        key.verify(raw, signing_input(obj))
    except (InvalidSignature, ValueError, InvalidInput):
        return Check(INVALID, signer, kid, f"{oid}: signature by {signer} does not verify: altered")
    return Check(VALID, signer, kid, f"{oid}: signed by {signer}, verifies")


# -- ingest integration ------------------------------------------------------------------

# verification results between the PREPARE step and the storing hook of one batch
_pending = threading.local()


def prepare(node: "Node", objs: list[dict[str, Any]], source: str | None) -> list[dict[str, Any] | GrotiusError]:
    """Ingest step before storing: sign own local objects, verify signed ones."""
    ring: Keyring | None = None
    pending: dict[tuple[str, str], Check] = {}
    _pending.checks = pending
    out: list[dict[str, Any] | GrotiusError] = []
    for obj in objs:
        sig = signature_of(obj)
        if sig is None:
            if source is None and originator(obj) == node.identity_id:
                try:
                    obj = sign(obj, node.signing_key, node.identity_id)
                except InvalidInput as e:
                    out.append(e)
                    continue
                pending[(obj["id"], version_of(obj))] = Check(
                    VALID, node.identity_id, key_id(node.public_key))
            out.append(obj)
            continue
        if ring is None:
            ring = keyring(node)
        res = check(obj, ring)
        if res.status == INVALID:
            out.append(IntegrityError(
                f"rejected: {res.message}", object_id=obj.get("id"), property="extensions"))
            continue
        pending[(obj["id"], version_of(obj))] = res
        out.append(obj)
    return out


def _record_hook(tx: Tx, node: "Node", stored: list[Stored]) -> None:
    pending: dict[tuple[str, str], Check] = getattr(_pending, "checks", {}) or {}
    if not pending:
        return
    now = int(time.time())
    rows = []
    for st in stored:
        res = pending.get((st.id, st.version))
        if res is not None and res.signer:
            rows.append((st.pk, res.signer, res.key_id or "", res.status, now))
    _pending.checks = {}
    if rows:
        tx.executemany(
            "INSERT INTO object_signatures (pk, signer, key_id, status, checked) VALUES (?,?,?,?,?)",
            rows,
        )


def status_of(node: "Node", obj: dict[str, Any]) -> Check:
    """For the UI: who signed and whether it verifies now (re-checked against today's keys)."""
    return check(obj, keyring(node))


# -- files -------------------------------------------------------------------------------


def verify_file(data: bytes, ring: Keyring) -> list[tuple[int, dict[str, Any] | None, Check]]:
    """Check every object of a bundle / array / JSON-lines input."""
    from ..ingest import read

    out: list[tuple[int, dict[str, Any] | None, Check]] = []
    for it in read(data):
        if it.error is not None or not isinstance(it.obj, dict):
            msg = str(it.error) if it.error else "not a JSON object"
            out.append((it.position, None, Check(INVALID, message=f"object {it.position}: {msg}")))
            continue
        out.append((it.position, it.obj, check(it.obj, ring)))
    return out


def keys_from_files(paths: Iterable[Path], ring: Keyring | None = None) -> Keyring:
    ring = ring or Keyring()
    for p in paths:
        try:
            text = Path(p).read_bytes()
        except OSError as e:
            raise InvalidInput(f"cannot read key file {p}: {e.strerror}", property="key") from None
        ring.pin(None, load_public_key(text, where=str(p)))
    return ring
