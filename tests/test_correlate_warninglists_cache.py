"""The on-disk cache of compiled warninglists: a cache opened from disk answers exactly as
the freshly compiled lists do (on real MISP entries), its flat tables hold every key, and
a broken cache file is rebuilt rather than misread."""

from __future__ import annotations

import ipaddress
import os
import pickle
import random
from pathlib import Path

import pytest

import grotius.correlate  # noqa: F401
from grotius.correlate import suppress, warninglists
from grotius.correlate.types import registry
from grotius.correlate.warninglists import BrokenCache, Warninglists, _Table

Probe = tuple[str, str]


def _clean(kind: str, raw: str) -> Probe | None:
    value = registry.try_clean(kind, raw)
    return (kind, value) if value else None


def probes(lists: list[dict], per_list: int, seed: int = 7) -> list[Probe]:
    """Values that hit each list (entries, subdomains, addresses inside and just outside
    a range, addresses at a listed domain) plus values that hit nothing."""
    rng = random.Random(seed)
    out: list[Probe | None] = []
    for wl in lists:
        entries = [e.strip() for e in wl["list"] if isinstance(e, str) and e.strip()]
        for e in rng.sample(entries, min(per_list, len(entries))):
            if wl["type"] == "cidr":
                try:
                    net = ipaddress.ip_network(e, strict=False)
                except ValueError:
                    continue
                kind = "ipv4" if net.version == 4 else "ipv6"
                out += [_clean(kind, str(net.network_address)), _clean(kind, str(net.broadcast_address)),
                        _clean(f"{kind}-cidr", str(net))]
                after = int(net.broadcast_address) + 1
                if after < 2 ** net.max_prefixlen:
                    out.append(_clean(kind, str(ipaddress.ip_address(after) if net.version == 6 else ipaddress.IPv4Address(after))))
            elif wl["type"] in ("hostname", "substring"):
                host = e.strip(".").removeprefix("*.").lower()
                out += [_clean("domain", host), _clean("domain", "www." + host), _clean("domain", "x" + host),
                        _clean("url", f"https://a.{host}/p"), _clean("email", f"abuse@{host}"), _clean("email", f"j@m.{host}")]
            elif wl["type"] == "string":
                found = registry.detect_clean(e)
                out += [found if found else None, _clean("domain", e), _clean("domain", "q" + e)]
    out += [("domain", f"{rng.getrandbits(40):x}.example"), ("ipv4", "203.0.114.9"), ("md5", "0" * 32)]
    return [p for p in out if p]


def assert_same(fresh: Warninglists, cached: Warninglists, values: list[Probe]) -> None:
    assert isinstance(cached._host, _Table) and isinstance(cached._string, _Table)  # else this compares dicts to dicts
    differ = [(k, v, fresh.lookup(k, v), cached.lookup(k, v)) for k, v in values if fresh.lookup(k, v) != cached.lookup(k, v)]
    assert not differ, differ[:5]
    flagged = sum(bool(fresh.lookup(k, v)) for k, v in values)
    assert flagged > len(values) // 3, (flagged, len(values))  # the sample does exercise hits
    for name in warninglists._BIG_TABLES:
        assert dict(getattr(cached, name).items()) == getattr(fresh, name), name
        assert len(getattr(cached, name)) == len(getattr(fresh, name))


@pytest.fixture(scope="module")
def real_lists() -> list[dict]:
    # every real list but the eight largest (a million names each for some): all five
    # list types, compiled in about a second
    return [wl for wl in warninglists.load_misp_lists() if len(wl["list"]) < 20000]


def test_opened_cache_answers_as_compiled_on_real_entries(real_lists: list[dict], tmp_path: Path) -> None:
    fresh = Warninglists(real_lists, source="test")
    path = tmp_path / "wl.bin"
    warninglists.save(fresh, path)
    cached = warninglists.open_cache(path)
    assert [i.name for i in cached.info] == [i.name for i in fresh.info]
    assert {wl["type"] for wl in real_lists} == {"cidr", "hostname", "string", "substring", "regex"}
    assert_same(fresh, cached, probes(real_lists, per_list=40))
    assert list(tmp_path.iterdir()) == [path]  # the temporary file is gone


def test_table_is_exact_under_collisions() -> None:
    rng = random.Random(1)
    combos = [frozenset({1}), frozenset({2, 3}), frozenset({4})]
    keys = {f"{rng.getrandbits(30):x}.example" for _ in range(3000)}
    keys |= {"bücher.example", "\ud800lone-surrogate", "x" * 5000, "a", "ab", "ba"}
    table = {k: rng.choice(combos) for k in keys}
    t = _Table.build(table)
    assert max(t._starts[i + 1] - t._starts[i] for i in range(t._mask + 1)) >= 3  # keys share buckets
    assert all(t.get(k) == v for k, v in table.items())
    near = {k[:-1] for k in keys} | {k + "." for k in keys} | {k[::-1] for k in keys} | {"", "b", "aa"}
    assert all(t.get(k, ()) == () for k in near - keys)
    assert dict(t.items()) == table


def _cache_path(d: Path) -> Path:
    return d / f"warninglists-{warninglists._cache_key()}.bin"


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "old pickle", "header"])
def test_broken_cache_is_rebuilt(damage: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    lists = [{"name": "resolvers", "type": "cidr", "version": 1, "description": "", "list": ["8.8.8.0/24"]},
             {"name": "sites", "type": "hostname", "version": 1, "description": "", "list": ["google.com"]},
             {"name": "names", "type": "string", "version": 1, "description": "", "list": ["login.example.net"]}]
    monkeypatch.setattr(warninglists, "load_misp_lists", lambda: lists)  # compiling the real data takes half a minute
    monkeypatch.setattr(warninglists, "_compiled", None)
    path = _cache_path(tmp_path)
    warninglists.save(Warninglists(lists), path)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[:-100])
    elif damage == "garbage":
        path.write_bytes(os.urandom(len(data)))
    elif damage == "empty":
        path.write_bytes(b"")
    elif damage == "old pickle":  # what a v3 cache held
        path.write_bytes(pickle.dumps(Warninglists(lists)))
    else:  # the header damaged, the size intact
        path.write_bytes(data[:-50] + b"\x00" * 50)
    with pytest.raises(BrokenCache):
        warninglists.open_cache(path)
    wl = warninglists.misp(tmp_path)
    assert wl.lookup("domain", "www.google.com") == ["sites"]
    assert wl.lookup("domain", "login.example.net") == ["names"]
    assert wl.lookup("ipv4", "8.8.8.8") == ["resolvers"]
    assert isinstance(wl._host, _Table)  # opened from the rewritten file
    assert warninglists.open_cache(path).lookup("domain", "google.com") == ["sites"]
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.mark.slow
def test_cached_misp_lists_answer_as_freshly_compiled() -> None:
    """The cache every process opens (``misp``) against a compile of all the real lists."""
    if not suppress.misp_enabled():
        pytest.fail("GROTIUS_WARNINGLISTS is off in the environment of this test")
    cached = warninglists.misp(suppress.cache_dir())
    lists = warninglists.load_misp_lists()
    fresh = Warninglists(lists, source=cached.source)
    assert [i.name for i in cached.info] == [i.name for i in fresh.info]
    assert_same(fresh, cached, probes(lists, per_list=150))
