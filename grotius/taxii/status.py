"""TAXII status resources: what became of each object of a POST.

Ingest is synchronous, so a status is "complete" when it is first returned; it is kept
so the client can read it again at ``/status/{id}/`` (only the principal that posted,
or a node user, may).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import orjson

from ..exc import NotFound
from ..ingest import Item, Summary
from ..store import Store
from ..store.objects import version_of
from .media import ts


def _ident(obj: Any, position: int) -> tuple[str, str]:
    if isinstance(obj, dict):
        oid = obj.get("id") if isinstance(obj.get("id"), str) else f"(object {position}: no id)"
        try:
            ver = version_of(obj)
        except Exception:  # a malformed timestamp; the failure message names it
            ver = ""
        return oid, ver or str(obj.get("modified") or obj.get("created") or "")
    return f"(object {position}: not a JSON object)", ""


def build(items: list[Item], summary: Summary, requested_us: int) -> dict[str, Any]:
    successes = []
    for st in summary.results:
        msg = {"stored": "stored", "unchanged": "already held (unchanged)",
               "added": "already held; added to this collection"}.get(st.status, st.status)
        v = st.obj.get("modified") or st.obj.get("created")
        successes.append({"id": st.id, "version": v if isinstance(v, str) else ts(st.date_added), "message": msg})
    failures = []
    for err in summary.errors:
        pos = err.detail.get("position")
        obj = items[pos].obj if isinstance(pos, int) and 0 <= pos < len(items) else None
        oid, ver = _ident(obj, pos if isinstance(pos, int) else -1)
        failures.append({"id": err.detail.get("object_id") or oid, "version": ver, "message": str(err)})
    return {
        "id": str(uuid.uuid4()),
        "status": "complete",
        "request_timestamp": ts(requested_us),
        "total_count": len(successes) + len(failures),
        "success_count": len(successes),
        "successes": successes,
        "failure_count": len(failures),
        "failures": failures,
        "pending_count": 0,
        "pendings": [],
    }


def save(store: Store, status: dict[str, Any], principal: str, api_root: str) -> None:
    with store.transaction() as tx:
        tx.execute(
            "INSERT INTO taxii_status (id, principal, api_root, created, body) VALUES (?, ?, ?, ?, ?)",
            (status["id"], principal, api_root, int(time.time()), orjson.dumps(status).decode()),
        )


def load(store: Store, status_id: str, principal: str | None, api_root: str) -> bytes:
    """The stored status; ``principal`` None means any (node users)."""
    row = store.query_one(
        "SELECT principal, body FROM taxii_status WHERE id = ? AND api_root = ?", (status_id, api_root)
    )
    if row is None or (principal is not None and row[0] != principal):
        raise NotFound(f"no status {status_id!r} for you in this API root", status_id=status_id)
    return row[1].encode()
