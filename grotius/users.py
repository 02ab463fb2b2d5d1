"""The node's own user accounts (analysts, administrators); passwords hashed with Argon2id."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from .exc import AuthError, Conflict, InvalidInput
from .store import Store

ROLES = ("analyst", "admin")
_hasher = PasswordHasher()
_NAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
# a constant hash to verify against when the user does not exist, so a wrong user name
# costs as much time as a wrong password
_DUMMY = _hasher.hash("grotius-dummy-password")


@dataclass(frozen=True)
class User:
    uid: int
    username: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def add(store: Store, username: str, password: str, role: str = "analyst") -> User:
    if not _NAME.match(username):
        raise InvalidInput(
            f"user name {username!r} must be 2-64 letters, digits or _.@-", property="username"
        )
    if role not in ROLES:
        raise InvalidInput(f"role {role!r} must be one of {', '.join(ROLES)}", property="role")
    if len(password) < 8:
        raise InvalidInput("password must have at least 8 characters", property="password")
    with store.transaction() as tx:
        if tx.query_one("SELECT 1 FROM users WHERE username = ?", (username,)):
            raise Conflict(f"user {username!r} exists already", username=username)
        uid = tx.insert_returning_pk(
            "INSERT INTO users (username, password_hash, role, created) VALUES (?, ?, ?, ?)",
            (username, _hasher.hash(password), role, int(time.time())),
        )
        from .sharing.audit import record

        record(tx, "user.add", detail={"username": username, "role": role, "uid": uid})
    return User(uid, username, role)


def authenticate(store: Store, username: str, password: str) -> User:
    row = store.query_one(
        "SELECT uid, username, role, password_hash, disabled FROM users WHERE username = ?",
        (username,),
    )
    try:
        _hasher.verify(row[3] if row else _DUMMY, password)
    except (VerificationError, InvalidHashError):
        raise AuthError("wrong user name or password") from None
    if row is None or row[4]:
        raise AuthError("wrong user name or password")
    return User(int(row[0]), row[1], row[2])


def get(store: Store, uid: int) -> User | None:
    row = store.query_one("SELECT uid, username, role FROM users WHERE uid = ? AND disabled = 0", (uid,))
    return User(int(row[0]), row[1], row[2]) if row else None
