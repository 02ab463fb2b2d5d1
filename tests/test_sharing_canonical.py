"""grotius.sharing.canonical.dumps against rfc8785.dumps: the same bytes or the same refusal.

Seeded random values (hypothesis is not a dependency) over the hazards where orjson's
own output differs from RFC 8785 (float text, key order beyond U+FFFF, integers beyond
2**53, lone surrogates), plus every code point and explicit edge cases. Each generator
is also run against plain ``orjson.dumps(..., OPT_SORT_KEYS)``, which must be caught.
"""

from __future__ import annotations

import copy
import enum
import math
import random
import struct
from collections import OrderedDict
from typing import Any, Callable

import orjson
import pytest
import rfc8785
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from grotius.exc import InvalidInput
from grotius.sharing import signing
from grotius.sharing.canonical import _SLOW, CanonicalizationError, _ready, dumps
from grotius.stix.grading import GROTIUS_EXTENSION_ID


def outcome(fn: Callable[[Any], bytes], v: Any) -> tuple[Any, ...]:
    try:
        return ("ok", fn(v))
    except RecursionError:
        return ("recursion",)
    except Exception as e:  # noqa: BLE001 - the refusal itself is what is compared
        return ("error", type(e), str(e))


def expected(v: Any) -> tuple[Any, ...]:
    out = outcome(rfc8785.dumps, v)
    if out[0] == "error" and out[1] is UnicodeEncodeError:
        # rfc8785 0.1.4 leaks this for a lone surrogate in a key; dumps says it as
        # rfc8785 does for one in a value (the documented difference)
        return ("error", CanonicalizationError, "input contains non-UTF-8 codepoints")
    return out


def naive(v: Any) -> bytes:
    return orjson.dumps(v, option=orjson.OPT_SORT_KEYS)


# -- generators --------------------------------------------------------------------------

_SPECIAL_CHARS = ['"', "\\", "/", "\b", "\f", "\n", "\r", "\t", "\x00", "\x1f", "\x7f", "\x80",
                  "\u2028", "\u2029", "\ufeff", "\uffff", "\ue000", "\U0001f600", "\U0010ffff", "é"]


def rand_char(rng: random.Random, surrogates: bool) -> str:
    r = rng.random()
    if r < 0.4:
        return chr(rng.randrange(0x20, 0x7f))
    if r < 0.6:
        return rng.choice(_SPECIAL_CHARS)
    if r < 0.7:
        return chr(rng.randrange(0x20))
    if r < 0.8:
        return chr(rng.randrange(0x80, 0xd800))
    if r < 0.9:
        return chr(rng.randrange(0xe000, 0x10000))
    if surrogates and r < 0.905:
        return chr(rng.randrange(0xd800, 0xe000))
    return chr(rng.randrange(0x10000, 0x110000))


def rand_str(rng: random.Random, surrogates: bool = True) -> str:
    return "".join(rand_char(rng, surrogates) for _ in range(rng.randrange(0, 12)))


def rand_key(rng: random.Random) -> Any:
    r = rng.random()
    if r < 0.6:
        return "".join(chr(rng.randrange(0x20, 0x7f)) for _ in range(rng.randrange(0, 8)))
    if r < 0.8:
        # the order hazard: BMP private use (after surrogates in UTF-16, before astral in
        # code points) next to astral characters, behind a shared prefix
        return rng.choice(["k", "", "a\ue000"]) + rng.choice(["\ue000", "\uffff", "\U0001f600", "\U00010000", "z", "é"])
    if r < 0.995:
        return rand_str(rng)
    return rng.choice([1, None, 2.5])  # rfc8785 refuses non-string keys


_BOUNDS = [1e-7, 1e-6, 1e-5, 1e-4, 1e-3, 1.0, 1e15, 1e16, 1e17, 1e20, 1e21, 1e22, 2.0**52, 2.0**53,
           5e-324, 2.2250738585072014e-308, 1.7976931348623157e308]


def rand_float(rng: random.Random) -> float:
    r = rng.random()
    if r < 0.2:  # any bit pattern: subnormals, nan payloads, infinities
        return struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0]
    if r < 0.4:  # every magnitude
        return rng.choice([1, -1]) * rng.random() * 10.0 ** rng.randint(-30, 30)
    if r < 0.55:  # scores as the correlation writes them
        return round(rng.random() * rng.choice([1, 10, 100]), rng.randint(0, 6))
    if r < 0.7:  # integral floats
        return float(rng.randint(-(10**6), 10**6)) * rng.choice([1, 1, 10**10, 10**17])
    if r < 0.9:  # the exponent boundaries and their neighbours
        b = rng.choice(_BOUNDS) * rng.choice([1, -1])
        for _ in range(rng.randint(0, 2)):
            b = math.nextafter(b, rng.choice([0.0, math.inf]))
        return b
    return rng.choice([0.0, -0.0, math.nan, math.inf, -math.inf, 0.1, 1 / 3, 123.0])


def rand_int(rng: random.Random) -> int:
    base = rng.choice([0, 2**53, -(2**53), 2**63, -(2**63), 2**64, 10**6, 2**31])
    return base + rng.randint(-3, 3)


class Color(enum.IntEnum):
    RED = 1


class Text(str):
    pass


def rand_odd(rng: random.Random) -> Any:
    # types rfc8785 accepts through isinstance, or refuses; all must take the slow path
    return rng.choice([Color.RED, Text("x\n"), OrderedDict([("b", 1), ("a", 2)]), (1, "a"), b"x",
                       {1, 2}, 1.5j])


def rand_value(rng: random.Random, depth: int = 0) -> Any:
    r = rng.random()
    if depth < 4 and r < 0.25:
        return {rand_key(rng): rand_value(rng, depth + 1) for _ in range(rng.randrange(0, 6))}
    if depth < 4 and r < 0.4:
        items = [rand_value(rng, depth + 1) for _ in range(rng.randrange(0, 5))]
        return tuple(items) if rng.random() < 0.1 else items
    if r < 0.6:
        return rand_str(rng)
    if r < 0.75:
        return rand_float(rng)
    if r < 0.87:
        return rand_int(rng)
    if r < 0.97:
        return rng.choice([True, False, None])
    return rand_odd(rng)


def stix_like(rng: random.Random) -> dict[str, Any]:
    """Mostly-accepted values: what the fast path must also cover."""
    return {
        "type": "x-grotius-lead", "id": f"x-grotius-lead--{rng.getrandbits(64):x}",
        "name": rand_str(rng, surrogates=False), "score": rand_float(rng) if rng.random() < 0.3
        else round(rng.random(), 4),
        "score_components": {k: round(rng.random(), rng.randint(0, 4)) for k in ("grade", "recency")}
        | {"sources": rng.randint(2, 9), "strength": rng.choice([1.0, 0.5, 0.0])},
        "matches": [{"value": rand_str(rng, surrogates=False), "relation": "exact"}
                    for _ in range(rng.randint(1, 3))],
        "labels": [rand_str(rng, surrogates=False)], "revoked": False, "x_n": rand_int(rng),
    }


# -- differential tests --------------------------------------------------------------------


def _differences(fn: Callable[[Any], bytes], values: list[Any]) -> list[tuple[Any, Any, Any]]:
    diffs = []
    for v in values:
        want, got = expected(v), outcome(fn, v)
        if got != want:
            diffs.append((v, want, got))
    return diffs


@pytest.mark.parametrize("make", [rand_value, stix_like], ids=["random", "stix-like"])
def test_random_values_match_rfc8785(make: Callable[[random.Random], Any]) -> None:
    rng = random.Random(8785)
    values = [make(rng) for _ in range(4000)]
    snapshot = copy.deepcopy(values)
    assert _differences(dumps, values) == []
    assert values == snapshot  # floats are replaced in copies, never in the input
    # the same values separate a wrong implementation from a right one
    wrong = _differences(naive, values)
    assert len(wrong) > 100, len(wrong)


def fast(v: Any) -> bool:
    """Whether orjson writes ``v`` (after the float fragments)."""
    try:
        ready = _ready(v)
        return ready is not _SLOW and bool(orjson.dumps(ready))
    except TypeError:  # a key that is not a str, a lone surrogate
        return False


def test_random_values_exercise_both_paths() -> None:
    rng = random.Random(1)
    values = [rand_value(rng) for _ in range(2000)]
    assert 200 < sum(map(fast, values)) < 1900
    rng = random.Random(2)
    leads = [stix_like(rng) for _ in range(500)]
    assert 150 < sum(map(fast, leads)) < 500


def test_floats_match_rfc8785() -> None:
    rng = random.Random(754)
    floats = [rand_float(rng) for _ in range(50000)]
    floats += [float(f"{m}e{e}") for m in (1, 1.5, 9.999999999999999) for e in range(-25, 25)]
    assert _differences(dumps, [[f] for f in floats]) == []
    # orjson alone is wrong for floats: "1.0", "-0.0", "1e16", ...
    assert len(_differences(naive, [[f] for f in floats])) > 5000


def test_string_members_the_caller_vouches_for_are_written_as_rfc8785() -> None:
    rng = random.Random(53)
    for _ in range(500):
        pairs = [[rand_str(rng, surrogates=False), rand_str(rng, surrogates=False)] for _ in range(rng.randint(0, 5))]
        entry = {"objects": pairs, "seq": rand_int(rng), "detail": rand_value(rng), "prev": rand_str(rng)}
        assert outcome(lambda v: dumps(v, strings=("objects",)), entry) == expected(entry)
    # a lone surrogate among them still gets rfc8785's refusal, as without the hint
    bad = {"objects": [["x", "\ud800"]], "seq": 1}
    assert outcome(lambda v: dumps(v, strings=("objects",)), bad) == expected(bad)


def test_every_code_point_as_value_and_ascii_key() -> None:
    text = "".join(chr(c) for c in range(0x110000) if not 0xD800 <= c < 0xE000)
    value = {"k": text, "l": [text[i:i + 97] for i in range(0, 5000, 97)]}
    assert _ready(value) is value and fast(value)
    assert dumps(value) == rfc8785.dumps(value)


def test_every_non_ascii_key_character_sorts_as_rfc8785() -> None:
    chars = [chr(c) for c in range(0x80, 0x110000, 37) if not 0xD800 <= c < 0xE000]
    chars += ["\ue000", "\uffff", "\U00010000", "\U0001f600"]
    value = {c: i for i, c in enumerate(chars)} | {"a": 1}
    assert dumps(value) == rfc8785.dumps(value)
    astral_vs_private = {"\U0001f600": 1, "\ue000": 2}
    assert naive(astral_vs_private) != rfc8785.dumps(astral_vs_private)  # why they take the slow path


@pytest.mark.parametrize("value, text", [
    (1.0, b"1"), (-0.0, b"0"), (0.0, b"0"), (123.0, b"123"), (-2.5, b"-2.5"), (0.1, b"0.1"),
    (1e16, b"10000000000000000"), (1.5e20, b"150000000000000000000"), (1e21, b"1e+21"),
    (1e-6, b"0.000001"), (1e-7, b"1e-7"), (-1e-7, b"-1e-7"), (0.0001, b"0.0001"),
    (5e-324, b"5e-324"), (1.7976931348623157e308, b"1.7976931348623157e+308"),
    (2**53 - 1, b"9007199254740991"), (-(2**53 - 1), b"-9007199254740991"),
    ("\u2028\x7f\x1f\"\\/", b'"\xe2\x80\xa8\x7f\\u001f\\"\\\\/"'),
    ({"b": [], "a": {}, "": None}, b'{"":null,"a":{},"b":[]}'),
    ({"\U0001f600": 1, "\ue000": 2}, b'{"\xf0\x9f\x98\x80":1,"\xee\x80\x80":2}'),
    ((1, True, None), b"[1,true,null]"),
    ({Text("b"): 1, "a": Text("\n")}, b'{"a":"\\n","b":1}'),
    ({"b": Color.RED, "a": OrderedDict([("y", 1), ("x", 0.5)])}, b'{"a":{"x":0.5,"y":1},"b":1}'),
])
def test_edge_cases(value: Any, text: bytes) -> None:
    assert rfc8785.dumps(value) == text  # the reference itself, so this table is right
    assert dumps(value) == text


@pytest.mark.parametrize("value, error", [
    (2**53, rfc8785.IntegerDomainError), (-(2**53), rfc8785.IntegerDomainError),
    (2**63, rfc8785.IntegerDomainError), (2**64, rfc8785.IntegerDomainError),
    (math.nan, rfc8785.FloatDomainError), (-math.inf, rfc8785.FloatDomainError),
    ({"a": [1, {"b": math.inf}]}, rfc8785.FloatDomainError),
    ("x\ud800", CanonicalizationError), ({"\udfff": 1}, CanonicalizationError),
    ({1: "a"}, CanonicalizationError), ({"a": b"x"}, CanonicalizationError),
    ({"a": {1, 2}}, CanonicalizationError),
])
def test_refusals(value: Any, error: type[Exception]) -> None:
    with pytest.raises(error):
        dumps(value)
    assert outcome(dumps, value) == expected(value)


def test_deep_nesting_beyond_orjson_limit() -> None:
    v: Any = 1.5
    for i in range(400):
        v = [v] if i % 2 else {"k": v}
    assert dumps(v) == rfc8785.dumps(v)


# -- signing -----------------------------------------------------------------------------


def _lead() -> dict[str, Any]:
    return {
        "type": "x-grotius-lead", "spec_version": "2.1", "id": "x-grotius-lead--0b4b4b1a-0000-5000-8000-000000000001",
        "created": "2026-11-30T01:00:00.000Z", "modified": "2026-11-30T01:00:00.000Z",
        "created_by_ref": "identity--00000000-0000-4000-8000-000000000001",
        "name": "198.51.100.7 also held by NL-POL", "status": "new",
        "matches": [{"kind": "ipv4", "value": "198.51.100.7", "held_kind": "ipv4", "held_value": "198.51.100.7",
                     "relation": "exact"}],
        "score": 0.7125, "score_components": {"grade": 0.5, "recency": 1.0, "agreement": 0.0, "strength": 1.0,
                                              "sources": 2},
        "object_marking_refs": ["marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"],
        "extensions": {GROTIUS_EXTENSION_ID: {"extension_type": "property-extension",
                                              "signature": {"alg": "Ed25519", "value": "old"}},
                       "extension-definition--other": {"extension_type": "property-extension", "n": [1, {"x": 2}]}},
    }


def test_signing_input_is_rfc8785_of_the_unsigned_form() -> None:
    lead = _lead()
    body = copy.deepcopy(lead)
    del body["extensions"][GROTIUS_EXTENSION_ID]["signature"]
    assert signing.signing_input(lead) == rfc8785.dumps(body)
    assert fast(body)  # a lead with float scores takes the fast path


def test_sign_returns_a_new_object_and_never_mutates_its_input() -> None:
    key = Ed25519PrivateKey.generate()
    lead = _lead()
    before = copy.deepcopy(lead)
    signed = signing.sign(lead, key, lead["created_by_ref"])
    assert lead == before
    assert signed is not lead and signed["extensions"] is not lead["extensions"]
    ours = signed["extensions"][GROTIUS_EXTENSION_ID]
    assert ours is not lead["extensions"][GROTIUS_EXTENSION_ID] and ours["signature"]["value"] != "old"
    ring = signing.Keyring()
    ring.pin(lead["created_by_ref"], key.public_key())
    assert signing.check(signed, ring).status == signing.VALID
    # re-signing the signed copy leaves that copy alone too
    snapshot = copy.deepcopy(signed)
    again = signing.sign(signed, key, lead["created_by_ref"])
    assert signed == snapshot and signing.check(again, ring).status == signing.VALID
    # without any extensions: added to the copy only
    bare = {k: v for k, v in before.items() if k != "extensions"}
    bare_before = copy.deepcopy(bare)
    out = signing.sign(bare, key, lead["created_by_ref"])
    assert bare == bare_before and "extensions" not in bare
    assert list(out["extensions"][GROTIUS_EXTENSION_ID]) == ["extension_type", "signature"]
    assert signing.check(out, ring).status == signing.VALID


def test_sign_refuses_malformed_extensions() -> None:
    key = Ed25519PrivateKey.generate()
    for bad in ({"extensions": "x"}, {"extensions": {GROTIUS_EXTENSION_ID: ["signature"]}}):
        with pytest.raises(InvalidInput, match="is not an object"):
            signing.sign({"id": "x--1", **bad}, key, "identity--1")
    with pytest.raises(InvalidInput, match="RFC 8785"):
        signing.sign({"id": "x--1", "n": 2**60}, key, "identity--1")
