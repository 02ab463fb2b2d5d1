"""Export stored versions as a STIX 2.1 bundle, streamed so memory stays flat."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone
from typing import IO, Any, Sequence

import orjson

from .exc import InvalidInput
from .stix import grading
from .store import Store, objects


def parse_since(text: str) -> int:
    """An RFC 3339 timestamp (or date) to microseconds since the epoch."""
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"--since {text!r} is not an RFC 3339 timestamp such as 2026-01-31T00:00:00Z",
            property="since",
        ) from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return int(dt.timestamp() * 1_000_000)


def with_grade_tags(obj: dict[str, Any], grade: grading.Grade) -> dict[str, Any]:
    """MISP reads STIX labels as tags: carry the Admiralty grade as admiralty-scale tags."""
    out = dict(obj)
    labels = [l for l in out.get("labels") or () if not str(l).startswith("admiralty-scale:")]
    out["labels"] = labels + grade.misp_tags()
    if grade.confidence is not None and "confidence" not in out:
        out["confidence"] = grade.confidence
    return out


def local_grades(store: Store) -> dict[str, grading.Grade]:
    return {
        r[0]: grading.Grade(r[1], r[2])
        for r in store.query("SELECT id, reliability, credibility FROM gradings")
    }


def write_bundle(
    store: Store,
    out: IO[bytes],
    *,
    types: Sequence[str] = (),
    since_us: int | None = None,
    tlp_max: str | None = None,
    latest_only: bool = False,
    grade_tags: bool = False,
) -> int:
    """Write a bundle of the selected versions; returns how many objects it holds."""
    out.write(b'{"type":"bundle","id":"bundle--' + str(uuid.uuid4()).encode() + b'","objects":[')
    grades = local_grades(store) if grade_tags else {}
    n = 0
    for st in objects.iter_objects(
        store, types=types, since_us=since_us, tlp_max=tlp_max, latest_only=latest_only
    ):
        if n:
            out.write(b",")
        if grade_tags:
            g = grades.get(st.id) or grading.of_object(st.obj)
            out.write(orjson.dumps(with_grade_tags(st.obj, g)) if g else st.raw.encode())
        else:
            out.write(st.raw.encode())
        n += 1
    out.write(b"]}")
    return n
