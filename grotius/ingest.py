"""Validated ingest: the one path by which objects enter a node (import, TAXII POST, sync).

Input is read whole (bundle, JSON array, single object or JSON lines), every object is
checked on its own, and the good ones are stored in batches, each batch in one
transaction together with everything the hooks derive from it (correlation index, ...):
an object is either fully stored or not at all. A bad object never stops the others.
"""

from __future__ import annotations

import gc
import json
import sys
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Sequence

import orjson

from . import checkpool
from .exc import Conflict, GrotiusError, InvalidInput
from .stix import markings
from .store import objects as store_objects
from .store.engine import Tx
from .store.objects import Stored

if TYPE_CHECKING:
    from .node import Node

Hook = Callable[[Tx, "Node", list[Stored]], None]

#: called inside each batch's transaction with the versions it stored; areas append theirs
HOOKS: list[Hook] = []

Prepare = Callable[["Node", list[dict[str, Any]], "str | None"], list["dict[str, Any] | GrotiusError"]]

#: called per batch after validation, before storing, with (node, objects, source): returns
#: per object the object to store (e.g. signed) or the error that rejects it
PREPARE: list[Prepare] = []

BATCH = 2000
#: a large input commits once per this many objects rather than per batch: a commit writes
#: every page the batch touched, and random keys (ids, correlation values) touch most
#: pages of their indexes, so per-batch commits rewrote the same pages again and again
#: (measured at 40,000 objects: 293 -> 155 MB written to the WAL)
COMMIT_EVERY = 20_000
MAX_INPUT_BYTES = 2 * 1024**3

# References whose target must exist (in the same input or the store) unless the caller
# relaxes it: a relationship or sighting that points nowhere says nothing.
_STRICT_REFS = {
    "relationship": ("source_ref", "target_ref"),
    "sighting": ("sighting_of_ref",),
}


@dataclass(slots=True)
class Item:
    """One object of an input, or the reason it could not be read."""

    position: int
    obj: Any = None
    error: InvalidInput | None = None
    line: int | None = None
    #: analyser results of a valid object (see grotius.checkpool)
    derived: dict[str, Any] | None = None


@dataclass
class Summary:
    stored: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[GrotiusError] = field(default_factory=list)
    results: list[Stored] = field(default_factory=list)
    by_type: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return self.rejected == 0

    def to_dict(self, max_errors: int = 1000) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "by_type": dict(self.by_type),
            "errors": [e.to_dict() | {"text": str(e)} for e in self.errors[:max_errors]],
        }


# -- reading ----------------------------------------------------------------------------


def _where(text: str, pos: int) -> tuple[int, int]:
    line = text.count("\n", 0, pos) + 1
    col = pos - (text.rfind("\n", 0, pos) + 1) + 1
    return line, col


def _decode(data: bytes) -> tuple[str, InvalidInput | None]:
    """Text of the input; bytes that are not UTF-8 become lone surrogates, which the
    validator reports on the object (and property) that holds them."""
    try:
        return data.decode("utf-8"), None
    except UnicodeDecodeError as e:
        text = data.decode("utf-8", "surrogateescape")
        line, col = _where(text, len(data[: e.start].decode("utf-8", "surrogateescape")))
        return text, InvalidInput(
            f"input is not valid UTF-8 (first bad byte 0x{data[e.start]:02x} at byte offset {e.start})",
            line=line, column=col,
        )


def _loads(text: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        # orjson refuses lone surrogates and huge integers; the standard library reads
        # both, so the validator can name the object and property at fault
        return json.loads(text)


def _objects_of(doc: Any, base_line: int | None = None) -> Iterator[Item]:
    if isinstance(doc, dict) and doc.get("type") == "bundle":
        objs = doc.get("objects", [])
        if not isinstance(objs, list):
            yield Item(0, error=InvalidInput("bundle 'objects' must be a list", property="objects"))
            return
        for i, o in enumerate(objs):
            yield Item(i, obj=o)
    elif isinstance(doc, list):
        for i, o in enumerate(doc):
            yield Item(i, obj=o)
    else:
        yield Item(0, obj=doc, line=base_line)


#: inputs from this size on are read with the cyclic collector paused (see _no_gc)
GC_PAUSE_BYTES = 1024 * 1024


@contextmanager
def _no_gc(large: bool) -> Iterator[None]:
    """Pause the cyclic collector for a large input: reading and checking it allocate
    hundreds of thousands of containers, none of them in a cycle, and each collection
    would walk them all again (and whatever else the process holds); reference counting
    frees them."""
    paused = large and gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            _to_oldest_generation()
            gc.enable()


def _to_oldest_generation() -> None:
    """Move every tracked object to the collector's oldest generation without walking
    them. The containers made while it was paused are otherwise all in the youngest
    one, and the first collections after the pause walk every one of them as they age
    through the generations (at 100,000 objects: 0.17 s after reading, 0.46 s as
    ingest began, 0.09 s after it; about 7 µs per object). freeze() and unfreeze() are
    two list splices; they are skipped if something else keeps objects frozen."""
    if gc.get_freeze_count() == 0:
        gc.freeze()
        gc.unfreeze()


#: an input of this size nearly always holds checkpool.PARALLEL_MIN objects or more (the
#: objects of benchmarks/ingest.py average 400 bytes), so its checking worker is started
#: before it is read
PRESTART_BYTES = 8 * 1024 * 1024


def read(data: bytes) -> list[Item]:
    """Split an input into items: bundle, JSON array, one object, or JSON lines."""
    if len(data) >= PRESTART_BYTES:
        checkpool.prestart(checkpool.PARALLEL_MIN)
    with _no_gc(len(data) >= GC_PAUSE_BYTES):
        return _read(data)


#: byte order marks of the encodings JSON files turn up in besides UTF-8 (longest first)
_WIDE_BOMS = ((b"\xff\xfe\x00\x00", "UTF-32LE"), (b"\x00\x00\xfe\xff", "UTF-32BE"),
              (b"\xff\xfe", "UTF-16LE"), (b"\xfe\xff", "UTF-16BE"))


def _wide_encoding(data: bytes) -> str | None:
    """The name of a UTF-16/32 encoding the input is evidently in (a byte order mark, or a
    NUL byte among the first two: JSON text starts with an ASCII character)."""
    for bom, name in _WIDE_BOMS:
        if data.startswith(bom):
            return name
    if b"\x00" in data[:2]:
        return "UTF-16 or UTF-32"
    return None


def _read(data: bytes) -> list[Item]:
    if len(data) > MAX_INPUT_BYTES:
        return [Item(0, error=InvalidInput(f"input of {len(data)} bytes exceeds the {MAX_INPUT_BYTES} byte limit"))]
    # a UTF-8 byte order mark (Windows tools write one) carries no content: RFC 8259 lets
    # a parser ignore it
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    wide = _wide_encoding(data)
    if wide is not None:
        return [Item(0, error=InvalidInput(
            f"input is {wide}, not UTF-8: STIX and JSON exchange use UTF-8; convert it first "
            f"(for example: iconv -f {wide.split()[0]} -t UTF-8)", line=1, column=1,
        ))]
    try:
        return list(_objects_of(orjson.loads(data)))
    except (orjson.JSONDecodeError, RecursionError):
        pass
    text, utf8_problem = _decode(data)
    if not text.strip():
        return [Item(0, error=InvalidInput("input is empty: expected a STIX bundle, a JSON array or JSON lines"))]
    try:
        return list(_objects_of(_loads(text)))
    except RecursionError:
        return [Item(0, error=InvalidInput("input is nested too deeply to be a STIX object"))]
    except json.JSONDecodeError as whole:
        lines = text.splitlines()
        first = next((l for l in lines if l.strip()), "")
        if len(lines) > 1 and _parses_as_object(first):
            return _read_lines(lines)
        items = _recover_prefix(text)
        line, col = _where(text, whole.pos)
        broken = f"broken JSON at line {line}, column {col}: {whole.msg}"
        if utf8_problem and not items:
            # nothing was read: one input, one error, the encoding first (the likelier cause)
            return [Item(0, error=InvalidInput(
                f"{utf8_problem.message}, and it is not JSON: {broken}", line=line, column=col, position=0,
            ))]
        items.append(
            Item(
                len(items),
                error=InvalidInput(
                    broken + (f"; {len(items)} object(s) before it were read" if items else ""),
                    line=line, column=col, position=len(items),
                ),
            )
        )
        return items


def _parses_as_object(line: str) -> bool:
    try:
        return isinstance(_loads(line), dict)
    except (json.JSONDecodeError, RecursionError):
        return False


def _read_lines(lines: Sequence[str]) -> list[Item]:
    items: list[Item] = []
    for n, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        pos = len(items)
        try:
            items.append(Item(pos, obj=_loads(line), line=n))
        except json.JSONDecodeError as e:
            items.append(
                Item(pos, line=n, error=InvalidInput(
                    f"line {n} is not valid JSON at column {e.colno}: {e.msg}",
                    position=pos, line=n, column=e.colno,
                ))
            )
        except RecursionError:
            items.append(Item(pos, line=n, error=InvalidInput(
                f"line {n} is nested too deeply", position=pos, line=n)))
    return items


def _recover_prefix(text: str) -> list[Item]:
    """Objects of a bundle or array read before the point where its JSON breaks."""
    dec = json.JSONDecoder()
    start = text.find("[", text.find('"objects"') if '"objects"' in text[:4096] else 0)
    if start < 0:
        return []
    i = start + 1
    items: list[Item] = []
    n = len(text)
    while i < n:
        while i < n and text[i] in " \t\r\n,":
            i += 1
        if i >= n or text[i] == "]":
            break
        try:
            obj, i = dec.raw_decode(text, i)
        except (json.JSONDecodeError, RecursionError):
            break
        items.append(Item(len(items), obj=obj))
    return items


# -- checking and storing ---------------------------------------------------------------


def ingest(
    node: "Node",
    source_items: Iterable[Item] | Iterable[dict[str, Any]],
    *,
    collection: str | None = None,
    source: str | None = None,
    strict_refs: bool = True,
    progress: bool = False,
    quiet: bool = False,
) -> Summary:
    """Validate and store; returns what happened to every object."""
    if collection is not None:
        # a wrong name fails before anything is checked, whatever the input holds
        store_objects.collection_id(node.store, collection)
    items = [
        it if isinstance(it, Item) else Item(i, obj=it) for i, it in enumerate(source_items)
    ]
    large = len(items) >= checkpool.PARALLEL_MIN
    with _no_gc(large):
        return _ingest(node, items, large, collection, source, strict_refs, progress, quiet)


def _ingest(
    node: "Node", items: list[Item], large: bool, collection: str | None, source: str | None,
    strict_refs: bool, progress: bool, quiet: bool,
) -> Summary:
    summary = Summary()
    bar = _progress(len(items)) if progress and not quiet else None
    in_input = {
        it.obj.get("id")
        for it in items
        if it.error is None and isinstance(it.obj, dict) and isinstance(it.obj.get("id"), str)
    }
    batches = [items[start : start + BATCH] for start in range(0, len(items), BATCH)]
    readable = [[(it.position, it.obj) for it in b if it.error is None] for b in batches]
    workers = checkpool.workers_for(len(items))
    per_commit = max(1, COMMIT_EVERY // BATCH) if large else 1
    checks_of = checkpool.checked(readable, workers)
    try:
        for first in range(0, len(batches), per_commit):
            # batches of one group share a transaction (nested ones join it): each
            # object is still stored whole or not at all
            with node.store.transaction():
                for batch in batches[first : first + per_commit]:
                    _one_batch(node, batch, next(checks_of), in_input, strict_refs,
                               collection, source, summary)
                    if bar is not None:
                        bar[0].update(bar[1], advance=len(batch))
    finally:
        checks_of.close()
        if bar is not None:
            bar[0].stop()
    return summary


def _one_batch(
    node: "Node", batch: list[Item], results: list[checkpool.Checked], in_input: set[str],
    strict_refs: bool, collection: str | None, source: str | None, summary: Summary,
) -> None:
    good: list[Item] = []
    checks = iter(results)
    for it in batch:
        if it.error is not None:
            _reject(summary, it.error, it)
            continue
        problems, it.derived = next(checks)
        if problems:
            _reject(summary, problems[0], it, more=problems[1:])
        else:
            good.append(it)
    good = _check_refs(node, good, in_input, strict_refs, summary)
    for prep in PREPARE:
        good = _prepared(node, prep, good, source, summary)
    if good:
        _store(node, good, collection, source, summary)


def _reject(summary: Summary, err: GrotiusError, it: Item, more: Sequence[GrotiusError] = ()) -> None:
    summary.rejected += 1
    if it.line is not None and "line" not in err.detail:
        err.detail["line"] = it.line
    if "position" not in err.detail:
        err.detail["position"] = it.position
    if more:
        err.detail["more"] = [str(m) for m in more[:10]]
    summary.errors.append(err)


def _check_refs(
    node: "Node", good: list[Item], in_input: set[str], strict: bool, summary: Summary
) -> list[Item]:
    """Marking references must resolve; so must relationship/sighting ends when strict."""
    # gathered whole and filtered once: most objects name the same few markings, and a
    # generator per object cost more than the lookups (checked objects: marking
    # references are strings)
    wanted: set[str] = set()
    strict_props = _STRICT_REFS if strict else {}
    for it in good:
        o = it.obj
        m = o.get("object_marking_refs")
        if m:
            wanted.update(m)
        g = o.get("granular_markings")
        if g:
            wanted.update(x["marking_ref"] for x in g if isinstance(x, dict) and isinstance(x.get("marking_ref"), str))
        props = strict_props.get(o.get("type", ""))
        if props:
            for prop in props:
                ref = o.get(prop)
                if isinstance(ref, str):
                    wanted.add(ref)
    wanted -= in_input
    wanted.difference_update(markings.LEVEL_OF_ID)
    known: set[str] = set()
    ids = sorted(wanted)
    for i in range(0, len(ids), 500):
        chunk = ids[i : i + 500]
        known.update(
            r[0] for r in node.store.query(
                f"SELECT DISTINCT id FROM objects WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
        )
    missing = wanted - known
    if not missing:
        return good
    kept: list[Item] = []
    for it in good:
        o = it.obj
        bad: tuple[str, str] | None = None
        for j, m in enumerate(o.get("object_marking_refs") or ()):
            if m in missing:
                bad = (f"object_marking_refs[{j}]", m)
                break
        if bad is None:
            for j, g in enumerate(o.get("granular_markings") or ()):
                if isinstance(g, dict) and g.get("marking_ref") in missing:
                    bad = (f"granular_markings[{j}].marking_ref", g["marking_ref"])
                    break
        if bad is None and strict:
            for prop in _STRICT_REFS.get(o.get("type", ""), ()):
                if o.get(prop) in missing:
                    bad = (prop, o[prop])
                    break
        if bad is None:
            kept.append(it)
        else:
            _reject(summary, InvalidInput(
                f"object {it.position} ({o.get('id')}): {bad[0]} refers to {bad[1]}, which is "
                "neither in this input nor in the store",
                position=it.position, object_id=o.get("id"), property=bad[0],
            ), it)
    return kept


def _prepared(node: "Node", prep: Prepare, good: list[Item], source: str | None, summary: Summary) -> list[Item]:
    if not good:
        return good
    kept: list[Item] = []
    for it, res in zip(good, prep(node, [it.obj for it in good], source)):
        if isinstance(res, GrotiusError):
            res.detail.setdefault("object_id", it.obj.get("id"))
            _reject(summary, res, it)
        else:
            if res is not it.obj:
                it.derived = None
            it.obj = res
            kept.append(it)
    return kept


def _store(node: "Node", good: list[Item], collection: str | None, source: str | None, summary: Summary) -> None:
    with node.store.transaction() as tx:
        results = store_objects.put(
            tx, [it.obj for it in good], default_tlp=node.config.default_tlp,
            collection=collection, source=source, derived=[it.derived for it in good],
        )
        stored: list[Stored] = []
        for it, res in zip(good, results):
            if isinstance(res, Conflict):
                res.detail.setdefault("position", it.position)
                _reject(summary, res, it)
                continue
            res.derived = it.derived
            summary.results.append(res)
            if res.status == "stored":
                summary.stored += 1
                summary.by_type[res.type] += 1
                stored.append(res)
            else:
                summary.unchanged += 1
        for hook in HOOKS:
            hook(tx, node, stored)
    # the per-object analyses served the hooks; the summary keeps every result, and a
    # million objects' analyses would stay in memory with it
    for it, res in zip(good, results):
        it.derived = None
        if isinstance(res, Stored):
            res.derived = None


def _progress(total: int) -> tuple[Any, Any] | None:
    if total < 5000 or not sys.stderr.isatty() and total < 50000:
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
    from rich.console import Console

    p = Progress(
        TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
        console=Console(stderr=True), transient=False,
    )
    p.start()
    return p, p.add_task("ingest", total=total)
