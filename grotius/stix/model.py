"""Typed core of the declarative STIX 2.1 model (data in ``grotius/stix/schema/*.json``).

The JSON files list, per object type, its required, allowed and forbidden properties and
object-level rules; this module reads them once into frozen dataclasses. Like
followthemoney's schema YAML, the data is the single place to read what a type is; the
code in :mod:`grotius.stix.validate` only knows how to check each property *kind*.

Property type syntax (one string per property):

``string`` ``boolean`` ``any`` ``timestamp`` (RFC 3339, UTC ``Z``), ``timestamp-ms``
(same, at least millisecond precision), ``integer`` / ``integer[min,max]`` (either bound
may be empty), ``number[min,max]``, ``binary`` (base64), ``hex``, ``url``, ``lang``,
``hashes``, ``dict``, ``dict:<value type>``, ``identifier``, ``type-name``,
``property-name``, ``relationship-type``, ``selector``, ``ipv4``, ``ipv6``, ``mac``, ``hostname``, ``email``,
``extensions``, ``observable-map``,
``ref:<targets>`` (``|``-separated type names or groups ``@sdo`` ``@sco`` ``@sro`` ``@any``;
``@sdo``/``@sco`` also admit custom types), ``list:<type>`` (``list+:`` = non-empty),
``struct:<structure name>``, ``enum:<closed vocabulary>``, ``ov:<open vocabulary>``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).parent / "schema"
GROUP_FILES = ("sdo.json", "sro.json", "sco.json")

_RANGE_RE = re.compile(r"^(integer|number)\[(-?[0-9.]*),(-?[0-9.]*)\]$")


@dataclass(frozen=True, slots=True)
class PropType:
    """A parsed property type. ``kind`` is the leading word; the rest depends on it."""

    kind: str
    text: str
    item: PropType | None = None  # list item / dict value type
    min_items: int = 0  # lists: 1 for "list+"
    low: float | None = None  # integer/number bounds
    high: float | None = None
    name: str | None = None  # struct / vocabulary name
    targets: frozenset[str] = frozenset()  # ref: explicit type names
    target_groups: frozenset[str] = frozenset()  # ref: "@sdo", "@sco", ...


@dataclass(frozen=True, slots=True)
class Vocabulary:
    name: str
    closed: bool
    values: frozenset[str]


@dataclass(frozen=True, slots=True)
class TypeDef:
    """An object type or a nested structure (external-reference, mime-part, ...)."""

    name: str
    group: str  # "sdo", "sro", "sco", "meta" or "structure"
    required: tuple[str, ...]
    properties: dict[str, PropType]
    forbidden: frozenset[str] = frozenset()
    any_of: tuple[tuple[str, ...], ...] = ()
    one_of: tuple[tuple[str, ...], ...] = ()
    together: tuple[tuple[str, ...], ...] = ()
    requires: dict[str, tuple[str, ...]] = field(default_factory=dict)
    not_before: tuple[tuple[str, str], ...] = ()  # (later, earlier): later >= earlier
    after: tuple[tuple[str, str], ...] = ()  # (later, earlier): later > earlier
    required_if_true: dict[str, tuple[str, ...]] = field(default_factory=dict)
    forbidden_if_true: dict[str, tuple[str, ...]] = field(default_factory=dict)
    forbidden_if_false: dict[str, tuple[str, ...]] = field(default_factory=dict)
    any_property: bool = False
    own: frozenset[str] = frozenset()  # type-specific (non-common) property names
    extensions: dict[str, PropType] = field(default_factory=dict)  # predefined *-ext


@dataclass(frozen=True, slots=True)
class Model:
    types: dict[str, TypeDef]
    structures: dict[str, TypeDef]
    vocabularies: dict[str, Vocabulary]
    common: dict[str, TypeDef]  # per group, for custom object types
    reserved_types: frozenset[str]


def parse_type(text: str) -> PropType:
    """Parse one property type string (see the module docstring)."""
    if text.startswith("list+:") or text.startswith("list:"):
        head, _, rest = text.partition(":")
        return PropType("list", text, item=parse_type(rest), min_items=1 if head == "list+" else 0)
    if text.startswith("dict:"):
        return PropType("dict", text, item=parse_type(text[5:]))
    if text.startswith("ref:"):
        parts = text[4:].split("|")
        groups = frozenset(p for p in parts if p.startswith("@"))
        unknown = groups - {"@sdo", "@sco", "@sro", "@any"}
        if unknown:
            raise ValueError(f"unknown reference group {sorted(unknown)} in {text!r}")
        return PropType(
            "ref", text, targets=frozenset(p for p in parts if not p.startswith("@")), target_groups=groups
        )
    if text.startswith(("struct:", "enum:", "ov:")):
        kind, _, name = text.partition(":")
        return PropType(kind, text, name=name)
    m = _RANGE_RE.match(text)
    if m:
        low = float(m.group(2)) if m.group(2) else None
        high = float(m.group(3)) if m.group(3) else None
        return PropType(m.group(1), text, low=low, high=high)
    if text in _SIMPLE_KINDS:
        return PropType(text, text)
    raise ValueError(f"unknown property type {text!r}")


_SIMPLE_KINDS = frozenset(
    """string boolean any timestamp timestamp-ms integer number binary hex url lang hashes dict
    identifier type-name property-name relationship-type selector ipv4 ipv6 mac hostname email extensions
    observable-map""".split()
)


def _typedef(name: str, group: str, raw: dict[str, Any], common: TypeDef | None) -> TypeDef:
    own = {k: parse_type(v) for k, v in raw.get("properties", {}).items()}
    props = dict(common.properties) if common else {}
    props.update(own)
    required = tuple(dict.fromkeys((common.required if common else ()) + tuple(raw.get("required", ()))))
    forbidden = (common.forbidden if common else frozenset()) | frozenset(raw.get("forbidden", ()))
    forbidden -= frozenset(own)
    for p in required:
        if p not in props:
            raise ValueError(f"{name}: required property {p!r} has no type")
    return TypeDef(
        name=name,
        group=group,
        required=required,
        properties=props,
        forbidden=forbidden,
        any_of=tuple(tuple(x) for x in raw.get("any_of", ())),
        one_of=tuple(tuple(x) for x in raw.get("one_of", ())),
        together=tuple(tuple(x) for x in raw.get("together", ())),
        requires={k: tuple(v) for k, v in raw.get("requires", {}).items()},
        not_before=tuple((a, b) for a, b in raw.get("not_before", ())),
        after=tuple((a, b) for a, b in raw.get("after", ())),
        required_if_true={k: tuple(v) for k, v in raw.get("required_if_true", {}).items()},
        forbidden_if_true={k: tuple(v) for k, v in raw.get("forbidden_if_true", {}).items()},
        forbidden_if_false={k: tuple(v) for k, v in raw.get("forbidden_if_false", {}).items()},
        any_property=bool(raw.get("any_property", False)),
        own=frozenset(own),
        extensions={k: parse_type(v) for k, v in raw.get("extensions", {}).items()},
    )


@lru_cache(maxsize=1)
def load() -> Model:
    """Read the schema files once and cross-check their internal references."""
    meta = json.loads((SCHEMA_DIR / "meta.json").read_text(encoding="utf-8"))
    common = {g: _typedef(f"<{g}>", g, raw, None) for g, raw in meta["common"].items()}
    # SDO/SRO "modified" must not be earlier than "created"; meta objects that have both too
    types: dict[str, TypeDef] = {}
    structures: dict[str, TypeDef] = {}
    vocabularies: dict[str, Vocabulary] = {}

    def add_vocab(raw: dict[str, Any]) -> None:
        for name, v in raw.items():
            vocabularies[name] = Vocabulary(name, bool(v["closed"]), frozenset(v["values"]))

    for name, raw in meta["types"].items():
        types[name] = _typedef(name, raw["group"], raw, common[raw["group"]])
    for name, raw in meta["structures"].items():
        structures[name] = _typedef(name, "structure", raw, None)
    add_vocab(meta["vocabularies"])
    for fname in GROUP_FILES:
        data = json.loads((SCHEMA_DIR / fname).read_text(encoding="utf-8"))
        group = data["group"]
        for name, raw in data["types"].items():
            types[name] = _typedef(name, group, raw, common[group])
        for name, raw in data.get("structures", {}).items():
            structures[name] = _typedef(name, "structure", raw, None)
        add_vocab(data.get("vocabularies", {}))
    model = Model(types, structures, vocabularies, common, frozenset(meta["reserved_types"]))
    _cross_check(model)
    return model


def _cross_check(model: Model) -> None:
    def walk(t: PropType, where: str) -> None:
        if t.kind == "struct" and t.name not in model.structures:
            raise ValueError(f"{where}: unknown structure {t.name!r}")
        if t.kind in ("enum", "ov") and t.name not in model.vocabularies:
            raise ValueError(f"{where}: unknown vocabulary {t.name!r}")
        if t.kind == "ref":
            for target in t.targets:
                if target not in model.types:
                    raise ValueError(f"{where}: reference to unknown type {target!r}")
        if t.item is not None:
            walk(t.item, where)

    for defs in (model.types, model.structures, model.common):
        for name, td in defs.items():
            for prop, pt in td.properties.items():
                walk(pt, f"{name}.{prop}")
            for ext, pt in td.extensions.items():
                walk(pt, f"{name}.extensions.{ext}")
