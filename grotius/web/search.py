"""Search over stored objects by value, type, marking and time; shared by pages and API.

By default only each object's latest version is searched. A value that looks like a STIX
id is an exact id lookup; anything else is a case-insensitive substring of the stored
JSON, which covers names, patterns and observable values alike. The total is counted up
to ``COUNT_CAP`` so a broad search over a large store still answers quickly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from ..exc import InvalidInput
from ..stix import markings
from ..store import Store
from ..store.engine import MAX_INT64
from ..store.objects import loads, norm_ts

COUNT_CAP = 10_000
MAX_PER_PAGE = 500
TIME_FIELDS = ("date_added", "modified")
_STIX_ID = re.compile(r"^[a-z0-9][a-z0-9-]*--[0-9a-fA-F-]{36}$")
LATEST = "NOT EXISTS (SELECT 1 FROM objects n WHERE n.id = o.id AND n.version > o.version)"


def _when(text: str, prop: str) -> datetime:
    try:
        dt = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{prop} {text!r} is not a date or RFC 3339 timestamp such as 2026-01-31 or "
            "2026-01-31T12:00:00Z",
            property=prop,
        ) from None
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


@dataclass
class SearchQuery:
    q: str = ""
    types: list[str] = field(default_factory=list)
    tlp: list[str] = field(default_factory=list)
    marking: str = ""
    time_field: str = "date_added"
    since: str = ""
    until: str = ""
    source: str = ""
    #: identity id of the creator; "none" for objects that name no creator
    created_by: str = ""
    all_versions: bool = False
    page: int = 1
    per_page: int = 50

    def __post_init__(self) -> None:
        self.q = self.q.strip()
        self.types = [t.strip() for t in self.types if t and t.strip()]
        self.tlp = [markings.level(t) for t in self.tlp if t and t.strip()]
        self.marking = self.marking.strip()
        if self.time_field not in TIME_FIELDS:
            raise InvalidInput(
                f"time field {self.time_field!r} must be one of {', '.join(TIME_FIELDS)}",
                property="time_field",
            )
        if not 1 <= self.per_page <= MAX_PER_PAGE:
            raise InvalidInput(f"per_page must be between 1 and {MAX_PER_PAGE}", property="per_page")
        # the page's OFFSET must fit the 64-bit integer both engines take
        last_page = MAX_INT64 // self.per_page + 1
        if not 1 <= self.page <= last_page:
            raise InvalidInput(f"page must be between 1 and {last_page}", property="page")
        # parse now so a bad date is reported before any SQL runs
        self._since = _when(self.since, "since") if self.since.strip() else None
        self._until = _when(self.until, "until") if self.until.strip() else None
        if self._until is not None and len(self.until.strip()) == 10:
            # a bare date as upper bound means "to the end of that day"
            self._until = self._until.replace(hour=23, minute=59, second=59, microsecond=999999)

    def where(self, dialect: str, tlp_max: str | None = None) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if not self.all_versions:
            clauses.append(LATEST)
        if self.q:
            if _STIX_ID.match(self.q):
                clauses.append("o.id = ?")
                params.append(self.q)
            else:
                like = "ILIKE" if dialect == "postgresql" else "LIKE"
                escaped = self.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                clauses.append(f"o.raw {like} ? ESCAPE '\\'")
                params.append(f"%{escaped}%")
        if self.types:
            clauses.append(f"o.type IN ({','.join('?' * len(self.types))})")
            params.extend(self.types)
        levels = self.tlp
        if tlp_max is not None:
            cleared = markings.cleared(tlp_max)
            levels = [l for l in levels if l in cleared] if levels else cleared
            if not levels:
                levels = ["-none-"]
        if levels:
            clauses.append(f"o.tlp IN ({','.join('?' * len(levels))})")
            params.extend(levels)
        if self.marking:
            # per-row probe of the (pk, marking_id) key: a TLP marking is on half the store,
            # so materialising its pk list costs more than checking the rows a page needs
            clauses.append("EXISTS (SELECT 1 FROM object_markings m WHERE m.pk = o.pk AND m.marking_id = ?)")
            params.append(self.marking)
        if self.created_by:
            if self.created_by == "none":
                clauses.append("o.created_by_ref IS NULL")
            else:
                clauses.append("o.created_by_ref = ?")
                params.append(self.created_by)
        if self.source:
            if self.source == "local":
                clauses.append("o.source IS NULL")
            else:
                clauses.append("o.source = ?")
                params.append(self.source)
        for bound, op in ((self._since, ">="), (self._until, "<=")):
            if bound is None:
                continue
            if self.time_field == "date_added":
                clauses.append(f"{self.added_column(tlp_max)} {op} ?")
                params.append(int(bound.timestamp() * 1_000_000))
            else:
                clauses.append(f"o.modified {op} ?")
                params.append(norm_ts(bound.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")))
        return (" AND ".join(clauses) or "1=1"), params

    def added_column(self, tlp_max: str | None = None) -> str:
        """The column that orders and bounds by date_added: every version's pk equals its
        date_added, and there is no index on date_added alone. A filter on type, TLP,
        creator or source walks that column's (column, date_added) index in date_added
        order; without one, the table itself is in pk order."""
        if self.types or self.tlp or tlp_max is not None or self.created_by or self.source:
            return "o.date_added"
        return "o.pk"

    def params(self) -> dict[str, Any]:
        """The query as URL parameters (for paging links and the export link)."""
        out: dict[str, Any] = {}
        if self.q:
            out["q"] = self.q
        if self.types:
            out["type"] = self.types
        if self.tlp:
            out["tlp"] = self.tlp
        if self.marking:
            out["marking"] = self.marking
        if self.source:
            out["source"] = self.source
        if self.created_by:
            out["created_by"] = self.created_by
        if self.since or self.until:
            out["time_field"] = self.time_field
        if self.since:
            out["since"] = self.since
        if self.until:
            out["until"] = self.until
        if self.all_versions:
            out["all_versions"] = "true"
        if self.per_page != 50:
            out["per_page"] = self.per_page
        return out


@dataclass
class Hit:
    pk: int
    id: str
    type: str
    version: str
    date_added: int
    tlp: str
    source: str | None
    created_by_ref: str | None
    obj: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        from .describe import label, us_to_iso

        return {
            "id": self.id, "type": self.type, "name": label(self.obj), "version": self.version,
            "date_added": us_to_iso(self.date_added), "tlp": self.tlp, "source": self.source,
            "created_by_ref": self.created_by_ref,
        }


@dataclass
class Result:
    hits: list[Hit]
    total: int
    capped: bool
    page: int
    per_page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))


def run(store: Store, query: SearchQuery, tlp_max: str | None = None) -> Result:
    where, params = query.where(store.dialect, tlp_max)
    offset = (query.page - 1) * query.per_page
    rows = store.query(
        "SELECT o.pk, o.id, o.type, o.version, o.date_added, o.tlp, o.source, o.created_by_ref, o.raw "
        f"FROM objects o WHERE {where} ORDER BY {query.added_column(tlp_max)} DESC LIMIT {int(query.per_page)} "
        f"OFFSET {int(offset)}",
        params,
    )
    hits = [
        Hit(int(r[0]), r[1], r[2], r[3], int(r[4]), r[5], r[6], r[7], loads(r[8])) for r in rows
    ]
    if query.page == 1 and len(hits) < query.per_page:
        total, capped = len(hits), False
    else:
        row = store.query_one(
            f"SELECT COUNT(*) FROM (SELECT 1 FROM objects o WHERE {where} LIMIT {COUNT_CAP + 1}) c",
            params,
        )
        total = int(row[0]) if row else 0
        capped = total > COUNT_CAP
        total = min(total, COUNT_CAP)
    return Result(hits, total, capped, query.page, query.per_page)


def facets(store: Store) -> dict[str, list[Any]]:
    """Choices for the search form: types held, marking definitions held, partner sources."""
    types = [r[0] for r in store.query("SELECT DISTINCT type FROM objects ORDER BY type")]
    marks = store.query(
        f"SELECT o.id, o.raw FROM objects o WHERE o.type = 'marking-definition' AND {LATEST} ORDER BY o.id"
    )
    from .describe import label

    marking_choices = [(mid, label(loads(raw))) for mid, raw in marks]
    marking_choices.sort(key=lambda m: (not m[1].startswith("TLP:"), markings.RANK.get(markings.LEVEL_OF_ID.get(m[0], ""), 9), m[1]))
    sources = [r[0] for r in store.query("SELECT DISTINCT source FROM objects WHERE source IS NOT NULL ORDER BY source")]
    return {"types": types, "markings": marking_choices, "sources": sources}
