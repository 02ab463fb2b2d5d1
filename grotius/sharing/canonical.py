"""RFC 8785 canonical JSON, byte for byte what ``rfc8785.dumps`` writes, fast.

Signatures (signing.py) and the audit chain (audit.py) hash or sign canonical JSON of
every object and entry; ``rfc8785.dumps`` is pure Python and cost some 17 % of a
correlation run that signs its leads. For the values STIX objects are made of, RFC 8785
is sorted compact JSON, which orjson writes in C, so :func:`dumps` hands orjson a value
whose every part is known to be written identically, and gives anything else to
``rfc8785`` itself (the reference: its output and its errors are what callers get).

Why each accepted part is written identically (tests/test_sharing_canonical.py checks
every point against ``rfc8785.dumps`` and would fail on any difference):

- object keys: only ``str`` keys that are ASCII. RFC 8785 orders keys by UTF-16 code
  units, orjson's ``OPT_SORT_KEYS`` by code point (UTF-8 bytes); these differ for keys
  holding both U+E000..U+FFFF and characters above U+FFFF, never for ASCII.
- strings (keys and values): both escape exactly ``"``, ``\\`` and U+0000..U+001F (the
  same short forms, otherwise ``\\u00xx`` in lower case) and write everything else,
  DEL, U+2028/2029 and non-ASCII included, as raw UTF-8 (checked over every code point).
  A lone surrogate makes orjson refuse, and then rfc8785 decides.
- integers: only exact ``int`` within +-(2**53 - 1), rfc8785's domain; both write the
  decimal digits. Outside it rfc8785 refuses (IntegerDomainError); bool is bool.
- floats: never written by orjson (its ``1.0``, ``-0.0``, ``1e+16`` are not RFC 8785),
  but as pre-serialised fragments: for ``repr`` without an exponent (1e-4 <= |f| < 1e16)
  rfc8785's algorithm reduces to ``repr`` minus a trailing ``.0`` (and ``0`` for zero),
  which :func:`_float` writes; any other float is formatted by ``rfc8785.dumps`` itself.
  NaN and infinities are refused by rfc8785. Fragments are kept per float value (equal
  floats are the same double, or 0.0 and -0.0, both written ``0``).
- exact ``dict``, ``list``, ``tuple``, ``None``; anything else (subclasses, other
  mappings, unsupported types) goes to rfc8785 whole, as does anything orjson refuses
  (a lone surrogate, nesting deeper than orjson's limit).

One deliberate difference: rfc8785 0.1.4 lets a ``UnicodeEncodeError`` escape for a lone
surrogate in an object key (it sorts keys by their UTF-16 encoding); :func:`dumps`
raises :class:`CanonicalizationError` with rfc8785's message for a lone surrogate in a
value instead, so callers need catch one exception.
"""

from __future__ import annotations

from typing import Any

import orjson
import rfc8785
from rfc8785 import CanonicalizationError

__all__ = ["CanonicalizationError", "dumps"]

_MAX_INT = 2**53 - 1
_SORT = orjson.OPT_SORT_KEYS
_ZERO = orjson.Fragment(b"0")
# a value orjson would not write as rfc8785 does
_SLOW: Any = object()


def dumps(value: Any, *, strings: tuple[str, ...] = ()) -> bytes:
    """``rfc8785.dumps(value)``: the same bytes, or the same refusal.

    ``strings`` names ASCII top-level keys of a dict ``value`` whose values the caller
    has checked hold only str, lists of them and lists of those lists: orjson writes such
    a value as rfc8785 does, so it is not walked (the audit chain's object pairs, a
    thousand per entry of a large import)."""
    try:
        if strings and type(value) is dict:
            rest = _ready({k: x for k, x in value.items() if k not in strings})
            ready = _SLOW if rest is _SLOW else {**rest, **{k: value[k] for k in strings if k in value}}
        else:
            ready = _ready(value)
        if ready is not _SLOW:
            return orjson.dumps(ready, option=_SORT)
    except (TypeError, RecursionError):
        # a key that is not an exact str, a lone surrogate, nesting deeper than orjson
        # (or Python) allows: rfc8785 on the whole value says what is wrong, as it always did
        pass
    try:
        return rfc8785.dumps(value)
    except UnicodeEncodeError as e:
        raise CanonicalizationError("input contains non-UTF-8 codepoints") from e


def _ready(v: Any) -> Any:
    """``v`` as orjson should see it (floats as fragments; unchanged containers are
    returned as they are, so a value without floats is not copied), or ``_SLOW``."""
    t = type(v)
    if t is dict:
        # one C call for all keys; a key that is not a str makes join raise TypeError, and
        # orjson refuses str subclasses as keys
        if not "".join(v).isascii():
            return _SLOW
        members: Any = v.items()
    elif t is list or t is tuple:
        members = enumerate(v)
    else:
        return _item(v)
    out: Any = None
    for k, x in members:
        if type(x) is str:
            continue
        y = _item(x)
        if y is x:
            continue
        if y is _SLOW:
            return _SLOW
        if out is None:
            out = dict(v) if t is dict else list(v)
        out[k] = y
    return v if out is None else out


def _item(x: Any) -> Any:
    t = type(x)
    if t is str or t is bool or x is None:
        return x
    if t is int:
        return x if -_MAX_INT <= x <= _MAX_INT else _SLOW
    if t is float:
        f = _FLOATS.get(x)
        if f is None:
            f = _float(x)
            if f is not _SLOW and len(_FLOATS) < 10_000:
                _FLOATS[x] = f  # 0.0 and -0.0 share a key, and a text ("0")
        return f
    if t is dict or t is list or t is tuple:
        return _ready(x)
    return _SLOW


# leads' scores are rounded to four places: a few thousand distinct floats
_FLOATS: dict[float, Any] = {}


def _float(f: float) -> Any:
    r = repr(f)  # rfc8785 starts from str(f), the same text for an exact float
    if "n" in r:  # nan, inf: rfc8785 refuses them
        return _SLOW
    if "e" in r:
        return orjson.Fragment(rfc8785.dumps(f))
    if f == 0:
        return _ZERO  # -0.0 too
    # rfc8785 without an exponent: first "." last, dropping a last of "0"; a negative
    # number is "-" and its absolute value, which is how repr writes it
    return orjson.Fragment((r[:-2] if r.endswith(".0") else r).encode())
