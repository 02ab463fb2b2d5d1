"""TLP 2.0 (FIRST) as STIX 2.1 marking definitions, and effective TLP of an object.

The five definitions are the ones OASIS published with the TLP 2.0 extension definition;
TLP 1.0 ids from the STIX 2.1 specification are recognised and mapped (WHITE -> CLEAR).
"""

from __future__ import annotations

from typing import Any

from ..exc import InvalidInput

TLP2_EXTENSION_ID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"
OASIS_IDENTITY = "identity--b3bca3c2-1f3d-4b54-b44f-dac42c3a8f01"

#: levels from least to most restrictive; the index is the rank used in SQL
LEVELS: tuple[str, ...] = ("clear", "green", "amber", "amber+strict", "red")
RANK: dict[str, int] = {level: i for i, level in enumerate(LEVELS)}

TLP2_IDS: dict[str, str] = {
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
TLP1_IDS: dict[str, str] = {
    "clear": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",  # TLP:WHITE
    "green": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
    "amber": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
    "red": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
}
LEVEL_OF_ID: dict[str, str] = {v: k for k, v in TLP1_IDS.items()} | {v: k for k, v in TLP2_IDS.items()}

#: FIRST TLP 2.0 colours (text on black background) for badges
COLOURS: dict[str, str] = {
    "clear": "#FFFFFF",
    "green": "#33FF00",
    "amber": "#FFC000",
    "amber+strict": "#FFC000",
    "red": "#FF2B2B",
}


def level(name: str) -> str:
    """Parse a user-given level ('TLP:AMBER+STRICT', 'amber', 'white') into a canonical level."""
    key = name.strip().lower().removeprefix("tlp:")
    if key == "white":
        key = "clear"
    if key not in RANK:
        raise InvalidInput(
            f"unknown TLP level {name!r}; expected one of {', '.join(l.upper() for l in LEVELS)}",
            property="tlp",
        )
    return key


def definition(lvl: str) -> dict[str, Any]:
    """The OASIS TLP 2.0 marking-definition object for a level."""
    return {
        "type": "marking-definition",
        "spec_version": "2.1",
        "id": TLP2_IDS[lvl],
        "created_by_ref": OASIS_IDENTITY,
        "created": "2022-10-01T00:00:00.000Z",
        "name": f"TLP:{lvl.upper()}",
        "extensions": {
            TLP2_EXTENSION_ID: {"extension_type": "property-extension", "tlp_2_0": lvl}
        },
    }


def builtin_definitions() -> list[dict[str, Any]]:
    return [definition(lvl) for lvl in LEVELS]


def object_level(obj: dict[str, Any], default: str) -> str:
    """Effective object-level TLP: the most restrictive TLP among object_marking_refs.

    Granular markings restrict single properties (handled on disclosure); they do not
    raise the object's level. Marking definitions themselves are always CLEAR: a
    recipient needs them to read anything else.
    """
    return marked_level(obj) or default


def marked_level(obj: dict[str, Any]) -> str | None:
    """:func:`object_level` without a default: None when the object carries no TLP."""
    if obj.get("type") == "marking-definition":
        return "clear"
    found = [LEVEL_OF_ID[m] for m in obj.get("object_marking_refs") or () if m in LEVEL_OF_ID]
    if not found:
        return None
    return max(found, key=RANK.__getitem__)


def allows(clearance: str, lvl: str) -> bool:
    """True when a recipient cleared up to ``clearance`` may receive ``lvl``."""
    return RANK[lvl] <= RANK[clearance]


def cleared(clearance: str) -> list[str]:
    """Every level a recipient cleared up to ``clearance`` may receive (for SQL ``IN``)."""
    return list(LEVELS[: RANK[clearance] + 1])
