"""The correlation index: normalised value -> the object versions that mention it, and
the matching relations over it (exact; address in range and overlapping ranges;
subdomains; URL hosts against domains)."""

from __future__ import annotations

import ipaddress
from collections import defaultdict
from typing import Iterable, Mapping, NamedTuple, Sequence

from grotius.correlate.kinds.net import ip_range, parent_domains, reversed_labels, url_host, v4int
from grotius.correlate.suppress import Flagger, misp_names
from grotius.store.engine import Tx

CHUNK = 500
#: a value held by more objects than this is a commodity (a shared hoster, a sinkhole):
#: it is reported as too common instead of raising hundreds of leads
MAX_MENTIONS = 200
#: range and subdomain scans stop here; the rest would not be read by anyone
MAX_SCAN = 1000


class Value(NamedTuple):
    vid: int
    kind: str
    value: str
    flags: tuple[str, ...]


class Match(NamedTuple):
    """``incoming`` value relates to ``held`` value by ``relation``."""

    incoming: Value
    held: Value
    relation: str  # exact | in-range | contains | overlaps | subdomain | parent-domain | url-host | host-of-url


def _hex(version: int, n: int) -> str:
    return f"{n:08x}" if version == 4 else f"{n:032x}"


def rkey_of(domain: str) -> str:
    """Index key for subdomain scans: the reversed labels, hex-encoded. Hex keeps the
    prefix property and compares the same under any collation (PostgreSQL's default
    locale collations ignore punctuation, which would break a prefix scan on dots)."""
    return reversed_labels(domain).encode().hex()


def derived(kind: str, value: str) -> tuple[str | None, str | None, str | None, int | None]:
    """(rkey, lo, hi, plen) columns of a clean value."""
    if kind in ("ipv4", "ipv6", "ipv4-cidr", "ipv6-cidr"):
        ver, lo, hi = ip_range(value)
        plen = int(value.rsplit("/", 1)[1]) if "/" in value else None
        return None, _hex(ver, lo), _hex(ver, hi), plen
    if kind == "domain":
        return rkey_of(value), None, None, None
    if kind == "url":
        hkind, host = url_host(value)
        return (rkey_of(host) if hkind == "domain" else None), None, None, None
    return None, None, None, None


#: a clean value's index columns (rkey, lo, hi, plen) and its MISP list names (None: not
#: looked up), computed once per value where the object is checked
Columns = tuple[str | None, str | None, str | None, int | None, tuple[str, ...] | None]


def columns(kind: str, value: str) -> Columns:
    return (*derived(kind, value), misp_names(kind, value))


def _chunks(seq: Sequence, n: int = CHUNK) -> Iterable[Sequence]:
    for i in range(0, len(seq), n):
        yield seq[i: i + n]


def upsert_values(
    tx: Tx, pairs: Iterable[tuple[str, str]], flagger: Flagger | None,
    known: Mapping[tuple[str, str], Columns] | None = None,
) -> dict[tuple[str, str], Value]:
    """Index rows for (kind, value) pairs, creating the missing ones (with the columns
    in ``known`` where given)."""
    by_kind: dict[str, set[str]] = defaultdict(set)
    for k, v in pairs:
        by_kind[k].add(v)
    found: dict[tuple[str, str], Value] = {}
    missing: list[tuple[str, str]] = []
    for kind, values in sorted(by_kind.items()):
        vals = sorted(values)
        for chunk in _chunks(vals):
            for vid, value, flags in tx.query(
                f"SELECT vid, value, flags FROM correlate_values WHERE kind = ? AND value IN ({','.join('?' * len(chunk))})",
                (kind, *chunk),
            ):
                found[(kind, value)] = Value(vid, kind, value, tuple(flags.split("\n")) if flags else ())
        missing.extend((kind, v) for v in vals if (kind, v) not in found)
    if not missing:
        return found
    # the new rows get their keys here, so nothing is read back after the insert
    rows = []
    plens: set[tuple[str, int]] = set()
    for vid, (kind, v) in zip(tx.new_keys("correlate_values", "vid", len(missing)), missing):
        cols = known.get((kind, v)) if known else None
        if cols is None:
            rkey, lo, hi, plen = derived(kind, v)
            names = None
        else:
            rkey, lo, hi, plen, names = cols
        flags = "\n".join(flagger.flags(kind, v, names) if flagger else ()) or None
        rows.append((vid, kind, v, rkey, lo, hi, plen, flags))
        found[(kind, v)] = Value(vid, kind, v, tuple(flags.split("\n")) if flags else ())
        if plen is not None:
            plens.add((kind, plen))
    tx.executemany(
        "INSERT INTO correlate_values (vid, kind, value, rkey, lo, hi, plen, flags) VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows
    )
    if plens:
        tx.executemany("INSERT INTO correlate_plens (kind, plen) VALUES (?, ?) ON CONFLICT DO NOTHING", sorted(plens))
    return found


def add_mentions(tx: Tx, rows: list[tuple[int, int, str]]) -> None:
    """(vid, object version pk, source) rows."""
    if rows:
        tx.executemany("INSERT INTO correlate_mentions (vid, pk, src) VALUES (?, ?, ?) ON CONFLICT DO NOTHING", rows)


def _values_where(tx: Tx, kind: str, column: str, keys: Sequence[str]) -> list[Value]:
    out = []
    for chunk in _chunks(list(keys)):
        for vid, k, value, flags in tx.query(
            f"SELECT vid, kind, value, flags FROM correlate_values WHERE kind = ? AND {column} IN ({','.join('?' * len(chunk))})",
            (kind, *chunk),
        ):
            out.append(Value(vid, k, value, tuple(flags.split("\n")) if flags else ()))
    return out


def _row_value(r: tuple) -> Value:
    return Value(r[0], r[1], r[2], tuple(r[3].split("\n")) if r[3] else ())


def related(tx: Tx, values: Sequence[Value]) -> list[Match]:
    """Every held value that relates to one of ``values`` (exact matches included)."""
    out: list[Match] = [Match(v, v, "exact") for v in values]
    plens: dict[str, list[int]] = defaultdict(list)
    for kind, plen in tx.query("SELECT kind, plen FROM correlate_plens"):
        plens[kind].append(plen)
    # addresses (incl. URL hosts that are addresses) -> enclosing held ranges, by computing
    # the network of each held prefix length: a handful of exact lookups, no range scan
    wanted: dict[tuple[str, str], list[tuple[Value, str]]] = defaultdict(list)
    parents: dict[str, list[tuple[Value, str]]] = defaultdict(list)
    url_ip: dict[tuple[str, str], list[Value]] = defaultdict(list)
    for v in values:
        if v.kind in ("ipv4", "ipv6", "ipv4-cidr", "ipv6-cidr"):
            _enclosing(v, v.kind, v.value, plens, wanted, "in-range" if "cidr" not in v.kind else "overlaps")
        elif v.kind == "domain":
            for p in parent_domains(v.value):
                if "." in p:
                    parents[p].append((v, "subdomain"))
        elif v.kind == "url":
            hkind, host = url_host(v.value)
            if hkind == "domain":
                parents[host].append((v, "url-host"))
                for p in parent_domains(host):
                    if "." in p:
                        parents[p].append((v, "url-host"))
            else:
                url_ip[(hkind, host)].append(v)
                _enclosing(v, hkind, host, plens, wanted, "url-host")
    by_kind: dict[str, list[str]] = defaultdict(list)
    for kind, net in wanted:
        by_kind[kind].append(net)
    for kind, nets in by_kind.items():
        for held in _values_where(tx, kind, "value", nets):
            for inc, rel in wanted[(kind, held.value)]:
                if held.vid != inc.vid:
                    out.append(Match(inc, held, rel))
    if url_ip:
        for kind in ("ipv4", "ipv6"):
            hosts = [h for k, h in url_ip if k == kind]
            for held in _values_where(tx, kind, "value", hosts) if hosts else ():
                for inc in url_ip[(kind, held.value)]:
                    out.append(Match(inc, held, "url-host"))
    if parents:
        for held in _values_where(tx, "domain", "value", list(parents)):
            for inc, rel in parents[held.value]:
                out.append(Match(inc, held, rel))
    # the other direction, by range scans: held values inside an incoming range or under
    # an incoming domain (URLs on it included)
    for v in values:
        if v.kind in ("ipv4-cidr", "ipv6-cidr"):
            # one range scan finds held addresses and held ranges starting inside this one
            _, lo, hi, _ = derived(v.kind, v.value)
            addr_kind = v.kind.split("-")[0]
            for r in tx.query(
                "SELECT vid, kind, value, flags, hi FROM correlate_values "
                f"WHERE kind IN (?, ?) AND lo >= ? AND lo <= ? LIMIT {MAX_SCAN}",
                (addr_kind, v.kind, lo, hi),
            ):
                if r[0] == v.vid or r[4] > hi:
                    continue  # itself, or a range that sticks out (found as enclosing above if it is)
                out.append(Match(v, _row_value(r), "contains" if r[1] == addr_kind else "overlaps"))
        elif v.kind == "domain" and "." in v.value:
            # held subdomains and URLs on this domain or below it share its reversed-label prefix
            rk = rkey_of(v.value)
            for r in tx.query(
                f"SELECT vid, kind, value, flags, rkey FROM correlate_values WHERE rkey >= ? AND rkey < ? LIMIT {MAX_SCAN}",
                (rk, rk + "g"),  # every continuation is hex, and hex digits sort before "g"
            ):
                if r[1] == "domain":
                    if r[0] != v.vid:
                        out.append(Match(v, _row_value(r), "parent-domain"))
                elif r[1] == "url":
                    out.append(Match(v, _row_value(r), "host-of-url"))
    return out


def _enclosing(v: Value, kind: str, value: str, plens: dict[str, list[int]], wanted: dict, rel: str) -> None:
    cidr_kind = kind if kind.endswith("-cidr") else f"{kind}-cidr"
    own = int(value.rsplit("/", 1)[1]) if "/" in value else (32 if kind.startswith("ipv4") else 128)
    addr = value.split("/", 1)[0]
    # clean IPv4 values are dotted quads: their networks by integer masks, as ipaddress
    # would write them, at a tenth of the cost (one per held prefix length per address)
    n = v4int(addr) if cidr_kind == "ipv4-cidr" else None
    for plen in plens.get(cidr_kind, ()):
        if plen < own or (plen == own and "/" not in value):
            if n is not None:
                m = n & (0xFFFFFFFF ^ ((1 << (32 - plen)) - 1))
                net = f"{m >> 24}.{(m >> 16) & 255}.{(m >> 8) & 255}.{m & 255}/{plen}"
            else:
                net = ipaddress.ip_network(f"{addr}/{plen}", strict=False).compressed
            wanted[(cidr_kind, net)].append((v, rel))

