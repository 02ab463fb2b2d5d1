"""Validation of STIX 2.1 objects against the declarative model (grotius/stix/schema).

``check(obj, position)`` returns a list of :class:`InvalidInput` (empty = valid); every
error names the object's position, its id when known, the property path (e.g.
``external_references[2].url``) and what was expected. ``refs(obj)`` lists every embedded
reference, for dangling-reference checks at ingest.

Speed matters (ingest must pass 10,000 objects/s end to end), so each property type of the
model is compiled once into a small checking function; simple kinds are predicates
returning an error message or None, so valid data allocates nothing beyond bounded caches.
Each object type gets a table (:class:`_Table`) holding only what its checks need. Valid
timestamps and identifiers are remembered (bounded caches), identifiers and IPv6
addresses are checked without the costly general parser first, and simple STIX patterns
take a regex fast path (:mod:`grotius.stix.patterns`); each of these has a slow twin and a
differential test in tests/test_stix_validate_fast.py.
"""

from __future__ import annotations

import ipaddress
import math
import re
import socket
from calendar import monthrange
from typing import Any, Callable

from grotius.exc import InvalidInput, PatternError
from grotius.stix import patterns
from grotius.stix.model import Model, PropType, TypeDef, load

#: size limits for untrusted input (characters, items, nesting levels)
MAX_STRING = 1024 * 1024
MAX_LIST = 100_000
MAX_DEPTH = 64
#: stop collecting after this many errors in one object
MAX_ERRORS = 50

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-5][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}"
_ID_RE = re.compile(r"([a-z][a-z0-9-]+[a-z0-9])--" + _UUID)
_EXTDEF_RE = re.compile(r"extension-definition--" + _UUID)
_EXT_NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*-ext")
_TYPE_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_PROP_RE = re.compile(r"[a-z0-9_]{3,250}")
_TS_RE = re.compile(
    r"([0-9]{4})-(0[1-9]|1[012])-(0[1-9]|[12][0-9]|3[01])T(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)"
    r"(\.[0-9]+)?Z"
)
_LANG_RE = re.compile(r"[A-Za-z]{2,3}(?:-[A-Za-z0-9]{1,8})*")
_HOST_LABEL = r"(?!-)[^\s./\\@:]{1,63}(?<!-)"
_HOSTNAME_RE = re.compile(rf"(?=.{{1,253}}$){_HOST_LABEL}(?:\.{_HOST_LABEL})*\.?")
_BIN_RE = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{4}|[A-Za-z0-9+/]{3}=|[A-Za-z0-9+/]{2}==)")
_HEX_RE = re.compile(r"(?:[a-fA-F0-9]{2})+")
_URL_RE = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:[^\s]+")
_DICT_KEY_RE = re.compile(r"[a-zA-Z0-9_\-]{1,250}")
_HASH_KEY_RE = re.compile(r"[a-zA-Z0-9_\-]{3,250}")
_SELECTOR_RE = re.compile(r"[a-z0-9_\-]{3,249}(?:\.(?:\[[0-9]+\]|[a-z0-9_\-]{1,250}))*|id")
_RELTYPE_RE = re.compile(r"[a-z0-9\-]{1,250}")
_IPV4_RE = re.compile(
    r"(?:(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])"
    r"(?:/(?:3[0-2]|[12]?[0-9]))?"
)
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+")
_MAC_RE = re.compile(r"(?:[0-9a-f]{2}:){5}[0-9a-f]{2}")
_HASH_VALUE = {
    "MD5": re.compile(r"[a-fA-F0-9]{32}"),
    "SHA-1": re.compile(r"[a-fA-F0-9]{40}"),
    "SHA-256": re.compile(r"[a-fA-F0-9]{64}"),
    "SHA-512": re.compile(r"[a-fA-F0-9]{128}"),
    "SHA3-256": re.compile(r"[a-fA-F0-9]{64}"),
    "SHA3-512": re.compile(r"[a-fA-F0-9]{128}"),
    "SSDEEP": re.compile(r"[a-zA-Z0-9/+:.]{1,128}"),
    "TLSH": re.compile(r"[a-zA-Z0-9]{70}"),
}
#: references from SROs may not point at these (spec 5.1, 5.2)
_NOT_RELATABLE = frozenset(("relationship", "sighting", "marking-definition", "language-content", "bundle"))

Errors = list[tuple[str, str]]
Pred = Callable[[Any], "str | None"]
Checker = Callable[[Any, str, Errors], None]


def _tn(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "boolean"
    if isinstance(v, str):
        return f"string {_short(v)}"
    if isinstance(v, (int, float)):
        return f"number {v!r}"
    return {"dict": "object", "list": "list"}.get(type(v).__name__, type(v).__name__)


def _short(v: Any) -> str:
    r = repr(v)
    return r if len(r) <= 80 else r[:77] + "..."


def ts_key(value: str) -> str:
    """Sortable form of a valid STIX timestamp (fraction padded to 9 digits)."""
    head, _, frac = value[:-1].partition(".")
    return head + "." + frac.ljust(9, "0")


# ----------------------------------------------------------------- simple predicates


def _p_string(v: Any) -> str | None:
    return None if type(v) is str else f"expected a string, got {_tn(v)}"


def _p_boolean(v: Any) -> str | None:
    return None if type(v) is bool else f"expected true or false, got {_tn(v)}"


def _timestamp(v: Any, ms: bool) -> str | None:
    if type(v) is not str:
        return f"expected an RFC 3339 timestamp string, got {_tn(v)}"
    m = _TS_RE.fullmatch(v)
    if m is None:
        return f"expected an RFC 3339 UTC timestamp like 2024-05-01T12:00:00.000Z, got {_short(v)}"
    day = int(m.group(3))
    if day > 28 and day > monthrange(int(m.group(1)), int(m.group(2)))[1]:
        return f"{_short(v)} is not a calendar date"
    _remember_ts(v)
    if ms and (m.group(4) is None or len(m.group(4)) < 4):
        return f"expected a timestamp with at least millisecond precision (e.g. ...:00.000Z), got {_short(v)}"
    return None


# Recently seen valid timestamps and identifiers. An object repeats its timestamps
# (created, modified, valid_from) and a bundle repeats its references (creator, markings,
# relationship ends), and a dict lookup costs a fraction of the regex match. Only valid
# values are kept; the caches are cleared when full so memory stays bounded.
_CACHE_MAX = 1 << 16
#: valid timestamp -> whether it has at least millisecond precision
_TS_OK: dict[str, bool] = {}
#: valid identifier -> its type part
_ID_OK: dict[str, str] = {}


def _ts_valid(v: str) -> bool:
    """Same as ``_TS_RE.fullmatch(v) is not None`` for a string (cached when valid)."""
    return v in _TS_OK or _TS_RE.fullmatch(v) is not None


def _p_timestamp(v: Any) -> str | None:
    if type(v) is str:
        if v in _TS_OK:
            return None
        if v[8:10] <= "28" and _TS_RE.fullmatch(v):
            _remember_ts(v)
            return None
    return _timestamp(v, False)


def _p_timestamp_ms(v: Any) -> str | None:
    if type(v) is str:
        if _TS_OK.get(v):
            return None
        if v[8:10] <= "28" and v[19:20] == "." and len(v) >= 24 and _TS_RE.fullmatch(v):
            _remember_ts(v)
            return None
    return _timestamp(v, True)


def _remember_ts(v: str) -> None:
    """Cache ``v``, a valid timestamp (syntax and calendar date)."""
    if len(_TS_OK) >= _CACHE_MAX:
        _TS_OK.clear()
    _TS_OK[v] = v[19] == "." and len(v) >= 24


def _id_type(v: str) -> str | None:
    """The type part of identifier ``v``, or None when ``_ID_RE`` does not match."""
    t = _ID_OK.get(v)
    if t is None:
        t = _id_syntax(v)
        if t is None:
            return None
        if len(_ID_OK) >= _CACHE_MAX:
            _ID_OK.clear()
        _ID_OK[v] = t
    return t


_ID_TYPE_RE = re.compile(r"[a-z][a-z0-9-]+[a-z0-9]")
_UUID_TAIL_RE = re.compile("--" + _UUID)
#: type parts of identifiers already seen to match _ID_TYPE_RE (few distinct values)
_ID_TYPES_OK: set[str] = set()


def _id_syntax(v: str) -> str | None:
    """``_ID_RE.fullmatch(v).group(1)`` or None, without matching ``_ID_RE`` itself: its
    greedy type part runs to the end of the string and backtracks over the whole UUID.
    The UUID has a fixed length, so the split is unique: the tail is matched in place
    (``pos``), and the few distinct type parts are remembered."""
    n = len(v)
    if n < 41 or _UUID_TAIL_RE.fullmatch(v, n - 38) is None:
        return None
    t = v[: n - 38]
    if t not in _ID_TYPES_OK:
        if _ID_TYPE_RE.fullmatch(t) is None:
            return None
        if len(_ID_TYPES_OK) >= 4096:
            _ID_TYPES_OK.clear()
        _ID_TYPES_OK.add(t)
    return t


def _p_identifier(v: Any) -> str | None:
    if type(v) is not str:
        return f"expected an identifier type--UUID, got {_tn(v)}"
    if _id_type(v) is None:
        return f"expected an identifier type--UUID, got {_short(v)}"
    return None


def _regex_pred(rx: re.Pattern[str], what: str, memo: bool = False) -> Pred:
    """``memo``: remember valid values, for kinds with few distinct values (type names)."""
    seen: set[str] = set()

    def pred(v: Any) -> str | None:
        if type(v) is not str:
            return f"expected {what}, got {_tn(v)}"
        if v in seen:
            return None
        if rx.fullmatch(v) is None:
            return f"expected {what}, got {_short(v)}"
        if memo:
            if len(seen) >= 4096:
                seen.clear()
            seen.add(v)
        return None

    return pred


def _p_ipv6(v: Any) -> str | None:
    if type(v) is not str:
        return f"expected an IPv6 address, got {_tn(v)}"
    addr, _, prefix = v.partition("/")
    try:
        if not _ipv6_ok(addr):
            raise ValueError(addr)
        if prefix and not (prefix.isdigit() and 0 <= int(prefix) <= 128):  # int("²") raises
            raise ValueError(prefix)
    except ValueError:
        return f"expected an IPv6 address (optionally /prefix), got {_short(v)}"
    return None


def _ipv6_ok(addr: str) -> bool:
    """Whether ``ipaddress.IPv6Address`` accepts ``addr``. The C parser of the platform
    accepts a subset of it (no scope ids) at a tenth of the cost, so it is asked first;
    tests/test_stix_validate_fast.py checks the two agree."""
    try:
        socket.inet_pton(socket.AF_INET6, addr)
        return True
    except (OSError, ValueError):
        return _ipv6_ok_slow(addr)


def _ipv6_ok_slow(addr: str) -> bool:
    try:
        ipaddress.IPv6Address(addr)
    except ValueError:
        return False
    return True


def _num(x: float) -> str:
    return str(int(x)) if x.is_integer() else repr(x)


def _number_pred(pt: PropType) -> Pred:
    integer = pt.kind == "integer"
    low, high = pt.low, pt.high
    what = "an integer" if integer else "a number"
    if low is not None or high is not None:
        lo = "" if low is None else _num(low)
        hi = "" if high is None else _num(high)
        what += f" in [{lo}, {hi}]" if lo and hi else (f" >= {lo}" if lo else f" <= {hi}")

    def pred(v: Any) -> str | None:
        t = type(v)
        if t is int:
            pass
        elif t is float and (not integer or v.is_integer()) and math.isfinite(v):
            pass
        else:
            return f"expected {what}, got {_tn(v)}"
        if (low is not None and v < low) or (high is not None and v > high):
            return f"expected {what}, got {v!r}"
        return None

    return pred


_SIMPLE: dict[str, Pred] = {
    "string": _p_string,
    "boolean": _p_boolean,
    "timestamp": _p_timestamp,
    "timestamp-ms": _p_timestamp_ms,
    "binary": _regex_pred(_BIN_RE, "base64 data"),
    "hex": _regex_pred(_HEX_RE, "an even number of hex digits"),
    "url": _regex_pred(_URL_RE, "an absolute URL (RFC 3986, scheme:...)"),
    "lang": _regex_pred(_LANG_RE, "an RFC 5646 language tag like 'en' or 'de-AT'"),
    "identifier": _p_identifier,
    "type-name": _regex_pred(_TYPE_RE, "a type name of a-z, 0-9 and single hyphens", memo=True),
    "property-name": _regex_pred(_PROP_RE, "a property name of 3-250 characters a-z, 0-9, _"),
    "relationship-type": _regex_pred(_RELTYPE_RE, "a relationship type of a-z, 0-9 and hyphens", memo=True),
    "selector": _regex_pred(_SELECTOR_RE, "a selector like 'description' or 'external_references.[0].url'"),
    "ipv4": _regex_pred(_IPV4_RE, "an IPv4 address (optionally /prefix)"),
    "ipv6": _p_ipv6,
    "email": _regex_pred(_EMAIL_RE, "an email address (local@domain)"),
    "hostname": _regex_pred(_HOSTNAME_RE, "a domain name (dot-separated labels of 1-63 characters)"),
    "mac": _regex_pred(_MAC_RE, "a lowercase colon-separated MAC-48 address like 00:1a:2b:3c:4d:5e"),
    "any": lambda v: None,
    "ov": _p_string,
}


# ----------------------------------------------------------------- compiler


class Validator:
    """Compiled checkers for one :class:`Model` (built once, see :func:`validator`)."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self._preds: dict[PropType, Pred | None] = {}
        self._checkers: dict[PropType, Checker] = {}
        self._fields: dict[tuple[str, str], _Table] = {}
        self.known = frozenset(model.types)
        self.sdo_types = frozenset(k for k, t in model.types.items() if t.group == "sdo")
        self.sco_types = frozenset(k for k, t in model.types.items() if t.group == "sco")
        self.sro_types = frozenset(k for k, t in model.types.items() if t.group == "sro")
        self.meta_types = frozenset(k for k, t in model.types.items() if t.group == "meta")
        self._tables: dict[str, _Table] = {name: self.fields(td) for name, td in model.types.items()}

    # -- property types -> checkers

    def pred(self, pt: PropType) -> Pred | None:
        """A predicate for kinds that need no path below themselves, else None."""
        if pt in self._preds:
            return self._preds[pt]
        p: Pred | None
        if pt.kind in _SIMPLE:
            p = _SIMPLE[pt.kind]
        elif pt.kind in ("integer", "number"):
            p = _number_pred(pt)
        elif pt.kind == "enum":
            p = self._enum_pred(pt)
        elif pt.kind == "ref":
            p = self._ref_pred(pt)
        else:
            p = None
        self._preds[pt] = p
        return p

    def _enum_pred(self, pt: PropType) -> Pred:
        vocab = self.model.vocabularies[pt.name or ""]
        allowed = vocab.values
        listing = ", ".join(sorted(allowed))

        def pred(v: Any) -> str | None:
            if type(v) is str and v in allowed:
                return None
            return f"expected one of {listing} ({vocab.name} vocabulary), got {_tn(v)}"

        return pred

    def _ref_pred(self, pt: PropType) -> Pred:
        groups = pt.target_groups
        accepted = set(pt.targets)
        custom = False
        if "@any" in groups:
            return _p_identifier
        if "@sdo" in groups:
            accepted |= self.sdo_types
            custom = True
        if "@sco" in groups:
            accepted |= self.sco_types
            custom = True
        if "@sro" in groups:
            accepted |= self.sro_types
        accepted_f = frozenset(accepted)
        known = self.known
        names = [g.lstrip("@").upper() for g in sorted(groups)] + sorted(pt.targets)
        what = " or ".join(names) + (" (or a custom object type)" if custom else "")

        def pred(v: Any) -> str | None:
            if type(v) is not str:
                return f"expected an identifier of {what}, got {_tn(v)}"
            t = _id_type(v)
            if t is None:
                return f"expected an identifier type--UUID of {what}, got {_short(v)}"
            if t in accepted_f or (custom and t not in known and t not in _NOT_RELATABLE):
                return None
            return f"expected a reference to {what}, got a reference to {t}"

        return pred

    def checker(self, pt: PropType, owner: TypeDef | None = None) -> Checker:
        key = pt
        if pt.kind == "extensions" and owner is not None:
            return self._extensions_checker(owner)
        if key in self._checkers:
            return self._checkers[key]
        p = self.pred(pt)
        c: Checker
        if p is not None:
            pp = p

            def c(v: Any, path: str, errs: Errors) -> None:
                m = pp(v)
                if m is not None:
                    errs.append((path, m))

        elif pt.kind == "list":
            c = self._list_checker(pt)
        elif pt.kind == "dict":
            c = self._dict_checker(pt)
        elif pt.kind == "hashes":
            c = _check_hashes
        elif pt.kind == "struct":
            c = self._struct_checker(pt.name or "")
        elif pt.kind == "observable-map":
            c = self._observable_map
        elif pt.kind == "extensions":
            c = self._extensions_checker(None)
        else:  # pragma: no cover - model.parse_type rejects unknown kinds
            raise ValueError(pt.kind)
        self._checkers[key] = c
        return c

    def _list_checker(self, pt: PropType) -> Checker:
        assert pt.item is not None
        min_items = pt.min_items
        item_pred = self.pred(pt.item)
        item_check = None if item_pred is not None else self.checker(pt.item)

        def c(v: Any, path: str, errs: Errors) -> None:
            if type(v) is not list:
                errs.append((path, f"expected a list, got {_tn(v)}"))
                return
            if len(v) < min_items:
                errs.append((path, "expected a non-empty list (the specification forbids empty lists here)"))
                return
            if item_pred is _p_string:
                for i, item in enumerate(v):
                    if type(item) is not str:
                        errs.append((f"{path}[{i}]", _p_string(item) or ""))
            elif item_pred is not None:
                for i, item in enumerate(v):
                    m = item_pred(item)
                    if m is not None:
                        errs.append((f"{path}[{i}]", m))
            else:
                assert item_check is not None
                for i, item in enumerate(v):
                    item_check(item, f"{path}[{i}]", errs)

        return c

    def _dict_checker(self, pt: PropType) -> Checker:
        value_check = self.checker(pt.item) if pt.item is not None else None

        def c(v: Any, path: str, errs: Errors) -> None:
            if type(v) is not dict:
                errs.append((path, f"expected an object (dictionary), got {_tn(v)}"))
                return
            if not v:
                errs.append((path, "expected a non-empty dictionary"))
            for k, item in v.items():
                if _DICT_KEY_RE.fullmatch(k) is None:
                    errs.append((f"{path}.{k}", "dictionary keys must be 1-250 characters of a-z, A-Z, 0-9, _ or -"))
                if value_check is not None:
                    value_check(item, f"{path}.{k}", errs)

        return c

    def fields(self, td: TypeDef) -> _Table:
        """The compiled checking table of ``td`` (built on first use)."""
        key = (td.group, td.name)
        f = self._fields.get(key)
        if f is None:
            f = _Table(self, td)
            self._fields[key] = f
        return f

    def _struct_checker(self, name: str) -> Checker:
        td = self.model.structures[name]
        table: list[_Table] = []  # filled on first call: structures may nest themselves

        def c(v: Any, path: str, errs: Errors) -> None:
            if type(v) is not dict:
                errs.append((path, f"expected an object ({name}), got {_tn(v)}"))
                return
            if not table:
                table.append(self.fields(td))
            self.check_fields(v, table[0], path + ".", errs, custom_props=True)
            if name == "external-reference":
                _check_external_reference(v, path, errs)

        return c

    def _extensions_checker(self, owner: TypeDef | None) -> Checker:
        predefined = {k: self.checker(pt) for k, pt in (owner.extensions if owner else {}).items()}
        ext_enum = self._enum_pred(PropType("enum", "enum:extension-type", name="extension-type"))

        def c(v: Any, path: str, errs: Errors) -> None:
            if type(v) is not dict:
                errs.append((path, f"expected an object keyed by extension name, got {_tn(v)}"))
                return
            if not v:
                errs.append((path, "expected at least one extension"))
            for k, ext in v.items():
                p = f"{path}.{k}"
                if type(ext) is not dict:
                    errs.append((p, f"expected an object, got {_tn(ext)}"))
                    continue
                if _EXTDEF_RE.fullmatch(k):
                    if "extension_type" not in ext:
                        errs.append((p + ".extension_type", "missing required property"))
                    else:
                        m = ext_enum(ext["extension_type"])
                        if m:
                            errs.append((p + ".extension_type", m))
                    _check_custom_names(ext, p + ".", errs, skip=("extension_type",))
                elif k in predefined:
                    predefined[k](ext, p, errs)
                elif _EXT_NAME_RE.fullmatch(k):
                    if not ext:
                        errs.append((p, "expected a non-empty object"))
                    _check_custom_names(ext, p + ".", errs)
                else:
                    errs.append((p, "extension keys must be extension-definition--<UUID> or a predefined "
                                    "name ending in -ext"))

        return c

    # -- objects

    def check_fields(self, obj: dict[str, Any], table: _Table, prefix: str, errs: Errors, custom_props: bool) -> None:
        preds = table.preds
        checkers = table.checkers
        for k, v in obj.items():
            p = preds.get(k)
            if p is not None:
                if p is _p_string and type(v) is str:
                    continue  # the commonest case, without a call
                if v is None:
                    errs.append((prefix + k, _NULL))
                    continue
                m = p(v)
                if m is not None:
                    errs.append((prefix + k, m))
                continue
            if v is None:
                errs.append((prefix + str(k), _NULL))
                continue
            c = checkers.get(k)
            if c is not None:
                c(v, prefix + k, errs)
            elif k in table.forbidden:
                errs.append((prefix + k, f"property not allowed on {table.article}"))
            elif custom_props and (type(k) is not str or _PROP_RE.fullmatch(k) is None):
                errs.append((prefix + str(k), "custom property names must be 3-250 characters of a-z, 0-9 and _"))
        if not obj.keys() >= table.required_set:
            for k in table.required:
                if k not in obj:
                    errs.append((prefix + k, f"missing required property of {table.article}"))
        for rule in table.rules:
            rule(obj, prefix, errs)

    def _observable_map(self, v: Any, path: str, errs: Errors) -> None:
        if type(v) is not dict or not v:
            errs.append((path, f"expected a non-empty object of cyber-observables, got {_tn(v)}"))
            return
        for k, item in v.items():
            p = f"{path}.{k}"
            if type(item) is not dict:
                errs.append((p, f"expected a cyber-observable object, got {_tn(item)}"))
                continue
            t = item.get("type")
            td = self.model.types.get(t) if type(t) is str else None
            if td is not None and td.group != "sco":
                errs.append((p + ".type", f"expected a cyber-observable type, got {t}"))
                continue
            sub: Errors = []
            self.check_object(item, sub)
            errs.extend((f"{p}.{sp}", m) for sp, m in sub)

    def group_for(self, obj: dict[str, Any], t: str) -> tuple[TypeDef, bool]:
        """TypeDef for ``obj`` of type ``t`` and whether it is a custom type."""
        td = self.model.types.get(t)
        if td is not None:
            return td, False
        group = None
        ext = obj.get("extensions")
        if type(ext) is dict:
            for k, e in ext.items():
                if type(e) is dict and k.startswith("extension-definition--"):
                    et = e.get("extension_type")
                    if et in ("new-sdo", "new-sco", "new-sro"):
                        group = et[4:]
                        break
        if group is None:
            sdo_like = "created" in obj or "modified" in obj or "created_by_ref" in obj
            group = "sdo" if sdo_like else "sco"
        return self.model.common[group], True

    def check_object(self, obj: dict[str, Any], errs: Errors) -> None:
        t = obj.get("type")
        if type(t) is not str:
            errs.append(("type", "missing required property" if t is None else f"expected a string, got {_tn(t)}"))
            return
        table = self._tables.get(t)
        if table is None:
            # a custom type (predefined names are valid and never reserved)
            if len(t) < 3 or len(t) > 250 or _TYPE_RE.fullmatch(t) is None:
                errs.append(("type", f"expected a type name of 3-250 characters a-z, 0-9 and single hyphens, got {_short(t)}"))
                return
            if t in self.model.reserved_types:
                errs.append(("type", f"{t!r} is a reserved type name"))
                return
            td, _ = self.group_for(obj, t)
            table = self.fields(td)
            id_prefix = t + "--"
        else:
            id_prefix = table.id_prefix
        self.check_fields(obj, table, "", errs, custom_props=True)
        oid = obj.get("id")
        if type(oid) is str and not oid.startswith(id_prefix) and _id_type(oid) is not None:
            errs.append(("id", f"the id prefix must be the object's type {t!r}, got {_short(oid)}"))
        created = obj.get("created")
        if created is not None and created != obj.get("modified"):  # equal ones are in order
            _check_created_modified(obj, errs)
        special = _SPECIAL.get(t)
        if special is not None:
            special(self, obj, errs)
        gm = obj.get("granular_markings")
        if type(gm) is list:
            _check_selectors(obj, gm, errs)


_NULL = "null is not allowed as a value (leave the property out instead)"
Rule = Callable[[dict[str, Any], str, Errors], None]


class _Table:
    """What checking an object of one type needs, laid out for the hot loop: a predicate
    per simple property, a checker per nested one, and only the object-level rules the
    type has."""

    __slots__ = ("preds", "checkers", "forbidden", "required", "required_set", "rules", "article", "id_prefix")

    def __init__(self, v: Validator, td: TypeDef) -> None:
        self.preds: dict[str, Pred] = {}
        self.checkers: dict[str, Checker] = {}
        for name, pt in td.properties.items():
            pred = None if pt.kind == "extensions" else v.pred(pt)
            if name == "type" and td.group != "structure":
                # only check_object runs object tables, after it has checked the type
                # name (known, or the syntax of a custom one): all that is left is str
                pred = _p_string
            if pred is not None:
                self.preds[name] = pred
            else:
                self.checkers[name] = v.checker(pt, td)
        self.forbidden = td.forbidden
        self.required = td.required
        self.required_set = frozenset(td.required)
        self.article = _article(td)
        self.id_prefix = td.name + "--"
        self.rules: tuple[Rule, ...] = _rules(td, self.article)


def _rules(td: TypeDef, article: str) -> tuple[Rule, ...]:
    """The object-level rules of ``td`` as functions, in reporting order."""
    rules: list[Rule] = []
    where = _where
    if td.any_of:
        any_of = td.any_of
        opts = " or ".join("+".join(g) for g in any_of)

        def r_any_of(obj: dict[str, Any], prefix: str, errs: Errors) -> None:
            if not any(all(p in obj for p in group) for group in any_of):
                errs.append((where(prefix), f"{article} needs at least one of {opts}"))

        rules.append(r_any_of)
    if td.one_of:
        one_of = td.one_of
        one_opts = ", ".join("+".join(g) for g in one_of)

        def r_one_of(obj: dict[str, Any], prefix: str, errs: Errors) -> None:
            present = [g for g in one_of if all(p in obj for p in g)]
            if len(present) != 1:
                errs.append((where(prefix), f"{article} needs exactly one of {one_opts}, found {len(present)}"))

        rules.append(r_one_of)
    if td.together:
        together = td.together

        def r_together(obj: dict[str, Any], prefix: str, errs: Errors) -> None:
            for group in together:
                n = sum(p in obj for p in group)
                if 0 < n < len(group):
                    errs.append((prefix + group[0], f"{' and '.join(group)} must be given together"))

        rules.append(r_together)
    if td.requires:
        requires = tuple(td.requires.items())

        def r_requires(obj: dict[str, Any], prefix: str, errs: Errors) -> None:
            for k, needs in requires:
                if k in obj:
                    for n in needs:
                        if n not in obj:
                            errs.append((prefix + k, f"{k} requires {n} to be present"))

        rules.append(r_requires)
    if td.required_if_true:
        required_if_true = tuple(td.required_if_true.items())

        def r_required_if_true(obj: dict[str, Any], prefix: str, errs: Errors) -> None:
            for k, needs in required_if_true:
                if obj.get(k) is True:
                    for n in needs:
                        if n not in obj:
                            errs.append((prefix + n, f"missing: required when {k} is true"))

        rules.append(r_required_if_true)
    for flag, bad_map in ((True, td.forbidden_if_true), (False, td.forbidden_if_false)):
        if bad_map:
            rules.append(_forbidden_if(flag, tuple(bad_map.items())))
    if td.any_property:
        own = td.own

        def r_any_property(obj: dict[str, Any], prefix: str, errs: Errors) -> None:
            if not any(p in obj for p in own) and not obj.get("extensions"):
                errs.append((where(prefix), f"{article} needs at least one of its own properties"))

        rules.append(r_any_property)
    orderings = tuple((a, b, False) for a, b in td.not_before) + tuple((a, b, True) for a, b in td.after)
    if orderings:

        def r_orderings(obj: dict[str, Any], prefix: str, errs: Errors) -> None:
            for later, earlier, strict in orderings:
                a, b = obj.get(later), obj.get(earlier)
                if type(a) is str and type(b) is str and _ts_valid(a) and _ts_valid(b):
                    ka, kb = ts_key(a), ts_key(b)
                    if ka < kb or (strict and ka == kb):
                        rel = "later than" if strict else "the same as or later than"
                        errs.append((prefix + later, f"must be {rel} {earlier} ({b}), got {a}"))

        rules.append(r_orderings)
    return tuple(rules)


def _forbidden_if(flag: bool, bad_map: tuple[tuple[str, tuple[str, ...]], ...]) -> Rule:
    word = "true" if flag else "false"

    def rule(obj: dict[str, Any], prefix: str, errs: Errors) -> None:
        for k, bad in bad_map:
            if obj.get(k) is flag:
                for n in bad:
                    if n in obj:
                        errs.append((prefix + n, f"not allowed when {k} is {word}"))

    return rule


def _where(prefix: str) -> str:
    return prefix.rstrip(".") or "(object)"


def _article(td: TypeDef) -> str:
    if td.group == "structure":
        return td.name
    if td.name.startswith("<"):
        return {"sdo": "custom domain object", "sro": "custom relationship object",
                "sco": "custom cyber-observable object", "meta": "meta object"}[td.group]
    return td.name


def _check_created_modified(obj: dict[str, Any], errs: Errors) -> None:
    c, m = obj.get("created"), obj.get("modified")
    if type(c) is str and type(m) is str and c != m and _ts_valid(c) and _ts_valid(m):
        # valid timestamps of equal length have their fields at the same offsets
        if (m < c) if len(m) == len(c) else (ts_key(m) < ts_key(c)):
            errs.append(("modified", f"must be the same as or later than created ({c}), got {m}"))


def _check_custom_names(obj: dict[str, Any], prefix: str, errs: Errors, skip: tuple[str, ...] = ()) -> None:
    for k in obj:
        if k not in skip and (type(k) is not str or _PROP_RE.fullmatch(k) is None):
            errs.append((prefix + str(k), "custom property names must be 3-250 characters of a-z, 0-9 and _"))


def _check_hashes(v: Any, path: str, errs: Errors) -> None:
    if type(v) is not dict:
        errs.append((path, f"expected an object of hash algorithm -> value, got {_tn(v)}"))
        return
    if not v:
        errs.append((path, "expected at least one hash"))
    for k, h in v.items():
        p = f"{path}.{k}"
        rx = _HASH_VALUE.get(k)
        if rx is None and _HASH_KEY_RE.fullmatch(k) is None:
            errs.append((p, "hash algorithm names must be 3-250 characters of a-z, A-Z, 0-9, _ or -"))
        elif type(h) is not str:
            errs.append((p, f"expected the hash as a string, got {_tn(h)}"))
        elif rx is not None and rx.fullmatch(h) is None:
            errs.append((p, f"not a valid {k} value: {_short(h)}"))


_CVE_RE = re.compile(r"CVE-[0-9]{4}-(?:0[0-9]{3}|[1-9][0-9]{3,})")
_CAPEC_RE = re.compile(r"CAPEC-[0-9]+")


def _check_external_reference(v: dict[str, Any], path: str, errs: Errors) -> None:
    src = v.get("source_name")
    eid = v.get("external_id")
    if src == "cve" and (type(eid) is not str or not _CVE_RE.fullmatch(eid)):
        errs.append((path + ".external_id", f"a cve reference needs external_id like CVE-2024-12345, got {_tn(eid)}"))
    elif src == "capec" and (type(eid) is not str or not _CAPEC_RE.fullmatch(eid)):
        errs.append((path + ".external_id", f"a capec reference needs external_id like CAPEC-123, got {_tn(eid)}"))


def _check_selectors(obj: dict[str, Any], markings: list[Any], errs: Errors) -> None:
    for i, gm in enumerate(markings):
        if type(gm) is not dict:
            continue
        sels = gm.get("selectors")
        if type(sels) is not list:
            continue
        for j, sel in enumerate(sels):
            if type(sel) is not str or (_SELECTOR_RE.fullmatch(sel) is None and sel != "id"):
                continue  # syntax already reported
            if not _selector_resolves(obj, sel):
                errs.append((f"granular_markings[{i}].selectors[{j}]",
                             f"selector {sel!r} does not point at a property present in this object"))


def _selector_resolves(obj: Any, sel: str) -> bool:
    cur = obj
    for step in sel.split("."):
        if step.startswith("["):
            if type(cur) is not list:
                return False
            idx = int(step[1:-1])
            if idx >= len(cur):
                return False
            cur = cur[idx]
        else:
            if type(cur) is not dict or step not in cur:
                return False
            cur = cur[step]
    return True


# ----------------------------------------------------------------- per-type rules
# Rules the declarative files cannot express; keyed by type, kept small on purpose.


def _indicator(v: Validator, obj: dict[str, Any], errs: Errors) -> None:
    if obj.get("pattern_type") != "stix":
        return  # sigma, snort, yara, ...: opaque text, not parsed here
    pattern = obj.get("pattern")
    if type(pattern) is not str or len(pattern) > MAX_STRING:
        return
    try:
        parsed = patterns.parse(pattern)
    except PatternError as e:
        errs.append(("pattern", e.message + f" -- pattern: {_short(pattern)}"))
        return
    types = v.model.types
    for c in parsed.comparisons():
        t = c.object_type
        td = types.get(t)  # predefined type names are valid
        if td is None and (len(t) < 3 or len(t) > 250 or _TYPE_RE.fullmatch(t) is None):
            errs.append(("pattern", f"{t!r} is not a valid object type name (3-250 characters of a-z, 0-9, "
                                    "single hyphens)"))
            continue
        first = c.path[0]
        if type(first) is str and (td is None or first not in td.properties) and _PROP_RE.fullmatch(first) is None:
            errs.append(("pattern", f"{t}:{first} is not a valid property name (3-250 characters of a-z, 0-9, _)"))


def _marking_definition(v: Validator, obj: dict[str, Any], errs: Errors) -> None:
    if "extensions" not in obj:
        for k in ("definition_type", "definition"):
            if k not in obj:
                errs.append((k, "missing: a marking-definition without extensions needs definition_type and definition"))
    dt, d = obj.get("definition_type"), obj.get("definition")
    if type(d) is dict:
        if dt == "statement" and type(d.get("statement")) is not str:
            errs.append(("definition.statement", "a statement marking needs a statement string"))
        elif dt == "tlp" and d.get("tlp") not in ("white", "green", "amber", "red"):
            errs.append(("definition.tlp", f"expected white, green, amber or red, got {_tn(d.get('tlp'))}"))


def _no_self_marking(v: Validator, obj: dict[str, Any], errs: Errors) -> None:
    oid = obj.get("id")
    refs = obj.get("object_marking_refs")
    if type(refs) is list and oid in refs:
        errs.append(("object_marking_refs", "a marking-definition cannot mark itself"))
    gms = obj.get("granular_markings")
    if type(gms) is list:
        for i, gm in enumerate(gms):
            if type(gm) is dict and gm.get("marking_ref") == oid:
                errs.append((f"granular_markings[{i}].marking_ref", "a marking-definition cannot mark itself"))


#: SCOs whose id is a UUIDv5 of these properties; without any of them the id must be a UUIDv4
_ID_CONTRIBUTING = {
    "artifact": ("hashes", "payload_bin"),
    "email-message": ("from_ref", "subject", "body"),
    "user-account": ("account_type", "user_id", "account_login"),
    "windows-registry-key": ("key", "values"),
    "x509-certificate": ("hashes", "serial_number"),
    "process": (),
}


def _uuid4_when_no_contributing(v: Validator, obj: dict[str, Any], errs: Errors) -> None:
    oid = obj.get("id")
    if type(oid) is not str or _id_type(oid) is None:
        return
    t = obj["type"]
    if any(k in obj for k in _ID_CONTRIBUTING[t]):
        return
    if oid[-22] != "4":  # version nibble of the UUID
        why = "a process" if t == "process" else f"a {t} without ID contributing properties"
        errs.append(("id", f"{why} must have a UUIDv4 id, got {_short(oid)}"))


def _extension_definition(v: Validator, obj: dict[str, Any], errs: Errors) -> None:
    types = obj.get("extension_types")
    if "extension_properties" in obj and type(types) is list and "toplevel-property-extension" not in types:
        errs.append(("extension_properties", "only allowed when extension_types has toplevel-property-extension"))


def _relationship(v: Validator, obj: dict[str, Any], errs: Errors) -> None:
    for k in ("source_ref", "target_ref"):
        ref = obj.get(k)
        if type(ref) is str:
            t = ref.split("--", 1)[0]
            if t in v.meta_types:
                errs.append((k, f"relationships cannot point at a {t}"))


def _marking(v: Validator, obj: dict[str, Any], errs: Errors) -> None:
    _marking_definition(v, obj, errs)
    _no_self_marking(v, obj, errs)


_SPECIAL: dict[str, Callable[[Validator, dict[str, Any], Errors], None]] = {
    "indicator": _indicator,
    "marking-definition": _marking,
    **{t: _uuid4_when_no_contributing for t in _ID_CONTRIBUTING},
    "extension-definition": _extension_definition,
    "relationship": _relationship,
}


# ----------------------------------------------------------------- limits


def _limits_ok(value: Any, depth: int) -> bool:
    """Fast pass: True when no size, depth or encoding limit is hit (no paths built).
    ``str.isascii`` reads a flag of the string, so ASCII text costs no scan."""
    t = type(value)
    if t is dict:
        if depth >= MAX_DEPTH:
            return False
        try:
            keys_ascii = "".join(value).isascii()  # all keys at once
        except TypeError:  # a non-string key (Python callers)
            keys_ascii = False
        if not keys_ascii and not all(_str_ok(k) for k in value if type(k) is str):
            return False
        for v in value.values():
            tv = type(v)
            if tv is str:
                if (not v.isascii() or len(v) > MAX_STRING) and not _str_ok(v):
                    return False
            elif tv is list and len(v) <= 8 and depth + 1 < MAX_DEPTH:
                # short lists of short ASCII strings (references, labels) without a call
                for x in v:
                    if type(x) is not str or not x.isascii() or len(x) > MAX_STRING:
                        if not _limits_ok(v, depth + 1):
                            return False
                        break
            elif (tv is dict or tv is list) and not _limits_ok(v, depth + 1):
                return False
        return True
    if t is list:
        if depth >= MAX_DEPTH or len(value) > MAX_LIST:
            return False
        for v in value:
            tv = type(v)
            if tv is str:
                if (not v.isascii() or len(v) > MAX_STRING) and not _str_ok(v):
                    return False
            elif (tv is dict or tv is list) and not _limits_ok(v, depth + 1):
                return False
        return True
    if t is str:
        return _str_ok(value)
    return True


def _str_ok(v: str) -> bool:
    if len(v) > MAX_STRING:
        return False
    if v.isascii():
        return True
    try:
        v.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _limits(value: Any, path: str, depth: int, errs: Errors) -> None:
    """Slow pass run only when :func:`_limits_ok` failed: names every offending path."""
    t = type(value)
    if t is str:
        if len(value) > MAX_STRING:
            errs.append((path, f"string of {len(value)} characters is longer than the {MAX_STRING} limit"))
        elif not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as e:
                errs.append((path, f"string contains a lone surrogate at character {e.start} "
                                   "(input was not valid UTF-8)"))
    elif t is dict:
        if depth >= MAX_DEPTH:
            errs.append((path, f"nested deeper than {MAX_DEPTH} levels"))
            return
        for k, v in value.items():
            p = f"{path}.{k!s}" if path else str(k)
            if type(k) is str and not k.isascii():
                try:
                    k.encode("utf-8")
                except UnicodeEncodeError:
                    p = f"{path}.{k!a}" if path else ascii(k)
                    errs.append((p, "property name contains a lone surrogate (input was not valid UTF-8)"))
            if type(v) in (str, dict, list):
                _limits(v, p, depth + 1, errs)
    elif t is list:
        if depth >= MAX_DEPTH:
            errs.append((path, f"nested deeper than {MAX_DEPTH} levels"))
            return
        if len(value) > MAX_LIST:
            errs.append((path, f"list of {len(value)} items is longer than the {MAX_LIST} limit"))
            return
        for i, v in enumerate(value):
            if type(v) in (str, dict, list):
                _limits(v, f"{path}[{i}]", depth + 1, errs)


# ----------------------------------------------------------------- public API

_VALIDATOR: Validator | None = None


def validator() -> Validator:
    global _VALIDATOR
    if _VALIDATOR is None:
        _VALIDATOR = Validator(load())
    return _VALIDATOR


def check(obj: Any, position: int | None = None) -> list[InvalidInput]:
    """Validate one STIX 2.1 object; return its errors (empty list = valid)."""
    if type(obj) is not dict:
        where = "object" if position is None else f"object {position}"
        return [InvalidInput(f"{where}: expected a JSON object (a STIX object), got {_tn(obj)}", position=position)]
    errs: Errors = []
    if not _limits_ok(obj, 1):
        _limits(obj, "", 1, errs)
        # oversized or undecodable input: report that alone rather than checking
        # the structure of data that will be rejected anyway
    else:
        (_VALIDATOR or validator()).check_object(obj, errs)
        if not errs:
            return []
    oid = obj.get("id")
    object_id = oid if type(oid) is str and len(oid) <= 300 and oid.isascii() else None
    return _to_errors(errs, "object" if position is None else f"object {position}", position, object_id)


def _to_errors(errs: Errors, where: str, position: int | None, object_id: str | None) -> list[InvalidInput]:
    if object_id:
        where = f"{where} ({object_id})"
    out = []
    for path, msg in errs[:MAX_ERRORS]:
        out.append(InvalidInput(f"{where}: {path}: {msg}", position=position, object_id=object_id, property=path))
    if len(errs) > MAX_ERRORS:
        out.append(InvalidInput(f"{where}: {len(errs) - MAX_ERRORS} more errors not shown",
                                position=position, object_id=object_id))
    return out


_REF_SUFFIXES = ("_ref", "_refs")


def refs(obj: Any) -> list[tuple[str, str]]:
    """Every embedded reference as (property path, id): all ``*_ref`` / ``*_refs``
    properties at any depth (the specification requires reference properties, custom ones
    included, to be named that way). Values that are not identifiers are skipped."""
    out: list[tuple[str, str]] = []
    if type(obj) is dict:
        _collect_refs(obj, "", out, 0)
    return out


def _collect_refs(d: dict[str, Any], prefix: str, out: list[tuple[str, str]], depth: int) -> None:
    if depth > MAX_DEPTH:
        return
    for k, v in d.items():
        t = type(v)
        if type(k) is str and k.endswith(_REF_SUFFIXES):
            if t is str:
                if _id_type(v) is not None:
                    out.append((prefix + k, v))
                continue
            if t is list:
                for i, item in enumerate(v):
                    if type(item) is str and _id_type(item) is not None:
                        out.append((f"{prefix}{k}[{i}]", item))
                continue
        if t is dict:
            _collect_refs(v, f"{prefix}{k}.", out, depth + 1)
        elif t is list:
            for i, item in enumerate(v):
                if type(item) is dict:
                    _collect_refs(item, f"{prefix}{k}[{i}].", out, depth + 1)
