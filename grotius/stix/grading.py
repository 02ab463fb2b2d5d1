"""Admiralty code (NATO AJP-2.1): source reliability A-F and information credibility 1-6.

Credibility maps to STIX ``confidence`` with the "Admiralty Credibility" scale of the
STIX 2.1 specification (appendix on confidence scales); reliability has no STIX property
and travels in the node's property extension and as MISP ``admiralty-scale`` tags.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ..exc import InvalidInput

GROTIUS_EXTENSION_ID = "extension-definition--3f0e5d0a-6c3b-4c57-9a4e-6b1f9a2f7e11"

RELIABILITY: dict[str, str] = {
    "A": "Completely reliable",
    "B": "Usually reliable",
    "C": "Fairly reliable",
    "D": "Not usually reliable",
    "E": "Unreliable",
    "F": "Reliability cannot be judged",
}
CREDIBILITY: dict[str, str] = {
    "1": "Confirmed by other sources",
    "2": "Probably true",
    "3": "Possibly true",
    "4": "Doubtful",
    "5": "Improbable",
    "6": "Truth cannot be judged",
}
# STIX 2.1 appendix A, Admiralty Credibility scale; 6 has no confidence value.
_CONFIDENCE_OF: dict[str, int | None] = {"1": 90, "2": 70, "3": 50, "4": 30, "5": 10, "6": None}
_GRADE_RE = re.compile(r"^\s*([A-Fa-f])\s*([1-6])\s*$")


@dataclass(frozen=True, slots=True)
class Grade:
    reliability: str
    credibility: str

    def __str__(self) -> str:
        return f"{self.reliability}{self.credibility}"

    @property
    def confidence(self) -> int | None:
        return _CONFIDENCE_OF[self.credibility]

    @property
    def label(self) -> str:
        return f"{RELIABILITY[self.reliability]}, {CREDIBILITY[self.credibility].lower()}"

    def misp_tags(self) -> list[str]:
        return [
            f'admiralty-scale:source-reliability="{self.reliability.lower()}"',
            f'admiralty-scale:information-credibility="{self.credibility}"',
        ]

    def extension(self) -> dict[str, Any]:
        return {"extension_type": "property-extension", "admiralty": str(self)}

    def weight(self) -> float:
        """0..1, for ranking: A1 highest, F6 lowest; F and 6 count as 'unknown', not 'bad'."""
        r = {"A": 1.0, "B": 0.8, "C": 0.6, "D": 0.4, "E": 0.2, "F": 0.5}[self.reliability]
        c = {"1": 1.0, "2": 0.8, "3": 0.6, "4": 0.4, "5": 0.2, "6": 0.5}[self.credibility]
        return r * c


def parse(text: str) -> Grade:
    m = _GRADE_RE.match(text)
    if not m:
        raise InvalidInput(
            f"invalid Admiralty grade {text!r}: expected source reliability A-F followed by "
            "information credibility 1-6, e.g. B2",
            property="admiralty",
        )
    return Grade(m.group(1).upper(), m.group(2))


def of_object(obj: dict[str, Any]) -> Grade | None:
    """The grade an originator attached in the node extension, if any."""
    ext = (obj.get("extensions") or {}).get(GROTIUS_EXTENSION_ID)
    if isinstance(ext, dict) and isinstance(ext.get("admiralty"), str):
        try:
            return parse(ext["admiralty"])
        except InvalidInput:
            return None
    return None


def attach(obj: dict[str, Any], grade: Grade) -> dict[str, Any]:
    """A copy of ``obj`` carrying the grade and the matching confidence (a new version is the
    caller's business: change ``modified`` when the object was already published)."""
    out = dict(obj)
    exts = dict(out.get("extensions") or {})
    exts[GROTIUS_EXTENSION_ID] = {**exts.get(GROTIUS_EXTENSION_ID, {}), **grade.extension()}
    out["extensions"] = exts
    if grade.confidence is not None:
        out["confidence"] = grade.confidence
    return out


def set_grade(node: Any, object_id: str, text: str, *, note: str = "", by: str | None = None) -> Grade:
    """Record this node's own grading of a held object (kept beside it, not in it, so the
    object stays exactly as its originator published it)."""
    import time

    from ..exc import NotFound

    g = parse(text)
    store = node.store
    if not store.query_one("SELECT 1 FROM objects WHERE id = ?", (object_id,)):
        raise NotFound(f"no object {object_id} is held", object_id=object_id)
    with store.transaction() as tx:
        tx.execute("DELETE FROM gradings WHERE id = ?", (object_id,))
        tx.execute(
            "INSERT INTO gradings (id, reliability, credibility, graded_by, graded_at, note) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (object_id, g.reliability, g.credibility, by or node.config.org, int(time.time()), note),
        )
        from ..sharing.audit import record

        record(tx, "grade", objects=[(object_id, "")], detail={"grade": str(g), "note": note})
    return g


def grade_of(node: Any, obj: dict[str, Any]) -> Grade | None:
    """The node's own grade if it graded the object, else the originator's."""
    row = node.store.query_one(
        "SELECT reliability, credibility FROM gradings WHERE id = ?", (obj.get("id"),)
    )
    return Grade(row[0], row[1]) if row else of_object(obj)
