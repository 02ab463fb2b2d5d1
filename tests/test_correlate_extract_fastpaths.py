"""The shortcuts of value extraction give exactly what the full paths give.

Extraction runs per ingested object, so it takes shortcuts: fast cleaners for the plain
spellings of addresses, names and hashes, reading the two commonest indicator patterns
without the parser, substring gates before the free-text expressions, an early exit for
objects without value-bearing properties. Each test here runs a shortcut and the full
path it stands for on the same inputs (real-world spellings, near misses, random values
and the synthetic generator's values) and requires the same answer.
"""

from __future__ import annotations

import functools
import ipaddress
import pickle
import random

import pytest

from grotius.correlate import extract as X
from grotius.correlate.extract import Extraction, extract
from grotius.correlate.kinds import net, other
from grotius.correlate.types import registry
from grotius.exc import PatternError
from grotius.stix import patterns
from grotius.stix.synthetic import bundle

_OBJECTS = bundle(3000, seed=42)["objects"]
_FAST_KINDS = [k for k in registry.kinds() if registry.get(k).fast is not None]


@functools.cache
def _generator_values() -> dict[str, list[str]]:
    """Raw values the synthetic generator writes into SCOs and patterns, by kind."""
    by_kind: dict[str, list[str]] = {}
    for o in _OBJECTS:
        raw: list[tuple[tuple[str, ...] | None, object]] = []
        if o["type"] in X._SCO_VALUE and "value" in o:
            raw.append((X._SCO_VALUE[o["type"]], o["value"]))
        if o["type"] == "autonomous-system":
            raw.append((("asn",), str(o["number"])))
        for algo, h in o.get("hashes", {}).items():
            raw.append(((X._HASH_KEYS[algo.lower()],), h))
        if o["type"] == "indicator":
            for c in patterns.parse(o["pattern"]).comparisons():
                kinds = X._kinds_for(c)
                if c.operator in ("ISSUBSET", "ISSUPERSET"):
                    kinds = ("ipv4-cidr",) if c.object_type == "ipv4-addr" else ("ipv6-cidr",)
                if c.operator == "=" and isinstance(c.value, str) or c.operator == "ISSUBSET":
                    raw.append((kinds, c.value))
        for kinds, value in raw:
            assert isinstance(value, str)
            for kind in kinds or ():
                by_kind.setdefault(kind, []).append(value)
    return by_kind


def _random_values(rng: random.Random) -> list[str]:
    out = []
    for _ in range(3000):
        n = rng.getrandbits(128)
        # zero runs of every length and place, so that "::" lands everywhere
        for _ in range(rng.randint(0, 3)):
            start, length = rng.randrange(8), rng.randint(1, 8)
            for i in range(start, min(8, start + length)):
                n &= ~(0xFFFF << (16 * (7 - i)))
        a6 = ipaddress.IPv6Address(n)
        out += [a6.compressed, a6.exploded, a6.exploded.upper(), a6.compressed.upper()]
        a4 = ipaddress.IPv4Address(rng.getrandbits(32) & rng.choice([0xFFFFFFFF, 0xFFFFFF00, 0xFF00FFFF, 0]))
        plen = rng.randint(0, 40)
        out += [str(a4), f"{a4}/{plen}", f"{a4}/0{plen}", ".".join(f"{int(o):03d}" for o in str(a4).split("."))]
        h = "%0128x" % rng.getrandbits(512)
        out += [h[:rng.choice([31, 32, 33, 40, 64, 128])], h[:64].upper(), ":".join(h[i:i + 2] for i in range(0, 12, 2))]
        out.append("".join(rng.choice("0123456789abcdefABCDEF:./-x%@[] ") for _ in range(rng.randint(1, 40))))
    return out


VARIANTS = [
    # addresses
    "192.0.2.1", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1.2.3.4/32", " 1.2.3.4",
    "1.2.3.4\n", "192[.]0[.]2[.]1", "[192.0.2.1]", "١٩٢.0.2.1", "203.0.113.77/24", "203.0.113.0/24", "10.0.0.0/8", "1.2.3.4/08",
    "1.2.3.4/33", "1.2.3.4/0", "2001:db8::1", "2001:DB8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "[2001:db8::1]",
    "2001:db8::1/128", "::", "::1", "1::", "1:2:3:4:5:6:7::", "::2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8::",
    "1:0:0:1:0:0:0:1", "1:0:0:0:1:0:0:1", "0:0:1:0:0:0:1:0", "::ffff:192.0.2.1", "::ffff:c000:201", "::c000:201", "::1.2.3.4",
    "fe80::1", "fe80::1%eth0", "00001::", "1:::2", ":1::2", "1::2:", "g::1", "2001:db8::/32", "2001:db8::1:0:0:1",
    # names, URLs, mail
    "example.com", "Example.com", "example.com.", "xn--bcher-kva.example", "xn--x.example", "bücher.example", "a..b.example",
    "-a.example", "a-.example", "_dmarc.example.org", "a" * 64 + ".example", ("a" * 60 + ".") * 5 + "com", "example.com\n",
    "1.2.3.com", "localhost", "evil.local", "*.example.com", "evil[.]example",
    "https://evil.example/", "https://evil.example", "https://evil.example/a/./b", "https://evil.example/a/../b",
    "https://evil.example/a/..", "https://evil.example/a?", "https://evil.example/a?b=c?d", "https://evil.example/a#f",
    "https://evil.example/%41", "https://evil.example/(.)x", "https://evil.example/(at)x", "https://Evil.example/",
    "HTTPS://evil.example/", "https://evil.example:443/", "https://evil.example:8443/", "https://user@evil.example/",
    "ftp://evil.example/x", "https://192.0.2.1/x", "https://01.2.3.4/x", "https://xn--bcher-kva.example/", "https://bücher.example/",
    "https://evil.example/a//b", "https://evil.example/.hidden", "https://evil.example/a.b/c", "https://evil.example./",
    "https://evil.example/a b", "hxxps://evil[.]example/x", "evil.example/payload.exe", "https://evil.example/p?q=%2f",
    "p1@mail.example", "P1@mail.example", "p.1@mail.example", ".p@mail.example", "p.@mail.example", "p..q@mail.example",
    "a" * 65 + "@x.example", "a" * 64 + "@x.example", "p@localhost", "p+tag@x.example", "p@[192.0.2.1]", "mailto:p@x.example",
    "Jane <p@x.example>", "p@x.example\n", "p@xn--bcher-kva.example", "p[@]x[.]example",
    # MAC, AS numbers, hashes
    "00:1a:2b:3c:4d:5e", "00:1A:2B:3C:4D:5E", "00-1a-2b-3c-4d-5e", "001a.2b3c.4d5e", "01:00:5e:00:00:01", "00:00:00:00:00:00",
    "64496", "0", "23456", "4294967295", "4294967296", "00000000001", "٦٤", "AS64496", "1.10", "+5", " 5",
    "d41d8cd98f00b204e9800998ecf8427e", "D41D8CD98F00B204E9800998ECF8427E", "0" * 32, "0" * 64, "a" * 40, "md5:" + "a" * 32,
    "0x" + "a" * 30, "g" * 32, "a" * 31 + "\n",
]


@pytest.mark.parametrize("kind", _FAST_KINDS)
def test_fast_cleaner_agrees_with_the_full_cleaner(kind: str) -> None:
    vt = registry.get(kind)
    assert vt.fast is not None
    gen = _generator_values()
    values = VARIANTS + _random_values(random.Random(kind)) + [v for vs in gen.values() for v in vs]
    taken = 0
    for v in values:
        fast = vt.fast(v)
        try:
            full: str | None = vt.cleaner(v)
        except ValueError:
            full = None
        if fast is not None:
            taken += 1
            assert fast == full, (kind, v, fast, full)
        assert registry.try_clean(kind, v) == full, (kind, v)
    # the shortcut must actually be taken for the generator's own (plain) values of this kind
    plain = [v for v in gen.get(kind, []) if registry.try_clean(kind, v) is not None]
    assert all(vt.fast(v) is not None for v in plain), kind
    assert taken > 0 and (plain or kind in ("sha1", "sha512")), (kind, taken)


def _reference_matchable(kind: str, v: str) -> bool:
    """The judgements as first written (ipaddress integers, a scan of every range)."""
    def outside(lo: int, hi: int, bad: list[tuple[int, int]]) -> bool:
        return not any(b_lo <= lo and hi <= b_hi for b_lo, b_hi in bad)

    if kind == "ipv4":
        n = _arithmetic_v4int(v)
        return outside(n, n, net._V4_BAD_RANGES)
    if kind == "ipv6":
        n = int(ipaddress.IPv6Address(v))
        return outside(n, n, net._V6_BAD_RANGES)
    if kind == "ipv4-cidr":
        addr, plen = v.split("/")
        lo = _arithmetic_v4int(addr) >> (32 - int(plen)) << (32 - int(plen))
        return int(plen) >= 8 and outside(lo, lo | ((1 << (32 - int(plen))) - 1), net._V4_BAD_RANGES)
    return v not in other.EMPTY_HASHES and len(set(v)) > 1


def _arithmetic_v4int(value: str) -> int:
    a, b, c, d = value.split(".")
    return (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)


def test_matchable_judgements_are_unchanged() -> None:
    rng = random.Random(5)
    seen = {"ipv4": 0, "ipv6": 0, "ipv4-cidr": 0, "md5": 0}
    for v in VARIANTS + _random_values(rng):
        for kind in seen:
            clean = registry.try_clean(kind, v)
            if clean is not None:
                seen[kind] += 1
                assert registry.matchable(kind, clean) == _reference_matchable(kind, clean), (kind, clean)
    for first in range(256):  # every first octet, with addresses at the edges of each range
        for rest in (0, 1, 0x3FFFFF, 0x400000, 0xA8FFFF, 0xFE0000, 0xFFFFFF):
            a = str(ipaddress.IPv4Address((first << 24) | rest))
            assert net.matchable_ipv4(a) == _reference_matchable("ipv4", a), a
    assert all(seen.values()), seen
    assert not other.matchable_hash("") and not other.matchable_hash("a" * 32) and other.matchable_hash("ab" * 16)


def test_v4int_agrees_with_the_arithmetic_on_any_text() -> None:
    for v in ["1.2.3.4", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "-1.2.3.4", "١.2.3.4", " 1.2.3.4"]:
        assert net.v4int(v) == _arithmetic_v4int(v), v
    for v in ["1.2.3", "a.b.c.d", "1.2.3.4/24", "1.2.3.4\x00"]:
        with pytest.raises(ValueError):
            net.v4int(v)


PATTERNS = [
    "[ipv4-addr:value = '198.51.100.7']", "[ipv4-addr:value='198.51.100.7']", "[ipv4-addr:value = '10.0.0.1']",
    "[ipv4-addr:value = '198.51.100.0/24']", "[ipv4-addr:value = 'not an address']", "[ipv4-addr:value = '']",
    "[ipv6-addr:value = '2001:DB8::1']", "[domain-name:value = 'Evil.Example']", "[url:value = 'https://evil.example/x']",
    "[email-addr:value = 'a@b.example']", "[mac-addr:value = '00:1a:2b:3c:4d:5e']", "[artifact:value = 'x']",
    "[x-phone-number:value = '+31612345678']", "[true:value = '1.2.3.4']", "[ipv4-addr:value = 'a\\'b']",
    "[ipv4-addr:value  = '1.2.3.4']", " [ipv4-addr:value = '1.2.3.4']", "[ipv4-addr:value = '1.2.3.4'] ",
    "[ipv4-addr:value == '1.2.3.4']", "[ipv4-addr:value != '1.2.3.4']", "[ipv4-addr:value = '1.2.3.4'",
    "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']", "[file:hashes.md5 = 'D41D8CD98F00B204E9800998ECF8427E']",
    "[file:hashes.'MD5' = '44d88612fea8a8f36de82e1278abb02f']", "[file:hashes.'SHA-256' = '" + "ab" * 32 + "']",
    "[file:hashes.SHA256 = '" + "ab" * 32 + "']", "[file:hashes.'sha-1' = '" + "ab" * 20 + "']",
    "[file:hashes.'SHA-512' = '" + "ab" * 64 + "']", "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427']",
    "[file:hashes.'SHA-256' = '" + "ab" * 31 + "']", "[file:hashes.'SHA3-256' = '" + "ab" * 32 + "']",
    "[file:hashes.MD5 = 'zz1d8cd98f00b204e9800998ecf8427e']", "[file:hashes.IN = 'd41d8cd98f00b204e9800998ecf8427e']",
    "[file:hashesMD5 = 'd41d8cd98f00b204e9800998ecf8427e']", "[file:hashes.MD5= 'd41d8cd98f00b204e9800998ecf8427e']",
    "[file:hashes.'MD5 = 'd41d8cd98f00b204e9800998ecf8427e']", "[artifact:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
    "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' OR file:hashes.MD5 = '44d88612fea8a8f36de82e1278abb02f']",
    "[domain-name:value = 'a.example'] OR [domain-name:value = 'b.example']", "[domain-name:VALUE = 'a.example']",
    "[Domain-name:value = 'a.example']", "[domain-name:value = 'a.example']]",
    "[ipv4-addr:value ISSUBSET '203.0.113.0/24'] OR [ipv6-addr:value = '2001:db8::a:b']",
    "[email-addr:value = 'u@mail.example' OR email-addr:value MATCHES '^adm@.*$']",
    "([ipv4-addr:value = '1.2.3.4'] AND ([domain-name:value = 'a.example'] OR [url:value = 'http://b.example/'])) "
    "FOLLOWEDBY [file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' AND (file:size > 5 OR file:name = 'x')] WITHIN 60 SECONDS",
    "[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_ref.value IN ('a.example', 'x y')]",
    "[ipv4-addr:value NOT = '1.2.3.4']", "[x509-certificate:serial_number = '01:02'] REPEATS 3 TIMES",
]


def _patterns_under_test() -> list[str]:
    return PATTERNS + [o["pattern"] for o in _OBJECTS if o["type"] == "indicator"]


def test_simple_patterns_read_without_the_parser_give_what_the_parser_gives() -> None:
    taken = 0
    for text in _patterns_under_test():
        fast, full = Extraction(), Extraction()
        X._from_parsed(text, full)
        if X._simple_pattern(text, fast):
            taken += 1
            assert fast == full, text
            assert not full.unreduced or "does not parse" not in full.unreduced[0].reason, text
        else:
            assert fast == Extraction(), text  # nothing half-done before the parser takes over
    assert taken > 100


def test_walking_the_pattern_visits_comparisons_in_parser_order() -> None:
    walked_patterns = 0
    for text in _patterns_under_test():
        try:
            pat = patterns.parse(text)
        except PatternError:
            continue  # the deliberately broken ones: nothing to walk
        walked, iterated = Extraction(), Extraction()
        X._walk(pat.root, walked)
        for c in pat.comparisons():
            X._comparison(c, iterated)
        assert walked == iterated, text
        walked_patterns += 1
    assert walked_patterns > 900  # a parser refusing everything must not pass this vacuously


TEXTS = [
    "IMO 9074729 and MMSI 244123456", "imo: 9074729", "ıMO 9074729", "İMO 9074729", "MMSİ 244123456", "Vessel ＩＭＯ 9074729",
    "IBAN NL91ABNA0417164300 paid", "GB82 WEST 1234 5698 7654 32", "nl91abna0417164300",
    "wallet 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy", "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4 yes",
    "eth 0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0X5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",
    "no digits here", "Indicator 12345", "٩٠٧٤٧٢٩ IMO", "IMO ٩٠٧٤٧٢٩", "mmsi 244123456 imo 9074729 dup IMO 9074729",
    "Synthetic description " * 4, "", "MMSI:244123456", "mmsi244123456", "IMO#9074729", "imo9074729.",
    "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed", "pay GB82WEST12345698765432 now", "x bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
]


def test_text_gates_skip_only_what_the_expressions_would_not_find() -> None:
    rng = random.Random(3)
    alphabet = "IMOSimosbcx0123456789 ABNLGWEST:#-.ıİ"
    texts = TEXTS + [o[p] for o in _OBJECTS for p in ("name", "description") if isinstance(o.get(p), str)]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))) for _ in range(3000)]
    found = 0
    for text in texts:
        gated, scanned = Extraction(), Extraction()
        X._text(text, "description", gated)
        for kind, rx in X._TEXT_RES:
            X._scan(kind, rx, text, "description", scanned)
        assert gated == scanned, text
        found += bool(scanned.mentions)
    assert found >= 8


def test_objects_without_value_properties_are_passed_over_and_custom_ones_are_not() -> None:
    rel = {"type": "relationship", "spec_version": "2.1", "id": "relationship--1", "source_ref": "a", "target_ref": "b",
           "relationship_type": "uses", "created": "t", "modified": "t"}
    assert extract(rel) == Extraction()
    assert extract({**rel, "x_source_case": "CASE-1"}) == Extraction()
    custom = extract({**rel, "x_iban": "NL91 ABNA 0417 1643 00", "unknown_prop": 1})
    assert [(m.kind, m.value, m.path) for m in custom.mentions] == [("iban", "NL91ABNA0417164300", "x_iban")]
    # a STIX property name on a STIX object is not a custom identifier
    assert extract({**rel, "iban": "NL91ABNA0417164300"}) == Extraction()
    ext = extract({**rel, "extensions": {"extension-definition--1": {"imo": "IMO 9074729", "mmsi": ["244123456", 5]}}})
    assert [(m.kind, m.value) for m in ext.mentions] == [("imo", "9074729"), ("mmsi", "244123456")]
    assert [u.path for u in ext.unreduced] == ["extensions.extension-definition--1.mmsi[1]"]
    vessel = extract({"type": "x-vessel", "id": "x-vessel--1", "imo": "9074729", "name": "MV Example"})
    assert [(m.kind, m.value, m.path) for m in vessel.mentions] == [("imo", "9074729", "imo")]
    named = extract({**rel, "description": "paid to NL91ABNA0417164300"})
    assert [(m.kind, m.path) for m in named.mentions] == [("iban", "description")]


def test_generator_objects_extract_as_expected_and_survive_pickling() -> None:
    ex = [extract(o) for o in _OBJECTS]
    assert sum(len(e.mentions) for e in ex) > 1000
    kinds = {m.kind for e in ex for m in e.mentions}
    assert {"ipv4", "ipv6", "ipv4-cidr", "domain", "url", "email", "mac", "md5", "sha256"} <= kinds
    assert all(type(m) is X.Mention for e in ex for m in e.mentions)
    back = pickle.loads(pickle.dumps(ex))
    assert back == ex and all(type(m) is X.Mention for e in back for m in e.mentions)
    sample = next(e for o, e in zip(_OBJECTS, ex) if o["type"] == "ipv6-addr")
    assert sample.mentions[0].kind == "ipv6" and sample.mentions[0].path == "value"


def _outcome(fn, value):  # type: ignore[no-untyped-def]
    try:
        return fn(value)
    except ValueError:
        return ValueError


def _ip_texts() -> list[str]:
    rng = random.Random(8)
    base = VARIANTS + _random_values(rng)
    texts = list(base)
    for v in [b for b in base if ":" in b][:4000]:
        texts += [f"{v}/{rng.choice([0, 1, 7, 64, 96, 127, 128, 129, 200])}", f"{v}/0{rng.randint(0, 9)}", f"{v}/", f"{v}/x"]
        net6 = ipaddress.IPv6Network((rng.getrandbits(128), rng.randint(0, 128)), strict=False)
        texts += [net6.compressed, net6.exploded.upper(), f"{net6.network_address}/{net6.prefixlen}\u0661"]
    return texts


def test_ip_ranges_by_the_c_parser_agree_with_ipaddress() -> None:
    """ip_range, network_range and v6int read plain IPv6 text with inet_pton; ipaddress
    gives the same integers (or the same refusal) for every text, clean or not."""
    checked = 0
    for text in _ip_texts():
        if ":" in text:
            assert _outcome(net.ip_range, text) == _outcome(net.ip_range_slow, text), text
            try:
                expected: object = int(ipaddress.IPv6Address(text))
            except ValueError:
                expected = ValueError
            assert _outcome(net.v6int, text) == expected, text
        try:
            n = ipaddress.ip_network(text)
            want: object = (n.version, int(n.network_address), int(n.broadcast_address))
        except ValueError:
            want = ValueError
        assert _outcome(net.network_range, text) == want, text
        checked += want is not ValueError
    assert checked > 3000
