"""A Grotius node: its home folder, configuration, identity, signing key and store."""

from __future__ import annotations

import os
import secrets
import uuid
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .config import CONFIG_FILE, Config, home_from
from .exc import ConfigError
from .stix import extension, markings
from .store import Store, open_store, objects

KEY_FILE = "keys/signing.key"
PUB_FILE = "keys/signing.pub"


def stix_now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


@dataclass
class Node:
    config: Config
    store: Store

    @property
    def home(self) -> Path:
        return self.config.home

    @property
    def identity_id(self) -> str:
        return self.config.identity_id

    @cached_property
    def identity(self) -> dict[str, Any]:
        st = objects.get(self.store, self.identity_id)
        if st is None:
            raise ConfigError(f"the node's identity {self.identity_id} is not in its store")
        return st.obj

    @cached_property
    def signing_key(self) -> Ed25519PrivateKey:
        path = self.home / KEY_FILE
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except FileNotFoundError:
            raise ConfigError(f"signing key missing: {path}", path=str(path)) from None
        if not isinstance(key, Ed25519PrivateKey):
            raise ConfigError(f"{path} is not an Ed25519 private key", path=str(path))
        return key

    @property
    def public_key(self) -> Ed25519PublicKey:
        return self.signing_key.public_key()

    def public_key_pem(self) -> str:
        return self.public_key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    @classmethod
    def open(cls, home: str | Path | None = None) -> "Node":
        h = home_from(home)
        config = Config.load(h)
        node = cls(config=config, store=open_store(config.db_url))
        node.ensure_builtins()
        return node

    def ensure_builtins(self) -> list[str]:
        """Store the current version of any built-in object the store lacks (a node made
        by an earlier release holds earlier versions, e.g. of the extension definition);
        returns the ids stored. One indexed query when nothing is missing. Opening a node
        must not fail over this: a failure is a warning, and the next open tries again."""
        wanted = builtin_objects()
        try:
            ids = [o["id"] for o in wanted]
            held = set(self.store.query(
                f"SELECT id, version FROM objects WHERE id IN ({','.join('?' * len(ids))})", ids))
            missing = [o for o in wanted if (o["id"], objects.version_of(o)) not in held]
            if not missing:
                return []
            from .ingest import ingest

            summary = ingest(self, missing, quiet=True)
            if not summary.ok:
                raise summary.errors[0]
        except Exception as e:  # noqa: BLE001 - any failure here must leave the node usable
            warnings.warn(f"could not store the built-in objects of this Grotius release in the node's "
                          f"store ({e}); the node works with the versions it holds", RuntimeWarning, stacklevel=3)
            return []
        return [o["id"] for o in missing]

    def close(self) -> None:
        self.store.close()


def builtin_objects() -> list[dict[str, Any]]:
    """Objects every node holds from the start: TLP 2.0 definitions and the node extension."""
    return [
        *markings.builtin_definitions(),
        extension.project_identity(),
        extension.definition(),
    ]


def init(
    home: str | Path | None,
    org: str,
    *,
    default_tlp: str = "amber",
    communities: tuple[str, ...] = (),
    database_url: str = "",
    sector: str | None = None,
    identity_id: str | None = None,
) -> Node:
    """Create a node home: config, STIX identity, Ed25519 key pair, database.

    On failure (a bad option, a database that refuses) nothing it wrote is left behind,
    so the same command can simply be run again.
    """
    h = home_from(home)
    if (h / CONFIG_FILE).exists():
        raise ConfigError(f"a node already exists at {h}", path=str(h))
    if not org.strip():
        raise ConfigError("--org must name the organisation")
    level = markings.level(default_tlp)
    created: list[Path] = []
    try:
        return _create(h, created, org.strip(), level, communities, database_url, sector, identity_id)
    except BaseException:
        for path in reversed(created):
            if path.is_dir():
                path.rmdir()  # only directories init made, and only once emptied
            else:
                path.unlink(missing_ok=True)
        raise


def _create(h: Path, created: list[Path], org: str, default_tlp: str, communities: tuple[str, ...],
            database_url: str, sector: str | None, identity_id: str | None) -> Node:
    """:func:`init`'s writes; each path it makes goes into ``created`` first."""
    keys = h / "keys"
    for d in reversed([d for d in (keys, *keys.parents) if not d.exists()]):
        created.append(d)
        d.mkdir()
    key = Ed25519PrivateKey.generate()
    key_path = h / KEY_FILE
    created.append(key_path)
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    os.chmod(key_path, 0o600)
    created.append(h / PUB_FILE)
    (h / PUB_FILE).write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    config = Config(
        home=h,
        org=org,
        identity_id=identity_id or f"identity--{uuid.uuid4()}",
        secret=secrets.token_urlsafe(32),
        default_tlp=default_tlp,
        database_url=database_url,
        communities=tuple(communities),
    )
    created.append(h / CONFIG_FILE)
    (h / CONFIG_FILE).write_text(config.dump(), "utf-8")
    sqlite_file = h / "grotius.db"
    if config.db_url == f"sqlite:///{sqlite_file}" and not sqlite_file.exists():
        created += [sqlite_file, h / "grotius.db-wal", h / "grotius.db-shm"]
    store = open_store(config.db_url)
    now = stix_now()
    identity: dict[str, Any] = {
        "type": "identity",
        "spec_version": "2.1",
        "id": config.identity_id,
        "created": now,
        "modified": now,
        "name": config.org,
        "identity_class": "organization",
        "object_marking_refs": [markings.TLP2_IDS["clear"]],
    }
    if sector:
        identity["sectors"] = [sector]
    from .ingest import ingest

    node = Node(config=config, store=store)
    try:
        ingest(node, [*builtin_objects(), identity], quiet=True)
    except BaseException:
        store.close()
        raise
    return node
