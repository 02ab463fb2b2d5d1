"""Values that an object mentions: from cyber observables (SCOs), from indicator patterns,
and from a few well-known properties that carry identifiers (IBAN, phone, IMO, ...).

Every comparison of a pattern either yields values or is reported in ``unreduced`` with
the reason (``LIKE``, ``MATCHES``, negations, properties that hold no identifier, values
that fail cleaning): nothing is dropped silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import partial
from typing import Any, NamedTuple

from grotius.correlate.kinds.other import HASH_LENGTHS
from grotius.correlate.types import ValueType, registry
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
# (spelt out: sre scans for a leading character class, not for a repeated one)
_IBAN_HINT = re.compile(r"[A-Z][A-Z][0-9][0-9]")

# Property names of STIX 2.1 objects (common, SDO, SRO, SCO, marking), none of them
# custom: an object whose keys all appear here needs no scan for x_ properties.
_STIX_KEYS = frozenset("""
type spec_version id created modified created_by_ref revoked labels confidence lang
external_references object_marking_refs granular_markings extensions defanged name description
aliases first_seen last_seen objective kill_chain_phases action course_of_action abstract
authors object_refs context identity_class sectors contact_information roles indicator_types
pattern pattern_type pattern_version valid_from valid_until infrastructure_types goals
resource_level primary_motivation secondary_motivations latitude longitude precision region
country administrative_area city street_address postal_code malware_types is_family
architecture_execution_envs implementation_languages capabilities sample_refs operating_system_refs
product version analysis_definition_version analysis_started analysis_ended result_name result
analysis_sco_refs host_vm_ref av_result content note first_observed last_observed number_observed
explanation opinion report_types published threat_actor_types sophistication personal_motivations
tool_types tool_version relationship_type source_ref target_ref start_time stop_time count
observed_data_refs where_sighted_refs sighting_of_ref summary definition_type definition
value number rir hashes size mime_type payload_bin url encryption_algorithm decryption_key
path path_enc ctime mtime atime contains_refs name_enc magic_number_hex parent_directory_ref
content_ref resolves_to_refs display_name belongs_to_ref is_multipart date content_type from_ref
sender_ref to_refs cc_refs bcc_refs message_id subject received_lines additional_header_fields
body body_multipart raw_email_ref src_ref dst_ref src_port dst_port protocols src_byte_count
dst_byte_count src_packets dst_packets ipfix src_payload_ref dst_payload_ref encapsulates_refs
encapsulated_by_ref is_active pid created_time cwd command_line environment_variables
opened_connection_refs creator_user_ref image_ref parent_ref child_refs cpe swid vendor
languages user_id credential account_login account_type is_service_account is_privileged
can_escalate_privs is_disabled account_created account_expires credential_last_changed
account_first_login account_last_login key values is_self_signed serial_number
signature_algorithm issuer validity_not_before validity_not_after subject_public_key_algorithm
subject_public_key_modulus subject_public_key_exponent x509_v3_extensions
""".split())
# Keys that alone say nothing to extract: an object with only these (a relationship, most
# SDOs without a name) is done after one set comparison.
_PLAIN_KEYS = _STIX_KEYS - {"pattern", "value", "number", "hashes", "extensions", "name", "description"}
#: value types by kind, looked up once per value
_TYPES: dict[str, ValueType] = {k: registry.get(k) for k in registry.kinds()}


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


# Mention(kind, value, path) without the Python-level __new__ of a named tuple
_mention = partial(tuple.__new__, Mention)


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
            t = _TYPES.get(kind)
            v = t.try_clean(raw) if t is not None else None
            if v is not None:
                m = _mention((kind, v, path))
                (self.mentions if t.matchable(v) else self.unmatchable).append(m)
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
    if _PLAIN_KEYS.issuperset(obj) and type(t) is str and not t.startswith("x-"):
        return out
    if t == "indicator" and obj.get("pattern_type", "stix") == "stix" and isinstance(obj.get("pattern"), str):
        _from_pattern(obj["pattern"], out)
    kinds = _SCO_VALUE.get(t)
    if kinds and "value" in obj:
        out.add(kinds, obj["value"], "value")
    elif t == "autonomous-system" and "number" in obj:
        out.add(("asn",), obj["number"], "number")
    hashes = obj.get("hashes")
    if isinstance(hashes, dict):
        _hashes(hashes, "hashes", out)
    if (t.startswith("x-") or "extensions" in obj
            or (not _STIX_KEYS.issuperset(obj) and any(k[:2] == "x_" for k in obj))):
        _named(obj, "", out, depth=0)
    text = obj.get("name")
    if isinstance(text, str):
        _text(text, "name", out)
    text = obj.get("description")
    if isinstance(text, str):
        _text(text, "description", out)
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
    otype = obj.get("type", "") if depth == 0 else None
    # at the top of a STIX-defined object only x_ properties and extensions can name values
    custom_only = type(otype) is str and not otype.startswith("x-")
    for key, value in obj.items():
        if custom_only and key != "extensions" and not key.startswith("x_"):
            continue
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
    if not text.isascii():
        # (case-insensitive matching relates some non-ASCII letters to i and s)
        for kind, rx in _TEXT_RES:
            _scan(kind, rx, text, prop, out)
        return
    # Each expression needs a literal ("IMO", "MMSI", "bc1", "0x"), a base58 Bitcoin
    # address's leading 1 or 3 in 26 or more characters, or for an IBAN two capitals and
    # two digits: most names and descriptions are passed over on substring tests and one
    # search instead of five scans.
    imo, mmsi, iban, btc, eth = _TEXT_RES
    low = text.lower()
    if "imo" in low:
        _scan(*imo, text, prop, out)
    if "mmsi" in low:
        _scan(*mmsi, text, prop, out)
    if _IBAN_HINT.search(text) is not None:
        _scan(*iban, text, prop, out)
    if "bc1" in text or (len(text) >= 26 and ("1" in text or "3" in text)):
        _scan(*btc, text, prop, out)
    if "0x" in text:
        _scan(*eth, text, prop, out)


def _scan(kind: str, rx: re.Pattern[str], text: str, prop: str, out: Extraction) -> None:
    for m in rx.finditer(text):
        t = _TYPES[kind]
        v = t.try_clean(m.group(1))
        if v is not None and t.matchable(v):
            out.mentions.append(_mention((kind, v, prop)))


# -- patterns ----------------------------------------------------------------------------

# The two commonest indicator patterns, one equality on an SCO's value or on a file hash,
# in exactly the spelling the parser accepts them (no escapes, plain spaces): their
# values are read off without parsing. Every other text takes the parser.
_SIMPLE_VALUE = re.compile(r"\[([a-z0-9-]+):value ?= ?'([^'\\]*)'\]")
_SIMPLE_HASH = re.compile(r"\[file:hashes\.('[A-Za-z0-9-]+'|[A-Za-z][A-Za-z0-9]*) ?= ?'([0-9a-fA-F]+)'\]")


def _simple_pattern(text: str, out: Extraction) -> bool:
    m = _SIMPLE_VALUE.fullmatch(text)
    if m is not None:
        kinds = _SCO_VALUE.get(m.group(1))
        if kinds is None:
            return False
        out.add(kinds, m.group(2), f"pattern:{m.group(1)}:value")
        return True
    m = _SIMPLE_HASH.fullmatch(text)
    if m is not None:
        algo = m.group(1).strip("'")
        kind = _HASH_KEYS.get(algo.lower())
        # a hash of the wrong length does not parse: the parser says why
        if kind is None or len(m.group(2)) != HASH_LENGTHS[kind]:
            return False
        out.add((kind,), m.group(2), f"pattern:file:hashes.{algo}")
        return True
    return False


def _from_pattern(text: str, out: Extraction) -> None:
    if not _simple_pattern(text, out):
        _from_parsed(text, out)


def _from_parsed(text: str, out: Extraction) -> None:
    try:
        pat = patterns.parse(text)
    except PatternError as e:
        out.unreduced.append(Unreduced("pattern", f"pattern does not parse: {e.message}"))
        return
    _walk(pat.root, out)


def _walk(node: patterns.Node, out: Extraction) -> None:
    # Pattern.comparisons() in the same (left to right) order, without its generators
    cls = node.__class__
    if cls is patterns.Comparison:
        _comparison(node, out)
    elif cls is patterns.Observation:
        _walk(node.expr, out)
    else:
        for operand in node.operands:
            _walk(operand, out)


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


# (object type, path) -> (where, kinds): a few dozen distinct paths cover nearly all
# patterns; bounded against a flood of made-up ones
_PATHS: dict[tuple[str, tuple[str | int, ...]], tuple[str, tuple[str, ...] | None]] = {}
_PATHS_MAX = 4096


def _comparison(c: patterns.Comparison, out: Extraction) -> None:
    key = (c.object_type, c.path)
    hit = _PATHS.get(key)
    if hit is None:
        if len(_PATHS) >= _PATHS_MAX:
            _PATHS.clear()
        hit = _PATHS[key] = (f"pattern:{c.object_type}:{'.'.join(map(str, c.path))}", _kinds_for(c))
    where, kinds = hit
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
