"""MISP warninglists, offline, compiled for fast lookup, plus the node's own exclusions.

The data is the snapshot shipped in the ``pymispwarninglists`` wheel (no network). Its own
search walks every list per value (``any(...)`` over a million hostnames, a bit trie per
CIDR list), about milliseconds per lookup; correlating at line rate needs microseconds, so
the lists are compiled once into:

- CIDR lists: one sorted array of elementary intervals over the whole address space
  (per IP version), each carrying the set of lists that cover it; a lookup is one bisect.
- hostname lists: a dict from name to lists; a lookup walks the value's parent domains
  (a suffix structure keyed on label boundaries: at most ~5 dict probes).
- string lists: a dict from the cleaned value to lists.
- substring lists: the large one (disposable e-mail domains) is domain-shaped and is
  matched on label boundaries like a hostname list; the small ones are scanned.
- regex lists: compiled Python regexes.

The compiled form is cached on disk (``misp(cache_dir)``). Its two big tables (hostnames
and strings, 2.3 million keys) are not pickled: creating a Python string and a dict slot
per key costs seconds per process (2 s CPU here), which every ingesting process would pay.
They are stored as flat hash tables (``_Table``: bucket starts, packed entries, key bytes)
that a process maps read-only, so opening the cache costs tens of milliseconds and the
pages are shared between processes. A probe of such a table runs a few Python bytecodes
more than a dict probe; the parent domains every hostname lookup walks recur ("com",
popular sites), so their answers are kept in a small memo.

A list applies to a value kind only when its ``matching_attributes`` name a MISP type of
that kind (the same gate MISP itself applies), so the "known e-mail providers" list
does not flag an address at a large provider as noise.
"""

from __future__ import annotations

import bisect
import glob
import ipaddress
import json
import mmap
import os
import pickle
import re
import sys
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from grotius.correlate.kinds.net import network_range, parent_domains, url_host, v4int, v6int
from grotius.correlate.types import registry
from grotius.exc import ConfigError, GrotiusError

#: MISP attribute types that each of our kinds stands for
MISP_TYPES: dict[str, frozenset[str]] = {
    "ipv4": frozenset({"ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "domain|ip"}),
    "ipv6": frozenset({"ip-src", "ip-dst", "ip-src|port", "ip-dst|port", "domain|ip"}),
    "ipv4-cidr": frozenset({"ip-src", "ip-dst", "domain|ip"}),
    "ipv6-cidr": frozenset({"ip-src", "ip-dst", "domain|ip"}),
    "domain": frozenset({"domain", "hostname", "domain|ip", "hostname|port"}),
    "url": frozenset({"url", "uri", "link"}),
    "email": frozenset({"email-src", "email-dst", "target-email", "whois-registrant-email", "dns-soa-email", "email"}),
    "md5": frozenset({"md5", "filename|md5", "x509-fingerprint-md5"}),
    "sha1": frozenset({"sha1", "filename|sha1", "x509-fingerprint-sha1"}),
    "sha256": frozenset({"sha256", "filename|sha256", "x509-fingerprint-sha256"}),
    "sha512": frozenset({"sha512", "filename|sha512"}),
    "phone": frozenset({"phone-number", "whois-registrant-phone"}),
}
_IP_KINDS = ("ipv4", "ipv6", "ipv4-cidr", "ipv6-cidr")
_V4_NET = re.compile(r"^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})(?:/(\d{1,2}))?$")
_MISP_REGEX = re.compile(r"^/(.*)/([a-z]*)$", re.DOTALL)


def data_dir() -> Path:
    # found without importing the package: its import pulls in jsonschema, whose format
    # checkers compile dozens of grammars (seconds) we never use
    import importlib.util

    spec = importlib.util.find_spec("pymispwarninglists")
    if spec is None or spec.origin is None:
        raise ConfigError("pymispwarninglists is not installed: it ships the MISP warninglists data")
    return Path(spec.origin).parent / "data" / "misp-warninglists" / "lists"


@dataclass(frozen=True, slots=True)
class ListInfo:
    name: str
    type: str
    version: int
    description: str
    kinds: frozenset[str]
    entries: int


@dataclass
class _Intervals:
    """Elementary intervals: starts[i] .. starts[i+1]-1 is covered by lists sets[i]."""

    starts: list[int] = field(default_factory=list)
    sets: list[frozenset[int]] = field(default_factory=list)

    @classmethod
    def build(cls, ranges: Iterable[tuple[int, int, int]]) -> "_Intervals":
        events: dict[int, list[tuple[int, int]]] = {}
        for lo, hi, lid in ranges:
            events.setdefault(lo, []).append((lid, 1))
            events.setdefault(hi + 1, []).append((lid, -1))
        active: dict[int, int] = {}
        out = cls()
        interned: dict[frozenset[int], frozenset[int]] = {}
        for point in sorted(events):
            for lid, d in events[point]:
                n = active.get(lid, 0) + d
                if n:
                    active[lid] = n
                else:
                    active.pop(lid, None)
            s = frozenset(active)
            s = interned.setdefault(s, s)
            if out.sets and out.sets[-1] == s:
                continue
            out.starts.append(point)
            out.sets.append(s)
        return out

    def at(self, x: int) -> frozenset[int]:
        i = bisect.bisect_right(self.starts, x) - 1
        return self.sets[i] if i >= 0 else frozenset()

    def covering(self, lo: int, hi: int) -> frozenset[int]:
        """Lists that cover every address of lo..hi."""
        i = bisect.bisect_right(self.starts, lo) - 1
        if i < 0:
            return frozenset()
        acc = self.sets[i]
        j = i + 1
        while acc and j < len(self.starts) and self.starts[j] <= hi:
            acc = acc & self.sets[j]
            j += 1
        return acc


#: a ``_Table`` entry is offset << 32 | length << _LEN_SHIFT | combination index
_LEN_SHIFT = 12
_COMBO_MASK = (1 << _LEN_SHIFT) - 1
_LEN_MASK = (1 << (32 - _LEN_SHIFT)) - 1
_crc32 = zlib.crc32
_UNSEEN = object()
_MEMO_SIZE = 1 << 15


class _Table:
    """A read-only ``str -> frozenset[int]`` map in flat buffers, so that a cached one opens
    without creating a Python object per key.

    A hash table in CSR form: the CRC-32 of a key's UTF-8 bytes picks a bucket; ``starts[b]
    .. starts[b+1]`` are the bucket's entries; each entry packs where its key's bytes lie in
    ``blob`` (offset, length) and which combination of lists it maps to. A probe compares
    the key bytes, so lookups are exact whatever the hash does."""

    __slots__ = ("_starts", "_ents", "_blob", "_combos", "_mask")

    def __init__(self, starts: memoryview, ents: memoryview, blob: "mmap.mmap | bytes",
                 combos: list[frozenset[int]], mask: int) -> None:
        self._starts = starts
        self._ents = ents
        self._blob = blob
        self._combos = combos
        self._mask = mask

    @staticmethod
    def layout(table: dict[str, frozenset[int]], base: int) -> tuple[list[frozenset[int]], int, bytes, bytes, bytes]:
        """(combos, mask, starts, entries, key bytes) of ``table``, the key bytes to lie at
        offset ``base`` of the buffer they are read from. ValueError when the table does not
        fit the format."""
        import numpy as np  # only to build (seconds in pure Python for 2.3 million keys)

        n = len(table)
        mask = (1 << max(4, (n - 1).bit_length())) - 1  # load factor 0.5 .. 1
        keys = [k.encode("utf-8", "surrogatepass") for k in table]
        ids: dict[frozenset[int], int] = {}
        combo = np.fromiter((ids.setdefault(v, len(ids)) for v in table.values()), dtype=np.uint64, count=n)
        if len(ids) > _COMBO_MASK:
            raise ValueError(f"{len(ids)} combinations of lists do not fit the cache format")
        bucket = np.fromiter(map(_crc32, keys), dtype=np.uint64, count=n) & np.uint64(mask)
        order = np.argsort(bucket, kind="stable")
        lens = np.fromiter(map(len, keys), dtype=np.uint64, count=n)[order]
        if n and (int(lens.max()) > _LEN_MASK or base + int(lens.sum()) >= 1 << 32):
            raise ValueError("warninglist keys do not fit the cache format")
        offs = np.uint64(base) + np.cumsum(lens) - lens
        ents = offs << np.uint64(32) | lens << np.uint64(_LEN_SHIFT) | combo[order]
        starts = np.zeros(mask + 2, dtype=np.uint32)
        np.cumsum(np.bincount(bucket.astype(np.int64), minlength=mask + 1), out=starts[1:])
        blob = b"".join([keys[i] for i in order.tolist()])
        return list(ids), mask, starts.tobytes(), ents.tobytes(), blob

    @classmethod
    def build(cls, table: dict[str, frozenset[int]]) -> "_Table":
        """The table in memory (the cache maps the same buffers from its file)."""
        combos, mask, starts, ents, blob = cls.layout(table, 0)
        return cls(memoryview(starts).cast("I"), memoryview(ents).cast("Q"), blob, combos, mask)

    def get(self, key: str, default: frozenset[int] | tuple[()] | None = None) -> frozenset[int] | tuple[()] | None:
        # called a few times per value looked up: kept to the fewest bytecodes
        try:
            kb = key.encode()
        except UnicodeEncodeError:  # a lone surrogate: stored that way too
            kb = key.encode("utf-8", "surrogatepass")
        starts = self._starts
        h = _crc32(kb) & self._mask
        i = starts[h]
        j = starts[h + 1]
        if i == j:
            return default
        ents = self._ents
        n = len(kb)
        while i < j:
            e = ents[i]
            if (e >> _LEN_SHIFT) & _LEN_MASK == n:
                off = e >> 32
                if self._blob[off:off + n] == kb:
                    return self._combos[e & _COMBO_MASK]
            i += 1
        return default

    def __len__(self) -> int:
        return len(self._ents)

    def __reduce__(self) -> tuple:
        # a mapped file cannot be pickled; its contents can (slowly: see save)
        return (_Table.build, (dict(self.items()),))

    def items(self) -> Iterable[tuple[str, frozenset[int]]]:
        for e in self._ents:
            off = e >> 32
            kb = self._blob[off:off + ((e >> _LEN_SHIFT) & _LEN_MASK)]
            yield kb.decode("utf-8", "surrogatepass"), self._combos[e & _COMBO_MASK]


#: the tables that hold millions of keys; cached as ``_Table`` rather than pickled
_BIG_TABLES = ("_host", "_string")


class Warninglists:
    """Compiled lists; ``lookup(kind, clean_value)`` -> names of the lists it is on."""

    def __init__(self, lists: list[dict], *, source: str = "") -> None:
        self.source = source
        self.info: list[ListInfo] = []
        self._v4: list[tuple[int, int, int]] = []
        self._v6: list[tuple[int, int, int]] = []
        # dicts while compiling; ``_Table`` when opened from the cache (same ``get``)
        self._host: dict[str, frozenset[int]] | _Table = {}
        self._string: dict[str, frozenset[int]] | _Table = {}
        self._sub_domainlike: dict[str, frozenset[int]] = {}
        # one shared frozenset per distinct combination of lists: most of the 2.5 million
        # keys carry one of a few hundred combinations, which keeps memory and pickle small
        self._interned: dict[frozenset[int], frozenset[int]] = {}
        self._parent_memo: dict[str, frozenset[int] | None] = {}
        self._sub_scan: list[tuple[int, tuple[str, ...]]] = []
        self._regex: list[tuple[int, re.Pattern[str]]] = []
        for wl in lists:
            self._add(wl)
        self.v4 = _Intervals.build(self._v4)
        self.v6 = _Intervals.build(self._v6)
        del self._v4, self._v6, self._interned
        # kind -> list ids that apply; scans (substring, regex) run only where they apply
        self._applies: dict[str, frozenset[int]] = {
            kind: frozenset(i for i, li in enumerate(self.info) if kind in li.kinds) for kind in registry.kinds()
        }
        # all small substring lists of a kind become one alternation: one scan per value
        self._scans: dict[str, tuple[list[tuple[int, re.Pattern[str]]], list[tuple[int, re.Pattern[str]]]]] = {}
        for kind, ids in self._applies.items():
            subs = [(lid, re.compile("|".join(re.escape(x) for x in entries))) for lid, entries in self._sub_scan if lid in ids and entries]
            rxs = [r for r in self._regex if r[0] in ids]
            if subs or rxs:
                self._scans[kind] = (subs, rxs)
        # only kinds that some string list applies to probe the (large) string table
        self._string_kinds = frozenset(kind for kind, ids in self._applies.items() if any(self.info[i].type == "string" for i in ids))

    # -- building --------------------------------------------------------------------
    def _add(self, wl: dict) -> None:
        lid = len(self.info)
        single = frozenset((lid,))
        self._single = self._interned.setdefault(single, single)
        attrs = set(wl.get("matching_attributes") or ())
        kinds = frozenset(k for k, types in MISP_TYPES.items() if not attrs or attrs & types)
        wtype = wl["type"]
        if wtype == "cidr":
            kinds = kinds & frozenset(_IP_KINDS) or frozenset(_IP_KINDS)
        self.info.append(ListInfo(wl["name"], wtype, int(wl.get("version", 0)), wl.get("description", ""), kinds, len(wl["list"])))
        entries = [e.strip() for e in wl["list"] if isinstance(e, str) and e.strip()]
        if wtype == "cidr":
            for e in entries:
                m = _V4_NET.match(e)
                if m:
                    parts = [int(x) for x in m.group(1, 2, 3, 4)]
                    plen = int(m.group(5)) if m.group(5) else 32
                    if max(parts) <= 255 and plen <= 32:
                        n = (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]
                        host = (1 << (32 - plen)) - 1
                        self._v4.append((n & ~host, (n & ~host) | host, lid))
                        continue
                try:
                    net = ipaddress.ip_network(e, strict=False)
                except ValueError:
                    continue  # the lists carry a few typos; MISP skips them too
                (self._v4 if net.version == 4 else self._v6).append((int(net.network_address), int(net.broadcast_address), lid))
        elif wtype == "hostname":
            for e in entries:
                host = self._host_of(e)
                if host:
                    self._put(self._host, host, lid)
        elif wtype == "string":
            for e in entries:
                for key in self._string_keys(e):
                    self._put(self._string, key, lid)
        elif wtype == "substring":
            if len(entries) > 100:
                for e in entries:
                    self._put(self._sub_domainlike, e.lower().strip("."), lid)
            else:
                self._sub_scan.append((lid, tuple(e.lower() for e in entries)))
        elif wtype == "regex":
            for e in entries:
                m = _MISP_REGEX.match(e)
                body, flags = (m.group(1), m.group(2)) if m else (e, "")
                try:
                    self._regex.append((lid, re.compile(body, re.IGNORECASE if "i" in flags else 0)))
                except re.error:
                    continue

    def _put(self, table: dict[str, frozenset[int]], key: str, lid: int) -> None:
        old = table.get(key)
        if old is None:
            table[key] = self._single
        elif lid not in old:
            new = old | self._single
            table[key] = self._interned.setdefault(new, new)

    @staticmethod
    def _host_of(entry: str) -> str | None:
        e = entry.strip(".").lower()
        if e.startswith("*."):
            e = e[2:]
        if not e.isascii():
            e = registry.try_clean("domain", e) or e
        return e or None

    @staticmethod
    def _string_keys(entry: str) -> tuple[str, ...]:
        # MISP compares the attribute value as typed; we compare clean values. The lists
        # are lowercase ASCII domains, addresses and hashes, for which lowercasing is the
        # cleaning; anything else is cleaned by shape (costly, so only when needed).
        low = entry.lower().rstrip(".")
        if low.isascii() and " " not in low and "/" not in low and "@" not in low and ":" not in low:
            return (low,)
        found = registry.detect_clean(entry)
        return (low, found[1]) if found and found[1] != low else (low,)

    # -- lookup ----------------------------------------------------------------------
    def lookup_ids(self, kind: str, value: str) -> set[int]:
        hits: set[int] = set()
        if kind == "ipv4":
            hits.update(self.v4.at(v4int(value)))
        elif kind == "ipv6":
            hits.update(self.v6.at(v6int(value)))
        elif kind in ("ipv4-cidr", "ipv6-cidr"):
            version, lo, hi = network_range(value)
            hits.update((self.v4 if version == 4 else self.v6).covering(lo, hi))
        elif kind == "domain":
            self._hosts(value, hits)
        elif kind == "url":
            hkind, host = url_host(value)
            if hkind == "domain":
                self._hosts(host, hits)
            else:
                # a URL on a bare address is flagged by the lists that flag that address
                via_host = self.lookup_ids(hkind, host)
                return via_host | self.lookup_ids_exact(kind, value)
        elif kind == "email":
            domain = value.rsplit("@", 1)[1]
            for d in (domain, *parent_domains(domain)):
                hits.update(self._sub_domainlike.get(d, ()))
        if kind in self._string_kinds:
            s = self._string.get(value)
            if s:
                hits.update(s)
        scans = self._scans.get(kind)
        if scans:
            for lid, rx in scans[0]:
                if rx.search(value):
                    hits.add(lid)
            for lid, rx in scans[1]:
                if rx.search(value):
                    hits.add(lid)
        return hits & self._applies.get(kind, frozenset()) if hits else hits

    def lookup_ids_exact(self, kind: str, value: str) -> set[int]:
        if kind not in self._string_kinds:
            return set()
        hits = set(self._string.get(value, ()))
        return hits & self._applies.get(kind, frozenset()) if hits else hits

    def _hosts(self, domain: str, hits: set[int]) -> None:
        h = self._host.get(domain)
        if h:
            hits.update(h)
        # parents recur across values ("com", popular sites) and a probe of the cached
        # table costs several dict probes, so their answers are kept (bounded)
        memo = self._parent_memo
        for parent in parent_domains(domain):
            h = memo.get(parent, _UNSEEN)
            if h is _UNSEEN:
                if len(memo) >= _MEMO_SIZE:
                    memo.clear()
                h = memo[parent] = self._host.get(parent)
            if h:
                hits.update(h)

    def lookup(self, kind: str, value: str) -> list[str]:
        """Names of the lists a clean value of ``kind`` is on (empty when none)."""
        ids = self.lookup_ids(kind, value)
        return sorted(self.info[i].name for i in ids) if ids else []


def load_misp_lists(names: Iterable[str] | None = None) -> list[dict]:
    wanted = set(names) if names is not None else None
    out = []
    for path in sorted(glob.glob(str(data_dir() / "*" / "list.json"))):
        with open(path, encoding="utf-8") as f:
            wl = json.load(f)
        if wanted is None or wl["name"] in wanted or Path(path).parent.name in wanted:
            out.append(wl)
    return out


def _cache_key() -> str:
    from importlib.metadata import version

    files = sorted(glob.glob(str(data_dir() / "*" / "list.json")))
    stamp = max((os.stat(f).st_mtime_ns for f in files), default=0)
    ver = version("pymispwarninglists")
    # v4: flat-table file (``save``); the v3 pickles under the old name are never read
    return f"{ver}-{len(files)}-{stamp}-v4"


# buffers are in this machine's byte order: a cache from another one reads as broken
_MAGIC = f"grotius warninglists v4 {sys.byteorder}\n".encode()
_ALIGN = 8


class BrokenCache(GrotiusError):
    """A cache file that is not a complete compiled-lists file (``misp`` rebuilds it)."""

    code = "broken_cache"


def _aligned(pos: int) -> int:
    return -(-pos // _ALIGN) * _ALIGN


def save(wl: Warninglists, path: Path) -> None:
    """Write ``wl`` as a cache file: magic, where the header lies, the big tables' buffers,
    then the header (everything else, pickled, plus where the buffers lie). Written to a
    temporary file and renamed into place, so a reader never sees half a file (parallel
    test workers compile at once). ValueError when the lists outgrow the format."""
    pos = _aligned(len(_MAGIC) + 16)
    chunks: list[tuple[int, bytes]] = []
    specs: dict[str, tuple[list[frozenset[int]], int, int, int, int, int]] = {}
    for name in _BIG_TABLES:
        table = getattr(wl, name)
        if not isinstance(table, dict):
            table = dict(table.items())
        # the key bytes come first, so their offsets are known while packing the entries
        combos, mask, starts, ents, blob = _Table.layout(table, pos)
        starts_at = _aligned(pos + len(blob))
        ents_at = _aligned(starts_at + len(starts))
        chunks += [(pos, blob), (starts_at, starts), (ents_at, ents)]
        specs[name] = (combos, mask, starts_at, len(starts) // 4, ents_at, len(ents) // 8)
        pos = _aligned(ents_at + len(ents))
    state = {k: v for k, v in wl.__dict__.items() if k not in _BIG_TABLES and k != "_parent_memo"}
    header = pickle.dumps({"state": state, "tables": specs}, protocol=pickle.HIGHEST_PROTOCOL)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(_MAGIC + pos.to_bytes(8, "little") + len(header).to_bytes(8, "little"))
            for at, data in chunks:
                f.write(bytes(at - f.tell()))
                f.write(data)
            f.write(bytes(pos - f.tell()))
            f.write(header)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def open_cache(path: Path) -> Warninglists:
    """The lists saved at ``path``, their big tables mapped read-only (a key's bytes are
    read when it is looked up). BrokenCache when the file is not a complete cache file."""
    try:
        with open(path, "rb") as f:
            m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except (OSError, ValueError) as e:  # ValueError: an empty file cannot be mapped
        raise BrokenCache(str(e), path=str(path)) from e
    n = len(_MAGIC)
    if m[:n] != _MAGIC:
        raise BrokenCache("not a warninglists cache file", path=str(path))
    header_at = int.from_bytes(m[n:n + 8], "little")
    if header_at + int.from_bytes(m[n + 8:n + 16], "little") != len(m):
        raise BrokenCache("truncated or resized", path=str(path))
    try:
        header = pickle.loads(m[header_at:])
        wl = Warninglists.__new__(Warninglists)
        wl.__dict__.update(header["state"])
        wl._parent_memo = {}
        view = memoryview(m)
        for name, (combos, mask, starts_at, nstarts, ents_at, nents) in header["tables"].items():
            starts = view[starts_at:starts_at + 4 * nstarts].cast("I")
            ents = view[ents_at:ents_at + 8 * nents].cast("Q")
            if len(starts) != nstarts or len(ents) != nents:
                raise ValueError("a table lies past the end of the file")
            setattr(wl, name, _Table(starts, ents, m, combos, mask))
    except Exception as e:  # unpickling garbage can raise nearly anything
        raise BrokenCache(f"unreadable: {e}", path=str(path)) from e
    return wl


_compiled: Warninglists | None = None


def misp(cache_dir: Path | None = None) -> Warninglists:
    """The compiled MISP lists, built once per process (and cached on disk when a cache
    directory is given: compiling 2.5 million entries takes seconds, opening the cache
    milliseconds)."""
    global _compiled
    if _compiled is not None:
        return _compiled
    key = _cache_key()
    path = cache_dir / f"warninglists-{key}.bin" if cache_dir else None
    if path and path.exists():
        try:
            _compiled = open_cache(path)
            return _compiled
        except BrokenCache:
            pass  # a broken cache is rebuilt
    compiled = Warninglists(load_misp_lists(), source=f"pymispwarninglists {key}")
    if path:
        try:
            save(compiled, path)
            # the opened form, not the dicts: the same tables every later process uses,
            # and hundreds of MB less in this one
            compiled = open_cache(path)
        except (OSError, ValueError, BrokenCache):
            pass  # an unwritable cache directory costs the compile, nothing else
    _compiled = compiled
    return _compiled
