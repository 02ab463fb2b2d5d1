"""Partner organisations, their accounts and their agreements with this node.

A partner has one account. Its password has the form ``gp_<key id>_<secret>``: used with
HTTP Basic (user name = partner name) or alone as a Bearer token; the key id lets a
Bearer token find its account without a user name. Only an Argon2id hash is stored.

Argon2 costs tens of milliseconds by design, too much for every TAXII page, so a
verified ``Authorization`` header is remembered in memory for a few minutes under an
HMAC of the header (keyed with the node secret, so the cache holds nothing a thief could
replay). The cache maps to the account only: the agreement is read from the database on
every request, so a changed or disabled agreement takes effect at once.

The credentials this node uses to reach the partner's own node (sync, matching) must be
usable, so they cannot be hashed: they are encrypted with AES-GCM under a key derived
from the node secret, so a copy of the database alone does not reveal them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Sequence
from urllib.parse import urlparse

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .. import users
from ..exc import AuthError, Conflict, InvalidInput, NotFound
from ..stix import markings

if TYPE_CHECKING:
    from ..node import Node
    from ..web.auth import Principal

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("grotius-dummy-partner-secret")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_TOKEN = re.compile(r"^gp_([0-9a-f]{12})_([A-Za-z0-9_-]{20,})$")

#: how long a verified Authorization header is remembered (seconds)
CACHE_SECONDS = 300
_CACHE_MAX = 10_000


@dataclass(frozen=True)
class Partner:
    """A partner organisation and the agreement this node has with it."""

    pid: int
    name: str
    tlp_max: str
    read: tuple[str, ...]
    write: tuple[str, ...]
    communities: tuple[str, ...]
    public_key_pem: str | None = None
    identity_id: str | None = None
    url: str | None = None
    remote_user: str | None = None
    agreement_version: int = 1
    created: int = 0
    updated: int = 0
    disabled: bool = False
    _remote_password_enc: str | None = field(default=None, repr=False, compare=False)

    @property
    def agreement_id(self) -> str:
        """Names the agreement in force, for the audit log: it changes with every edit."""
        return f"agreement:{self.name}:v{self.agreement_version}"

    def can_read(self, collection: str) -> bool:
        return collection in self.read

    def can_write(self, collection: str) -> bool:
        return collection in self.write

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "tlp_max": self.tlp_max, "read": list(self.read),
            "write": list(self.write), "communities": list(self.communities),
            "public_key": self.public_key_pem, "identity_id": self.identity_id,
            "url": self.url, "remote_user": self.remote_user,
            "has_remote_password": self._remote_password_enc is not None,
            "agreement": self.agreement_id, "disabled": self.disabled,
        }


_COLS = (
    "pid, name, tlp_max, read_collections, write_collections, communities, public_key, "
    "identity_id, url, remote_user, remote_password, agreement_version, created, updated, disabled"
)


def _partner(row: Sequence[Any]) -> Partner:
    return Partner(
        pid=int(row[0]), name=row[1], tlp_max=row[2], read=tuple(json.loads(row[3])),
        write=tuple(json.loads(row[4])), communities=tuple(json.loads(row[5])),
        public_key_pem=row[6], identity_id=row[7], url=row[8], remote_user=row[9],
        _remote_password_enc=row[10], agreement_version=int(row[11]), created=int(row[12]),
        updated=int(row[13]), disabled=bool(row[14]),
    )


# -- remote credentials -----------------------------------------------------------------


def _aead(node: "Node") -> Any:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    key = HKDF(hashes.SHA256(), 32, salt=None, info=b"grotius partner remote password").derive(
        node.config.secret.encode()
    )
    return AESGCM(key)


def _encrypt(node: "Node", name: str, secret: str) -> str:
    nonce = os.urandom(12)
    ct = _aead(node).encrypt(nonce, secret.encode(), name.encode())
    return "v1:" + base64.b64encode(nonce + ct).decode()


def remote_password(node: "Node", partner: Partner) -> str | None:
    """The password this node uses at the partner's node (for sync and matching)."""
    enc = partner._remote_password_enc
    if not enc:
        return None
    from cryptography.exceptions import InvalidTag

    try:
        blob = base64.b64decode(enc.removeprefix("v1:"))
        return _aead(node).decrypt(blob[:12], blob[12:], partner.name.encode()).decode()
    except (InvalidTag, binascii.Error, ValueError):
        raise AuthError(
            f"the stored remote password of partner {partner.name!r} cannot be decrypted "
            "(node secret changed?): set it again with `grotius partner update`",
            partner=partner.name,
        ) from None


# -- validation -------------------------------------------------------------------------


def _collections(node: "Node", names: Iterable[str], what: str) -> tuple[str, ...]:
    out: list[str] = []
    known = {r[0] for r in node.store.query("SELECT name FROM collections")}
    for n in names:
        n = n.strip()
        if not n:
            continue
        if n not in known:
            raise InvalidInput(
                f"--{what}: no collection named {n!r} on this node "
                f"(create it with `grotius collection add {n}`)",
                property=what, collection=n,
            )
        if n not in out:
            out.append(n)
    return tuple(out)


def _public_key(pem: str | None) -> str | None:
    if pem is None:
        return None
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(pem.encode())
    except (ValueError, TypeError) as e:
        raise InvalidInput(f"--public-key is not a PEM public key: {e}", property="public_key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput("--public-key must be an Ed25519 public key", property="public_key")
    return key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()


def _url(url: str | None) -> str | None:
    if not url:
        return None
    p = urlparse(url)
    if p.scheme not in ("http", "https") or not p.netloc:
        raise InvalidInput(f"--url {url!r} must be an http(s) URL of a TAXII discovery endpoint", property="url")
    return url if url.endswith("/") else url + "/"


def _communities(values: Iterable[str]) -> tuple[str, ...]:
    out: list[str] = []
    for c in values:
        c = c.strip()
        if c and c not in out:
            out.append(c)
    return tuple(out)


# -- administration ---------------------------------------------------------------------


def _audit(tx: Any, action: str, partner: Partner | str, detail: dict[str, Any]) -> None:
    from . import audit

    name = partner if isinstance(partner, str) else partner.name
    agreement = None if isinstance(partner, str) else partner.agreement_id
    audit.record(tx, action, partner=name, agreement=agreement, detail=detail)


def add(
    node: "Node",
    name: str,
    *,
    read: Iterable[str] = (),
    write: Iterable[str] = (),
    tlp_max: str = "clear",
    communities: Iterable[str] = (),
    public_key_pem: str | None = None,
    identity_id: str | None = None,
    url: str | None = None,
    remote_user: str | None = None,
    remote_password: str | None = None,
) -> tuple[Partner, str]:
    """Create a partner, its account and agreement; returns (partner, password).

    The password is shown to the caller once and never stored in clear.
    """
    if not _NAME.match(name or ""):
        raise InvalidInput(
            f"partner name {name!r} must be 1-64 letters, digits or _.- (starting with a letter or digit)",
            property="name",
        )
    level = markings.level(tlp_max)
    rd, wr = _collections(node, read, "read"), _collections(node, write, "write")
    pem = _public_key(public_key_pem)
    u = _url(url)
    if (remote_user or remote_password) and not u:
        raise InvalidInput("--remote-user/--remote-password need --url", property="url")
    key_id = secrets.token_hex(6)
    password = f"gp_{key_id}_{secrets.token_urlsafe(24)}"
    now = int(time.time())
    with node.store.transaction() as tx:
        if tx.query_one("SELECT 1 FROM partners WHERE name = ?", (name,)):
            raise Conflict(f"partner {name!r} exists already", partner=name)
        if tx.query_one("SELECT 1 FROM users WHERE username = ?", (name,)):
            raise Conflict(
                f"{name!r} is already the name of a user of this node; partner and user "
                "names share one login namespace", partner=name,
            )
        tx.execute(
            "INSERT INTO partners (name, key_id, secret_hash, tlp_max, read_collections, "
            "write_collections, communities, public_key, identity_id, url, remote_user, "
            "remote_password, agreement_version, created, updated, disabled) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,1,?,?,0)",
            (
                name, key_id, _hasher.hash(password), level, json.dumps(list(rd)),
                json.dumps(list(wr)), json.dumps(list(_communities(communities))), pem,
                identity_id, u, remote_user,
                _encrypt(node, name, remote_password) if remote_password else None, now, now,
            ),
        )
        p = _get(tx, name)
        _audit(tx, "partner.add", p, {"agreement": _agreement_detail(p)})
    return p, password


def _agreement_detail(p: Partner) -> dict[str, Any]:
    return {
        "tlp_max": p.tlp_max, "read": list(p.read), "write": list(p.write),
        "communities": list(p.communities), "public_key": p.public_key_pem,
        "identity_id": p.identity_id, "url": p.url, "remote_user": p.remote_user,
    }


_UNSET: Any = object()


def update(
    node: "Node",
    name: str,
    *,
    read: Iterable[str] | None = None,
    write: Iterable[str] | None = None,
    tlp_max: str | None = None,
    communities: Iterable[str] | None = None,
    public_key_pem: str | None = _UNSET,
    identity_id: str | None = _UNSET,
    url: str | None = _UNSET,
    remote_user: str | None = _UNSET,
    remote_password: str | None = _UNSET,
    disabled: bool | None = None,
) -> Partner:
    """Change an agreement; each change is a new agreement version in the audit log."""
    sets: dict[str, Any] = {}
    if read is not None:
        sets["read_collections"] = json.dumps(list(_collections(node, read, "read")))
    if write is not None:
        sets["write_collections"] = json.dumps(list(_collections(node, write, "write")))
    if tlp_max is not None:
        sets["tlp_max"] = markings.level(tlp_max)
    if communities is not None:
        sets["communities"] = json.dumps(list(_communities(communities)))
    if public_key_pem is not _UNSET:
        sets["public_key"] = _public_key(public_key_pem)
    if identity_id is not _UNSET:
        sets["identity_id"] = identity_id
    if url is not _UNSET:
        sets["url"] = _url(url)
    if remote_user is not _UNSET:
        sets["remote_user"] = remote_user
    if remote_password is not _UNSET:
        sets["remote_password"] = _encrypt(node, name, remote_password) if remote_password else None
    if disabled is not None:
        sets["disabled"] = 1 if disabled else 0
    with node.store.transaction() as tx:
        before = _get(tx, name)
        if sets:
            cols = ", ".join(f"{k} = ?" for k in sets)
            tx.execute(
                f"UPDATE partners SET {cols}, agreement_version = agreement_version + 1, "
                "updated = ? WHERE name = ?",
                (*sets.values(), int(time.time()), name),
            )
        after = _get(tx, name)
        if sets:
            _audit(tx, "partner.update", after, {
                "before": _agreement_detail(before) | {"disabled": before.disabled},
                "after": _agreement_detail(after) | {"disabled": after.disabled},
                "remote_password_changed": "remote_password" in sets,
            })
    forget_credentials()
    return after


def reset_password(node: "Node", name: str) -> str:
    """A fresh account password; the old one stops working at once."""
    key_id = secrets.token_hex(6)
    password = f"gp_{key_id}_{secrets.token_urlsafe(24)}"
    with node.store.transaction() as tx:
        p = _get(tx, name)
        tx.execute(
            "UPDATE partners SET key_id = ?, secret_hash = ?, updated = ? WHERE name = ?",
            (key_id, _hasher.hash(password), int(time.time()), name),
        )
        _audit(tx, "partner.password", p, {})
    forget_credentials()
    return password


def _get(q: Any, name: str) -> Partner:
    row = q.query_one(f"SELECT {_COLS} FROM partners WHERE name = ?", (name,))
    if row is None:
        raise NotFound(f"no partner named {name!r} (see `grotius partner list`)", partner=name)
    return _partner(row)


def get(node: "Node", name: str) -> Partner:
    return _get(node.store, name)


def find(node: "Node", name: str) -> Partner | None:
    row = node.store.query_one(f"SELECT {_COLS} FROM partners WHERE name = ?", (name,))
    return _partner(row) if row else None


def list_all(node: "Node", *, include_disabled: bool = True) -> list[Partner]:
    sql = f"SELECT {_COLS} FROM partners"
    if not include_disabled:
        sql += " WHERE disabled = 0"
    return [_partner(r) for r in node.store.query(sql + " ORDER BY name")]


def by_identity(node: "Node", identity_id: str) -> Partner | None:
    """The partner whose organisation has this STIX identity (for signature pinning)."""
    row = node.store.query_one(
        f"SELECT {_COLS} FROM partners WHERE identity_id = ? ORDER BY pid LIMIT 1", (identity_id,)
    )
    return _partner(row) if row else None


# -- authentication ---------------------------------------------------------------------

_cache: dict[bytes, tuple[str, int, float]] = {}
_cache_lock = threading.Lock()


def forget_credentials() -> None:
    """Drop every remembered credential (after a password or agreement change)."""
    with _cache_lock:
        _cache.clear()


def _cache_key(node: "Node", header: str) -> bytes:
    return hmac.new(node.config.secret.encode(), header.encode(), hashlib.sha256).digest()


def principal_for(node: "Node", partner: Partner, via: str = "basic") -> "Principal":
    """The principal that stands for a partner (TAXII requests, sync push, exports for it)."""
    from ..web.auth import Principal

    return Principal(
        kind="partner", name=partner.name, role="partner", uid=partner.pid, via=via,
        tlp_max=partner.tlp_max, extra={"partner": partner},
    )


def user_principal(user: users.User, via: str = "basic") -> "Principal":
    from ..web.auth import Principal

    return Principal(kind="user", name=user.username, role=user.role, uid=user.uid, via=via)


def _load(node: "Node", kind: str, ident: int, via: str) -> "Principal | None":
    if kind == "partner":
        row = node.store.query_one(
            f"SELECT {_COLS} FROM partners WHERE pid = ? AND disabled = 0", (ident,)
        )
        return principal_for(node, _partner(row), via) if row else None
    u = users.get(node.store, ident)
    return user_principal(u, via) if u else None


def _parse_basic(value: str) -> tuple[str, str]:
    try:
        username, sep, password = base64.b64decode(value, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise AuthError("malformed HTTP Basic credentials") from None
    if not sep:
        raise AuthError("malformed HTTP Basic credentials")
    return username, password


def authenticate(
    node: "Node", authorization: str | None, *, users_too: bool = True, partners_too: bool = True
) -> "Principal | None":
    """Who sent this ``Authorization`` header: a partner account (with ``partners_too``)
    or a node user over HTTP Basic (with ``users_too``). None when the header carries
    nothing this function handles (no header, a Bearer token that is not a partner
    token, a kind of account not asked for); AuthError when the credentials are present
    but wrong."""
    header = (authorization or "").strip()
    scheme, _, value = header.partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme not in ("basic", "bearer") or not value:
        return None
    if scheme == "bearer" and (not value.startswith("gp_") or not partners_too):
        return None
    if not partners_too and scheme == "basic":
        try:
            username = _parse_basic(value)[0]
        except AuthError:
            return None
        if node.store.query_one("SELECT 1 FROM partners WHERE name = ?", (username,)):
            return None
    key = _cache_key(node, header)
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None and hit[2] > now:
        p = _load(node, hit[0], hit[1], scheme)
        if p is not None:
            return p
        with _cache_lock:
            _cache.pop(key, None)
    kind, ident = _verify(node, scheme, value, users_too)
    if kind is None:
        return None
    with _cache_lock:
        if len(_cache) >= _CACHE_MAX:
            _cache.clear()
        _cache[key] = (kind, ident, now + CACHE_SECONDS)
    p = _load(node, kind, ident, scheme)
    if p is None:
        raise AuthError("this account is disabled")
    return p


def _verify(node: "Node", scheme: str, value: str, users_too: bool) -> tuple[str | None, int]:
    if scheme == "bearer":
        m = _TOKEN.match(value)
        row = node.store.query_one(
            "SELECT pid, secret_hash, disabled FROM partners WHERE key_id = ?", (m.group(1),)
        ) if m else None
        _check(row[1] if row else _DUMMY, value)
        if row is None or row[2]:
            raise AuthError("the bearer token is unknown or its partner is disabled")
        return "partner", int(row[0])
    username, password = _parse_basic(value)
    row = node.store.query_one(
        "SELECT pid, secret_hash, disabled, key_id FROM partners WHERE name = ?", (username,)
    )
    if row is not None:
        m = _TOKEN.match(password)
        _check(row[1] if m and m.group(1) == row[3] else _DUMMY, password)
        if not m or m.group(1) != row[3]:
            raise AuthError("wrong user name or password")
        if row[2]:
            raise AuthError("this partner account is disabled")
        return "partner", int(row[0])
    if not users_too:
        return None, 0
    u = users.authenticate(node.store, username, password)
    return "user", u.uid


def _check(hash_: str, secret: str) -> None:
    try:
        _hasher.verify(hash_, secret)
    except (VerificationError, InvalidHashError):
        raise AuthError("wrong user name or password") from None


#: where partner accounts may authenticate: partners read and write over TAXII only;
#: the UI and REST API are for the node's own users (their reads are not policed per
#: partner), so a partner's credentials are refused there like unknown ones
PARTNER_PATHS: tuple[str, ...] = ("/taxii2/", "/taxii2")


def resolver(request: Any, node: "Node") -> "Principal | None":
    """Web request resolver (see grotius/web/auth.py RESOLVERS): partner accounts (on
    TAXII paths only) and cached HTTP Basic for users; anything else is left to the next
    resolver."""
    return authenticate(
        node, request.headers.get("authorization"),
        partners_too=request.url.path.startswith(PARTNER_PATHS),
    )
