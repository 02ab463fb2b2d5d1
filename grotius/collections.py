"""TAXII collections: named sets of object versions a node offers to partners."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from .exc import Conflict, InvalidInput, NotFound
from .store import Store

_NAME = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
# TAXII collection ids are UUIDs; derive them from the name so every node (and every
# restart) names the same collection the same way
_NS = uuid.UUID("5a0c1e0e-7a3c-4d6b-9f3a-2b8e6c1d4f70")


def collection_uuid(name: str) -> str:
    return str(uuid.uuid5(_NS, name))


def add(store: Store, name: str, title: str, description: str = "") -> dict[str, Any]:
    if not _NAME.match(name):
        raise InvalidInput(
            f"collection name {name!r} must be lower-case letters, digits, '_', '.', '-' (max 64)",
            property="name",
        )
    with store.transaction() as tx:
        if tx.query_one("SELECT 1 FROM collections WHERE name = ?", (name,)):
            raise Conflict(f"collection {name!r} exists already", collection=name)
        tx.execute(
            "INSERT INTO collections (name, title, description, created) VALUES (?, ?, ?, ?)",
            (name, title, description, int(time.time())),
        )
        from .sharing.audit import record

        record(tx, "collection.add", detail={"name": name, "title": title})
    return get(store, name)


def _dict(row: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "cid": int(row[0]), "name": row[1], "title": row[2], "description": row[3],
        "id": collection_uuid(row[1]), "count": int(row[4]),
    }


_SELECT = (
    "SELECT c.cid, c.name, c.title, c.description, "
    "(SELECT COUNT(*) FROM collection_items i WHERE i.cid = c.cid) FROM collections c"
)


def get(store: Store, name_or_id: str) -> dict[str, Any]:
    for c in list_all(store):
        if name_or_id in (c["name"], c["id"]):
            return c
    raise NotFound(f"no collection {name_or_id!r}", collection=name_or_id)


def list_all(store: Store) -> list[dict[str, Any]]:
    return [_dict(r) for r in store.query(_SELECT + " ORDER BY c.name")]
