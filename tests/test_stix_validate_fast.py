"""Differential tests for validate's fast paths: each one must agree with the slow path
it short-cuts, on generated objects, the malformed corpus and mutations of both.

- patterns: ``_fast_parse`` (regexes for the common simple shapes) returns the same tree
  as the full recursive-descent parser, or None; never a tree for text the parser rejects.
- caches: ``check`` gives the same errors with the timestamp/identifier caches empty and
  warmed by other objects (a wrongly cached value would flip a decision).
- limits: ``_limits_ok`` says True exactly when the exact walk ``_limits`` finds nothing.
"""

from __future__ import annotations

import copy
import random
from typing import Any, Iterator

import pytest

from grotius.exc import PatternError
from grotius.stix import patterns, synthetic, validate
from grotius.stix.samples import generate
from grotius.stix.validate import check

from test_stix_validate import MALFORMED

_JUNK: list[Any] = [
    None, True, 0, -1, 1.5, float("nan"), "", "x", "indicator--1234", "2024-02-30T00:00:00.000Z",
    "2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z", "2023-12-31T23:59:59.999Z", "2024-01-01T00:00:00.0001Z",
    "malware--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "identity--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "x-custom--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
    "relationship--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", [], ["a"], [None], {}, {"a": 1}, "\ud800", "é",
    [[[[]]]], "a" * 300,
]  # fmt: skip
_PATTERN_CHARS = list("[]()'\\:.,=<>!*+-/ \tabcAND0129tTZhb_\"") + ["\u00a0", "/*c*/", "é", " AND ", " OR ", "NOT "]


def _mutate_text(r: random.Random, s: str, alphabet: list[str] = _PATTERN_CHARS) -> str:
    """``s`` with one to three characters deleted, inserted or replaced."""
    chars = list(s)
    for _ in range(r.choice([1, 1, 2, 3])):
        i = r.randrange(len(chars) + 1)
        x = r.random()
        if x < 0.35 and chars:
            del chars[min(i, len(chars) - 1)]
        elif x < 0.7:
            chars.insert(i, r.choice(alphabet))
        elif chars:
            chars[min(i, len(chars) - 1)] = r.choice(alphabet)
    return "".join(chars)


def _mutate(r: random.Random, obj: dict[str, Any], others: list[dict[str, Any]]) -> dict[str, Any]:
    o = copy.deepcopy(obj)
    for _ in range(r.choice([1, 1, 2, 3])):
        keys = list(o)
        x = r.random()
        if x < 0.15 and keys:
            del o[r.choice(keys)]
        elif x < 0.5 and keys:
            o[r.choice(keys)] = r.choice(_JUNK)
        elif x < 0.65 and keys:  # a value taken from another object, often valid elsewhere
            donor = r.choice(others)
            k = r.choice(keys)
            o[k] = copy.deepcopy(donor.get(k, r.choice(list(donor.values()))))
        elif x < 0.8:
            k = r.choice(keys) if keys else "name"
            v = o.get(k)
            o[k] = _mutate_text(r, v) if isinstance(v, str) and v else r.choice(_JUNK)
        else:
            o[r.choice(["x_custom", "Bad-Name", "created", "modified", "valid_until", "granular_markings"])] = (
                r.choice(_JUNK))
    return o


def corpus(n_mutations: int, seed: int = 7) -> Iterator[dict[str, Any]]:
    base = list(synthetic.objects(600, seed=3)) + generate(300, seed=5) + [m[1] for m in MALFORMED]
    yield from base
    r = random.Random(seed)
    for _ in range(n_mutations):
        yield _mutate(r, r.choice(base), base)


def _full(text: str) -> tuple[str, Any]:
    try:
        return "ok", patterns._parse(text)
    except PatternError as e:
        return "error", e.message


def _pattern_texts(seed: int) -> Iterator[str]:
    r = random.Random(seed)
    texts = [o["pattern"] for o in synthetic.objects(3000, seed=seed) if o["type"] == "indicator"]
    texts += [o["pattern"] for o in generate(500, seed=seed) if o["type"] == "indicator"]
    texts += [
        "[file:hashes.MD5 = 'abc']", "[file:hashes.md5 = 'D41D8CD98F00B204E9800998ECF8427E']",
        "[file:hashes.SSDEEP = 12]", "[x:true = 1]", "[true:x = 1]", "[x:AND = 1]", "[x:y.LAST = 1]",
        "[a:b = 01]", "[a:b LIKE 1]", "[x:y = 1] WITHIN 0 SECONDS", "[x:y = 1] REPEATS 2 TIMES REPEATS 3 TIMES",
        "[a:b = 'x' AND c:d = 'y' OR e:f = 'z' AND g:h = 'w']", "[a:b = 1] AND [c:d = 2] OR [e:f = 3] FOLLOWEDBY "
        "[g:h = 4] AND [i:j = 5]", "[a:b.'c\\'d'.e = 'it\\'s \\\\ ok']", "[a:b = 'x'] WITHIN 5 SECONDS REPEATS 2 TIMES",
        "[a:b NOT = 'x']", "[a:b = 'x']  AND [c:d = 'y']", "[a:b = 'x'] AND\u00a0[c:d = 'y']",
    ]  # fmt: skip
    yield from texts
    for _ in range(4000):
        yield _mutate_text(r, r.choice(texts))


@pytest.mark.parametrize("seed", [1, 2])
def test_pattern_fast_path_builds_the_full_parsers_tree(seed: int) -> None:
    fast_used = 0
    for text in _pattern_texts(seed):
        fast = patterns._fast_parse(text)
        if fast is None:
            continue
        fast_used += 1
        outcome, full = _full(text)
        assert outcome == "ok", f"fast path accepted what the parser rejects ({full}): {text!r}"
        assert fast == full, text
    assert fast_used > 2000  # the generated shapes must take the fast path


def test_pattern_fast_path_covers_the_ingest_mix() -> None:
    texts = [o["pattern"] for o in synthetic.objects(2000, seed=42) if o["type"] == "indicator"]
    assert texts and all(patterns._fast_parse(t) is not None for t in texts)


def test_parse_errors_come_from_the_full_parser() -> None:
    patterns._RECENT.clear()
    with pytest.raises(PatternError, match="not a valid MD5 hash"):
        patterns.parse("[file:hashes.MD5 = 'abc']")
    with pytest.raises(PatternError, match="greater than 0"):
        patterns.parse("[x:y = 1] WITHIN 0 SECONDS")


def _errors(obj: Any) -> list[tuple[str, str | None]]:
    return [(e.message, e.property) for e in check(obj, 3)]


def test_caches_do_not_change_results() -> None:
    objs = list(corpus(3000))
    warm = [_errors(o) for o in objs]  # caches filled by everything before each object
    rejected = sum(bool(w) for w in warm)
    assert 500 < rejected < len(objs) - 500  # the corpus must exercise both decisions
    for obj, expected in zip(objs, warm):
        validate._TS_OK.clear()
        validate._ID_OK.clear()
        patterns._RECENT.clear()
        assert _errors(obj) == expected, obj


def test_limits_fast_pass_agrees_with_the_exact_walk() -> None:
    deep: Any = "x"
    for i in range(validate.MAX_DEPTH + 2):
        deep = [deep] if i % 2 else {"k": deep}
    shaped = [
        {"type": "x-a", "v": deep}, {"type": "x-a", "v": "a" * (validate.MAX_STRING + 1)},
        {"type": "x-a", "v": ["a"] * (validate.MAX_LIST + 1)}, {"type": "x-a", "\udc80": 1},
        {"type": "x-a", "v": {"w": ["ok", "\ud800"]}}, {"type": "x-a", "v": [[[["é"]]]]},
    ]  # fmt: skip
    for obj in [*corpus(1000, seed=9), *shaped]:
        exact: validate.Errors = []
        validate._limits(obj, "", 1, exact)
        assert validate._limits_ok(obj, 1) == (not exact), obj


def _ids(seed: int) -> Iterator[str]:
    r = random.Random(seed)
    ids = [o["id"] for o in synthetic.objects(300, seed=seed)] + [
        "a--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "ab--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "a-b--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "a--b--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "x-a---8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f", "x--8E2E2D2B-17D4-4CBF-B38F-98EE46B3CD3F",
        "file--8e2e2d2b-17d4-6cbf-938f-98ee46b3cd3f", "file--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f",
        "file--8e2e2d2b 17d4-4cbf-938f-98ee46b3cd3f", "file--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3 ",
        "file--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd\u0663f", "file--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd_f",
    ]  # fmt: skip
    alphabet = list("abcdefABCDEF0123456789-- _\u0663xyzé")
    yield from ids
    for _ in range(20000):
        yield _mutate_text(r, r.choice(ids), alphabet)


def test_identifier_check_agrees_with_the_regex() -> None:
    accepted = 0
    for text in _ids(4):
        validate._ID_OK.clear()
        m = validate._ID_RE.fullmatch(text)
        assert validate._id_type(text) == (m.group(1) if m else None), text
        accepted += m is not None
    assert accepted > 1000



def test_ipv6_fast_accept_agrees_with_ipaddress() -> None:
    r = random.Random(6)
    addrs = [o["value"] for o in synthetic.objects(3000, seed=6) if o["type"] == "ipv6-addr"] + [
        "::", "::1", "1::", "1:2:3:4:5:6:7:8", "1::2:3:4:5:6:7:8", "1:2:3:4:5:6:7::", "::ffff:1.2.3.4",
        "::ffff:01.2.3.4", "::ffff:256.2.3.4", "1:2:3:4:5:6:1.2.3.4", "fe80::1%eth0", "12345::1", "1:::2",
        "::1 ", " ::1", "::\u0661", "1:2:3:4:5:6:7:8:9", "g::1", "::1\x00",
    ]  # fmt: skip
    alphabet = list("0123456789abcdefABCDEFg:::.% \u0661")
    texts = addrs + [_mutate_text(r, r.choice(addrs), alphabet) for _ in range(20000)]
    accepted = 0
    for text in texts:
        expected = validate._ipv6_ok_slow(text)
        assert validate._ipv6_ok(text) == expected, text
        accepted += expected
    assert accepted > 2000
