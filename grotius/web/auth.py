"""Who is asking: sessions, HTTP Basic, Bearer tokens, and CSRF, in one place.

Every request resolves to a :class:`Principal` (or none) through ``RESOLVERS``, a list of
functions tried in order; the sharing area appends its partner-account resolver there.
Sessions live in the ``sessions`` table with only a SHA-256 of the token stored, so a
copy of the database does not let anyone log in. A session's CSRF token is checked on
every state-changing request that rides on the cookie; Basic and Bearer requests carry
their credentials explicitly and cannot be forged cross-site, so they need none.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from fastapi import Request

from .. import users
from ..exc import AuthError, Forbidden

if TYPE_CHECKING:
    from ..node import Node

COOKIE = "grotius_session"
#: double-submit cookie protecting the login form itself (no session exists yet)
LOGIN_CSRF_COOKIE = "grotius_login_csrf"
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"
SESSION_SECONDS = 12 * 3600


@dataclass
class Principal:
    """An authenticated caller: a node user, or (added by sharing) a partner account."""

    kind: str  # "user" | "partner" | ...
    name: str
    role: str = "analyst"
    uid: int | None = None
    #: how the request authenticated: "session", "basic", "bearer", or a plug-in's name
    via: str = "session"
    #: CSRF token of the session; None when the request needs none (Basic, Bearer)
    csrf: str | None = None
    #: highest TLP this caller may see; None for the node's own users (they see all)
    tlp_max: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


Resolver = Callable[[Request, "Node"], "Principal | None"]


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# -- sessions ---------------------------------------------------------------------------


def create_session(node: "Node", user: users.User) -> tuple[str, str]:
    """A new session for ``user``; returns (token, csrf). Only the token's hash is stored."""
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    now = int(time.time())
    with node.store.transaction() as tx:
        # expired sessions are swept on login, which is rare enough to cost nothing
        tx.execute("DELETE FROM sessions WHERE expires < ?", (now,))
        tx.execute(
            "INSERT INTO sessions (token_hash, uid, csrf, created, expires) VALUES (?, ?, ?, ?, ?)",
            (_hash(token), user.uid, csrf, now, now + SESSION_SECONDS),
        )
    return token, csrf


def end_session(node: "Node", token: str) -> None:
    with node.store.transaction() as tx:
        tx.execute("DELETE FROM sessions WHERE token_hash = ?", (_hash(token),))


def _session_principal(node: "Node", token: str, via: str) -> Principal | None:
    row = node.store.query_one(
        "SELECT s.uid, s.csrf, s.expires, u.username, u.role FROM sessions s "
        "JOIN users u ON u.uid = s.uid WHERE s.token_hash = ? AND u.disabled = 0",
        (_hash(token),),
    )
    if row is None or int(row[2]) < time.time():
        return None
    return Principal(
        kind="user", name=row[3], role=row[4], uid=int(row[0]), via=via,
        csrf=row[1] if via == "session" else None,
    )


# -- resolvers --------------------------------------------------------------------------


def from_cookie(request: Request, node: "Node") -> Principal | None:
    token = request.cookies.get(COOKIE)
    return _session_principal(node, token, "session") if token else None


def from_authorization(request: Request, node: "Node") -> Principal | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    scheme = scheme.lower()
    if scheme == "bearer" and value.strip():
        p = _session_principal(node, value.strip(), "bearer")
        if p is None:
            raise AuthError("the bearer token is unknown or has expired")
        return p
    if scheme == "basic" and value.strip():
        try:
            username, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise AuthError("malformed HTTP Basic credentials") from None
        if not sep:
            raise AuthError("malformed HTTP Basic credentials")
        return _basic(request, node, username, password)
    return None


BASIC_CACHE_SECONDS = 300


def _basic(request: Request, node: "Node", username: str, password: str) -> Principal:
    """Verify Basic credentials, remembering a success for a few minutes.

    Argon2 is deliberately slow (about a second here); a script sending Basic on every
    call would otherwise spend most of its time hashing. Only a keyed hash of the
    credentials is kept, in this process's memory; the account is re-read each time so a
    disabled user is refused at once.
    """
    cache: dict[str, tuple[float, int]] = request.app.state.basic_cache
    key = hmac.new(node.config.secret.encode(), f"{username}\0{password}".encode(), "sha256").hexdigest()
    hit = cache.get(key)
    now = time.monotonic()
    if hit is not None and hit[0] > now:
        u = users.get(node.store, hit[1])
        if u is not None and u.username == username:
            return Principal(kind="user", name=u.username, role=u.role, uid=u.uid, via="basic")
        cache.pop(key, None)
    u = users.authenticate(node.store, username, password)
    if len(cache) > 1000:
        cache.clear()
    cache[key] = (now + BASIC_CACHE_SECONDS, u.uid)
    return Principal(kind="user", name=u.username, role=u.role, uid=u.uid, via="basic")


#: tried in order; the first that returns a principal wins. A resolver raises AuthError
#: for credentials that are present but wrong, so they are never silently ignored.
RESOLVERS: list[Resolver] = [from_authorization, from_cookie]


def resolve(request: Request) -> Principal | None:
    """The caller of this request, or None when it carries no credentials."""
    cached = request.scope.get("grotius.principal", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[no-any-return]
    node: Node = request.app.state.node
    principal: Principal | None = None
    for resolver in RESOLVERS:
        principal = resolver(request, node)
        if principal is not None:
            break
    request.scope["grotius.principal"] = principal
    return principal


_UNSET = object()


def require_principal(request: Request) -> Principal:
    """FastAPI dependency: any authenticated caller."""
    p = resolve(request)
    if p is None:
        raise AuthError("log in first: send the session cookie, HTTP Basic or a Bearer token")
    return p


def require_user_principal(p: Principal) -> Principal:
    if p.kind != "user":
        raise Forbidden("this needs a user of this node", principal=p.name)
    return p


def require_user(request: Request) -> Principal:
    """FastAPI dependency: one of the node's own users (not a partner account)."""
    return require_user_principal(require_principal(request))


def require_admin(request: Request) -> Principal:
    p = require_user(request)
    if not p.is_admin:
        raise Forbidden("this needs an administrator", user=p.name)
    return p


# -- CSRF -------------------------------------------------------------------------------


def check_csrf(request: Request, principal: Principal, submitted: str | None) -> None:
    """Refuse a cookie-authenticated state change whose CSRF token does not match."""
    if principal.csrf is None:
        return
    given = submitted or request.headers.get(CSRF_HEADER) or ""
    if not given or not hmac.compare_digest(given, principal.csrf):
        raise Forbidden(
            "missing or wrong CSRF token: reload the page and try again",
            reason="csrf",
        )


async def csrf_protect(request: Request) -> Principal:
    """FastAPI dependency for POST routes: authenticated, and CSRF-checked when the
    request rides on the session cookie (form field ``csrf_token`` or header X-CSRF-Token)."""
    p = require_principal(request)
    if p.csrf is not None:
        submitted = request.headers.get(CSRF_HEADER)
        if not submitted and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")
        ):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            submitted = value if isinstance(value, str) else None
        check_csrf(request, p, submitted)
    return p


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def check_login_csrf(request: Request, submitted: str | None) -> None:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE) or ""
    if not cookie or not submitted or not hmac.compare_digest(cookie, submitted):
        raise Forbidden("the login form expired or was not sent by this site: reload it", reason="csrf")


def set_session_cookie(response: Any, request: Request, token: str) -> None:
    response.set_cookie(
        COOKIE, token, max_age=SESSION_SECONDS, httponly=True, samesite="lax",
        secure=request.url.scheme == "https", path="/",
    )
