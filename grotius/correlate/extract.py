"""Values that an object mentions: from cyber observables (SCOs), from indicator patterns,
and from a few well-known properties that carry identifiers (IBAN, phone, IMO, ...).

Every comparison of a pattern either yields values or is reported in ``unreduced`` with
the reason (``LIKE``, ``MATCHES``, negations, properties that hold no identifier, values
that fail cleaning): nothing is dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from grotius.correlate.types import registry
from grotius.exc import PatternError
from grotius.stix import patterns

_HASH_KEYS = {
    "md5": "md5", "sha-1": "sha1", "sha1": "sha1", "sha-256": "sha256", "sha256": "sha256",
    "sha-512": "sha512", "sha512": "sha512",
}
# (object type, property path) -> kinds tried in order
_SCO_VALUE: dict[str, tuple[str, ...]] = {
    "ipv4-addr": ("ipv4", "ipv4-cidr"),
    "ipv6-addr": ("ipv6", "ipv6-cidr"),
    "domain-name": ("domain",),
    "url": ("url",),
    "email-addr": ("email",),
    "mac-addr": ("mac",),
    "cryptocurrency-wallet": ("btc", "eth"),
    "x-cryptocurrency-wallet": ("btc", "eth"),
    "x-phone-number": ("phone",),
    "x-bank-account": ("iban",),
}
# Address properties reached through a reference (network-traffic:dst_ref.value, ...):
# the kind follows from the value itself.
_REF_VALUE_PROPS = frozenset({"src_ref", "dst_ref", "from_ref", "sender_ref", "to_refs", "cc_refs", "bcc_refs", "resolves_to_refs"})
# Properties of any object (custom or extension) that carry one kind of identifier.
_NAMED_PROPS: dict[str, tuple[str, ...]] = {
    "iban": ("iban",), "bic": ("bic",), "swift_bic": ("bic",), "phone": ("phone",), "phone_number": ("phone",),
    "phone_numbers": ("phone",), "msisdn": ("phone",), "imo": ("imo",), "imo_number": ("imo",),
    "mmsi": ("mmsi",), "wallet": ("btc", "eth"), "wallet_address": ("btc", "eth"), "btc_address": ("btc",),
    "eth_address": ("eth",), "mac": ("mac",), "asn": ("asn",), "email": ("email",), "account_number": ("iban",),
}
# Free text is scanned only for identifiers that validate themselves (a prefix plus a
# check digit, or a checksum): "IMO 9395044" in a description is a vessel, "244" is not.
_TEXT_RES: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("imo", re.compile(r"\bIMO[\s:#.-]{0,2}(\d{7})\b", re.IGNORECASE)),
    ("mmsi", re.compile(r"\bMMSI[\s:#.-]{0,2}(\d{9})\b", re.IGNORECASE)),
    ("iban", re.compile(r"\b([A-Z]{2}\d{2}(?:\s?[A-Z0-9]{4}){2,7}(?:\s?[A-Z0-9]{1,3})?)\b")),
    ("btc", re.compile(r"\b(bc1[02-9ac-hj-np-z]{11,71}|[13][1-9A-HJ-NP-Za-km-z]{25,34})\b")),
    ("eth", re.compile(r"\b(0x[0-9a-fA-F]{40})\b")),
)
_TEXT_PROPS = ("name", "description")


# NamedTuples, not frozen dataclasses: one is built per value at ingest, and a tuple is
# several times cheaper to construct
class Mention(NamedTuple):
    kind: str
    value: str
    #: where in the object: a property path or ``pattern:<object_type>:<path>``
    path: str


class Unreduced(NamedTuple):
    path: str
    reason: str


@dataclass(slots=True)
class Extraction:
    mentions: list[Mention] = field(default_factory=list)
    unreduced: list[Unreduced] = field(default_factory=list)
    #: valid values too generic to correlate on (private addresses, empty-file hashes, ...)
    unmatchable: list[Mention] = field(default_factory=list)

    def __reduce__(self) -> tuple[Any, ...]:
        # plain tuples pickle several times faster than named tuples: extractions travel
        # back from the ingest worker (grotius.checkpool) by the hundred thousand
        return (_rebuild, ([tuple(m) for m in self.mentions], [tuple(u) for u in self.unreduced],
                           [tuple(m) for m in self.unmatchable]))

    def add(self, kinds: tuple[str, ...], raw: Any, path: str) -> bool:
        if not isinstance(raw, str):
            if isinstance(raw, int) and not isinstance(raw, bool) and "asn" in kinds:
                raw = str(raw)
            else:
                self.unreduced.append(Unreduced(path, f"value of type {type(raw).__name__} is not an identifier"))
                return False
        for kind in kinds:
            v = registry.try_clean(kind, raw)
            if v is not None:
                m = Mention(kind, v, path)
                (self.mentions if registry.matchable(kind, v) else self.unmatchable).append(m)
                return True
        self.unreduced.append(Unreduced(path, f"{raw[:80]!r} is not a valid {' or '.join(kinds)}"))
        return False


def _rebuild(mentions: list[tuple[str, str, str]], unreduced: list[tuple[str, str]],
             unmatchable: list[tuple[str, str, str]]) -> Extraction:
    return Extraction([Mention._make(m) for m in mentions], [Unreduced._make(u) for u in unreduced],
                      [Mention._make(m) for m in unmatchable])


def extract(obj: dict[str, Any]) -> Extraction:
    out = Extraction()
    t = obj.get("type") or ""
    if t == "indicator" and obj.get("pattern_type", "stix") == "stix" and isinstance(obj.get("pattern"), str):
        _from_pattern(obj["pattern"], out)
    kinds = _SCO_VALUE.get(t)
    if kinds and "value" in obj:
        out.add(kinds, obj["value"], "value")
    elif t == "autonomous-system" and "number" in obj:
        out.add(("asn",), obj["number"], "number")
    for key in ("hashes",):
        hashes = obj.get(key)
        if isinstance(hashes, dict):
            _hashes(hashes, key, out)
    if t.startswith("x-") or "extensions" in obj or any(k[:2] == "x_" for k in obj):
        _named(obj, "", out, depth=0)
    for prop in _TEXT_PROPS:
        text = obj.get(prop)
        if isinstance(text, str):
            _text(text, prop, out)
    if len(out.mentions) > 1:
        seen: set[tuple[str, str]] = set()
        uniq = []
        for m in out.mentions:
            if (m.kind, m.value) not in seen:
                seen.add((m.kind, m.value))
                uniq.append(m)
        out.mentions = uniq
    return out


def _hashes(hashes: dict[str, Any], path: str, out: Extraction) -> None:
    for algo, h in hashes.items():
        kind = _HASH_KEYS.get(str(algo).lower())
        if kind:
            out.add((kind,), h, f"{path}.{algo}")


def _named(obj: dict[str, Any], prefix: str, out: Extraction, depth: int) -> None:
    # custom properties (x_iban, x_grotius_imo) and extension properties ({"imo": ...})
    for key, value in obj.items():
        name = key
        for p in ("x_grotius_", "x_"):
            if name.startswith(p):
                name = name[len(p):]
                break
        kinds = _NAMED_PROPS.get(name)
        path = f"{prefix}{key}"
        if kinds and (key.startswith("x_") or depth > 0 or obj.get("type", "").startswith("x-")):
            for i, v in enumerate(value if isinstance(value, list) else [value]):
                out.add(kinds, v, f"{path}[{i}]" if isinstance(value, list) else path)
        elif key == "extensions" and isinstance(value, dict) and depth == 0:
            for ext_id, ext in value.items():
                if isinstance(ext, dict):
                    _named(ext, f"extensions.{ext_id}.", out, depth + 1)


def _text(text: str, prop: str, out: Extraction) -> None:
    for kind, rx in _TEXT_RES:
        for m in rx.finditer(text):
            v = registry.try_clean(kind, m.group(1))
            if v is not None and registry.matchable(kind, v):
                out.mentions.append(Mention(kind, v, prop))


# -- patterns ----------------------------------------------------------------------------

def _from_pattern(text: str, out: Extraction) -> None:
    try:
        pat = patterns.parse(text)
    except PatternError as e:
        out.unreduced.append(Unreduced("pattern", f"pattern does not parse: {e.message}"))
        return
    for c in pat.comparisons():
        _comparison(c, out)


def _kinds_for(c: patterns.Comparison) -> tuple[str, ...] | None:
    path = c.path
    if path == ("value",):
        return _SCO_VALUE.get(c.object_type)
    if c.object_type == "autonomous-system" and path == ("number",):
        return ("asn",)
    if len(path) == 2 and path[0] == "hashes":
        k = _HASH_KEYS.get(str(path[1]).lower())
        return (k,) if k else None
    if path and path[-1] == "value" and any(p in _REF_VALUE_PROPS for p in path[:-1] if isinstance(p, str)):
        return ("*",)
    if c.object_type == "email-message" and path == ("from_ref", "value"):
        return ("email",)
    name = path[-1] if path and isinstance(path[-1], str) else ""
    for p in ("x_grotius_", "x_"):
        if name.startswith(p):
            name = name[len(p):]
    return _NAMED_PROPS.get(name)


def _comparison(c: patterns.Comparison, out: Extraction) -> None:
    where = f"pattern:{c.object_type}:{'.'.join(str(p) for p in c.path)}"
    kinds = _kinds_for(c)
    if kinds is None:
        out.unreduced.append(Unreduced(where, "property holds no identifier that correlation indexes"))
        return
    if c.negated or c.operator == "!=":
        out.unreduced.append(Unreduced(where, f"negated comparison ({'NOT ' if c.negated else ''}{c.operator}) names what does not match"))
        return
    if c.operator in ("=", "IN"):
        values = c.value if isinstance(c.value, tuple) else (c.value,)
    elif c.operator in ("ISSUBSET", "ISSUPERSET") and c.object_type in ("ipv4-addr", "ipv6-addr"):
        # "value ISSUBSET '203.0.113.0/26'" is an address inside that range: held as the range
        values = (c.value,)
        kinds = ("ipv4-cidr", "ipv4") if c.object_type == "ipv4-addr" else ("ipv6-cidr", "ipv6")
    else:
        out.unreduced.append(Unreduced(where, f"operator {c.operator} does not reduce to values"))
        return
    for v in values:
        if kinds == ("*",):
            found = registry.detect_clean(v) if isinstance(v, str) else None
            if found and found[0] in ("ipv4", "ipv6", "ipv4-cidr", "ipv6-cidr", "email", "domain", "mac"):
                out.add((found[0],), v, where)
            else:
                out.unreduced.append(Unreduced(where, f"{str(v)[:80]!r} is not an address"))
        else:
            out.add(kinds, v, where)
