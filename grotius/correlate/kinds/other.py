"""File hashes, telephone numbers (E.164 via phonenumbers) and vessel identifiers (MMSI,
IMO)."""

from __future__ import annotations

import re
from typing import Callable

import phonenumbers

# ---------------------------------------------------------------- file hashes
_HEX_RE = re.compile(r"^[0-9a-f]+$")
HASH_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
# Hashes of the empty input: every tool emits them for zero-byte files, so they correlate
# everything with everything.
EMPTY_HASHES = frozenset({
    "d41d8cd98f00b204e9800998ecf8427e",
    "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
})


def hash_cleaner(kind: str) -> Callable[[str], str]:
    want = HASH_LENGTHS[kind]
    prefixes = (f"{kind}:", f"{kind}=", {"sha1": "sha-1:", "sha256": "sha-256:", "sha512": "sha-512:"}.get(kind, f"{kind}:"))

    def clean(value: str) -> str:
        v = value.strip().lower()
        for p in prefixes:
            if v.startswith(p):
                v = v[len(p):].strip()
        if v.startswith("0x"):
            v = v[2:]
        if len(v) != want:
            raise ValueError(f"a {kind.upper()} hash has {want} hexadecimal digits, not {len(v)}")
        if not _HEX_RE.match(v):
            raise ValueError(f"a {kind.upper()} hash has only hexadecimal digits")
        return v

    return clean


_ANY_HEX_RE = re.compile(r"[0-9a-fA-F]+")


def hash_fast(kind: str) -> Callable[[str], str | None]:
    """Fast path of :func:`hash_cleaner`: bare hex of the right length, lower-cased; None
    for anything else."""
    want = HASH_LENGTHS[kind]

    def fast(value: str) -> str | None:
        if len(value) == want and _ANY_HEX_RE.fullmatch(value):
            return value.lower()
        return None

    return fast


def matchable_hash(v: str) -> bool:
    # v.count(v[0]) == len(v): one repeated digit, without building a set of 64 characters
    return v not in EMPTY_HASHES and bool(v) and v.count(v[0]) != len(v)


# ---------------------------------------------------------------- phone numbers
def clean_phone(value: str, region: str | None = None) -> str:
    v = value.strip()
    if v.lower().startswith("tel:"):
        v = v[4:].split(";", 1)[0]
    digits = v.lstrip()
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not digits.startswith("+") and region is None:
        raise ValueError("a phone number without +country code needs a region (e.g. region='NL')")
    try:
        num = phonenumbers.parse(digits, region)
    except phonenumbers.NumberParseException as e:
        raise ValueError(f"not a phone number: {e}") from None
    if not phonenumbers.is_possible_number(num):
        raise ValueError("not a possible phone number for its country (wrong length)")
    # Extensions are dropped: they reach a desk behind the same line.
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def matchable_phone(v: str) -> bool:
    # Emergency and service short codes are not subscriber numbers.
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(v, None))
    except phonenumbers.NumberParseException:
        return False


# ---------------------------------------------------------------- vessels
_IMO_RE = re.compile(r"^(?:imo)?\s*[:.#-]?\s*(\d{7})$", re.IGNORECASE)
_MMSI_RE = re.compile(r"^(?:mmsi)?\s*[:.#-]?\s*(\d{9})$", re.IGNORECASE)


def imo_check_ok(digits: str) -> bool:
    return sum(int(d) * w for d, w in zip(digits[:6], range(7, 1, -1))) % 10 == int(digits[6])


def clean_imo(value: str) -> str:
    m = _IMO_RE.match(value.strip())
    if not m:
        raise ValueError("an IMO number is 7 digits, optionally after 'IMO'")
    digits = m.group(1)
    if not imo_check_ok(digits):
        raise ValueError("IMO check digit does not match")
    return digits


def matchable_imo(v: str) -> bool:
    return v != "0000000"


def clean_mmsi(value: str) -> str:
    m = _MMSI_RE.match(value.strip().replace(" ", ""))
    if not m:
        raise ValueError("an MMSI is 9 digits")
    return m.group(1)


# AIS transponders ship with placeholder MMSIs that thousands of vessels never change.
_JUNK_MMSI = frozenset({"000000000", "111111111", "123456789", "999999999", "987654321"})


def matchable_mmsi(v: str) -> bool:
    return v not in _JUNK_MMSI and len(set(v[3:])) > 1
