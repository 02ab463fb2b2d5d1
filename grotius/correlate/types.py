"""The registry of value types: one place that knows how to clean, validate and judge the
matchability of every kind of value Grotius correlates or matches.

Stable API (other areas depend on it)::

    from grotius.correlate.types import registry
    registry.clean("iban", "nl91 abna 0417 1643 00")   # -> "NL91ABNA0417164300"
    registry.try_clean("phone", "06 1234", region="NL")  # -> None when invalid
    registry.validate("imo", "IMO 9074729")               # -> True
    registry.matchable("ipv4", "10.0.0.1")                # -> False (on a clean value)
    registry.detect("hxxp://evil[.]example/x")            # -> "url"
    registry.detect_clean("+31 6 1234 5678")              # -> ("phone", "+31612345678")
    registry.kinds()                                      # -> ["asn", "bic", ...]

``clean`` raises :class:`grotius.exc.InvalidInput` (``detail: kind, value, reason``);
cleaning is idempotent: ``clean(k, clean(k, v)) == clean(k, v)``. ``matchable`` says
whether a clean value is specific enough to correlate on (private addresses, the empty
file's hash, placeholder MMSIs are valid but not matchable).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from grotius.correlate.kinds import crypto, finance, net, other
from grotius.exc import InvalidInput


@dataclass(frozen=True, slots=True)
class ValueType:
    kind: str
    label: str
    #: cleaner(value) -> canonical string; raises ValueError(reason)
    cleaner: Callable[..., str]
    #: matchable(clean value) -> bool
    matchable: Callable[[str], bool]
    #: family used by the index for range / suffix matching: "ip", "domain", "url" or ""
    family: str = ""
    #: whether cleaner accepts a ``region=`` keyword (phone numbers)
    takes_region: bool = False
    #: fast(value) -> the clean value for the common plain spellings, None for anything
    #: else (then the cleaner decides); never disagrees with the cleaner
    fast: Callable[[str], str | None] | None = None

    def try_clean(self, value: str) -> str | None:
        """Clean value, or None when ``value`` is not valid (without a region)."""
        if self.fast is not None and type(value) is str:  # (a subclass comes back as it went in)
            v = self.fast(value)
            if v is not None:
                return v
        try:
            return self.cleaner(value, None) if self.takes_region else self.cleaner(value)
        except ValueError:
            return None


def _always(_: str) -> bool:
    return True


TYPES: tuple[ValueType, ...] = (
    ValueType("ipv4", "IPv4 address", net.clean_ipv4, net.matchable_ipv4, "ip", fast=net.fast_ipv4),
    ValueType("ipv6", "IPv6 address", net.clean_ipv6, net.matchable_ipv6, "ip", fast=net.fast_ipv6),
    ValueType("ipv4-cidr", "IPv4 range", net.clean_ipv4_cidr, net.matchable_ipv4_cidr, "ip", fast=net.fast_ipv4_cidr),
    ValueType("ipv6-cidr", "IPv6 range", net.clean_ipv6_cidr, net.matchable_ipv6_cidr, "ip"),
    ValueType("domain", "domain name", net.clean_domain, net.matchable_domain, "domain", fast=net.fast_domain),
    ValueType("url", "URL", net.clean_url, net.matchable_url, "url", fast=net.fast_url),
    ValueType("email", "e-mail address", net.clean_email, net.matchable_email, fast=net.fast_email),
    ValueType("md5", "MD5 hash", other.hash_cleaner("md5"), other.matchable_hash, fast=other.hash_fast("md5")),
    ValueType("sha1", "SHA-1 hash", other.hash_cleaner("sha1"), other.matchable_hash, fast=other.hash_fast("sha1")),
    ValueType("sha256", "SHA-256 hash", other.hash_cleaner("sha256"), other.matchable_hash, fast=other.hash_fast("sha256")),
    ValueType("sha512", "SHA-512 hash", other.hash_cleaner("sha512"), other.matchable_hash, fast=other.hash_fast("sha512")),
    ValueType("phone", "phone number", other.clean_phone, other.matchable_phone, takes_region=True),
    ValueType("iban", "IBAN", finance.clean_iban, _always),
    ValueType("bic", "BIC", finance.clean_bic, finance.matchable_bic),
    ValueType("btc", "Bitcoin address", crypto.clean_btc, _always),
    ValueType("eth", "Ethereum address", crypto.clean_eth, crypto.matchable_eth),
    ValueType("mac", "MAC address", net.clean_mac, net.matchable_mac, fast=net.fast_mac),
    ValueType("asn", "AS number", net.clean_asn, net.matchable_asn, fast=net.fast_asn),
    ValueType("mmsi", "MMSI", other.clean_mmsi, other.matchable_mmsi),
    ValueType("imo", "IMO number", other.clean_imo, other.matchable_imo),
)

# Detection looks at the shape of a raw line first, so that a cleaner runs only on the
# one or two kinds the line could be.
_HEX_ONLY = re.compile(r"^[0-9a-fA-F]+$")
_HASH_BY_LEN = {32: "md5", 40: "sha1", 64: "sha256", 128: "sha512"}
_IPV4ISH = re.compile(r"^\[?\d{1,3}(?:\[?\.\]?\d{1,3}){3}\]?(?:/\d{1,2})?$")
_MAC_RE = re.compile(r"^[0-9a-fA-F]{2}([:-])(?:[0-9a-fA-F]{2}\1){4}[0-9a-fA-F]{2}$|^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$")
_PHONEISH = re.compile(r"^(?:\+|00|tel:)[\d\s().\-/+]{6,24}$", re.IGNORECASE)
_ASN_RE = re.compile(r"^asn?\s?\d+(?:\.\d+)?$", re.IGNORECASE)
_IMO_RE = re.compile(r"^imo\s*[:.#-]?\s*\d{7}$", re.IGNORECASE)
_MMSI_PREFIXED = re.compile(r"^mmsi\s*[:.#-]?\s*\d{9}$", re.IGNORECASE)
_MMSI_BARE = re.compile(r"^[2-7]\d{8}$")
_IBANISH = re.compile(r"^(?:IBAN:?\s?)?[A-Za-z]{2}\d{2}(?:\s?[A-Za-z0-9]){11,30}$")
_BTC_B58 = re.compile(r"^[13mn2][1-9A-HJ-NP-Za-km-z]{24,34}$")
_BTC_BECH = re.compile(r"^(?:bc1|tb1|BC1|TB1)[0-9a-zA-Z]{8,87}$")
_BIC_RE = re.compile(r"^[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?$")
_SCHEME = re.compile(r"^(?:[a-zA-Z][a-zA-Z0-9+.-]*|hxxps?|hXXps?)(?:\[:\]|:)//")


class Registry:
    """Value types by kind. Instances are immutable after construction."""

    def __init__(self, types: tuple[ValueType, ...] = TYPES) -> None:
        self._types: dict[str, ValueType] = {t.kind: t for t in types}

    def kinds(self) -> list[str]:
        return sorted(self._types)

    def __contains__(self, kind: object) -> bool:
        return kind in self._types

    def get(self, kind: str) -> ValueType:
        try:
            return self._types[kind]
        except KeyError:
            raise InvalidInput(f"unknown value kind {kind!r}", kind=kind, known=self.kinds()) from None

    def clean(self, kind: str, value: str, *, region: str | None = None) -> str:
        """Canonical form of ``value`` as ``kind``; raises InvalidInput naming the reason."""
        t = self.get(kind)
        if not isinstance(value, str):
            raise InvalidInput(f"{t.label} must be text, not {type(value).__name__}", kind=kind)
        if t.fast is not None and region is None and type(value) is str:
            v = t.fast(value)
            if v is not None:
                return v
        try:
            if t.takes_region:
                return t.cleaner(value, region)
            return t.cleaner(value)
        except ValueError as e:
            raise InvalidInput(f"invalid {t.label} {value[:120]!r}: {e}", kind=kind, value=value[:200], reason=str(e)) from None

    def try_clean(self, kind: str, value: str, *, region: str | None = None) -> str | None:
        t = self._types.get(kind)
        if t is None or not isinstance(value, str):
            return None
        if region is None:
            return t.try_clean(value)
        try:
            return t.cleaner(value, region) if t.takes_region else t.cleaner(value)
        except ValueError:
            return None

    def validate(self, kind: str, value: str, *, region: str | None = None) -> bool:
        return self.try_clean(kind, value, region=region) is not None

    def matchable(self, kind: str, clean_value: str) -> bool:
        """Whether a *clean* value is specific enough to correlate on."""
        return self.get(kind).matchable(clean_value)

    def family(self, kind: str) -> str:
        return self.get(kind).family

    def detect(self, value: str) -> str | None:
        """The kind of a raw line (a value on its own), or None when it is none of ours."""
        found = self.detect_clean(value)
        return found[0] if found else None

    def detect_clean(self, value: str) -> tuple[str, str] | None:
        """(kind, clean value) of a raw line, or None. Ambiguous shapes resolve as follows:
        bare hex by length is a hash; ``0x`` + 40 hex is Ethereum; 7 digits are an IMO
        number only after ``IMO``; 9 digits starting 2-7 are an MMSI; a number is a phone
        number only with ``+`` or ``00``; a BIC must be written in capitals."""
        v = value.strip() if isinstance(value, str) else ""
        if not v or len(v) > 2048:
            return None
        for kind in self._candidates(v):
            c = self.try_clean(kind, v)
            if c is not None:
                return kind, c
        return None

    def _candidates(self, v: str) -> list[str]:
        if _HEX_ONLY.match(v):
            kind = _HASH_BY_LEN.get(len(v))
            if kind:
                return [kind]
            if len(v) == 9 and v.isdigit():
                return ["mmsi"] if _MMSI_BARE.match(v) else []
            if len(v) == 12:
                return ["mac"]
        if v[:2] in ("0x", "0X") and len(v) == 42:
            return ["eth"]
        if _IPV4ISH.match(v):
            return ["ipv4-cidr" if "/" in v else "ipv4"]
        if ":" in v and not _SCHEME.match(v) and "@" not in v:
            if _MAC_RE.match(v):
                return ["mac"]
            if v.lower().startswith("tel:"):
                return ["phone"]
            if v.lower().startswith("bitcoin:"):
                return ["btc"]
            if v.lower().startswith("ethereum:"):
                return ["eth"]
            if v.lower().startswith("mailto:"):
                return ["email"]
            if v[:4].lower() == "iban":
                return ["iban"]
            if v[:3].lower() in ("imo",):
                return ["imo"]
            if v[:4].lower() == "mmsi":
                return ["mmsi"]
            return ["ipv6-cidr" if "/" in v else "ipv6"]
        if _MAC_RE.match(v):
            return ["mac"]
        if _PHONEISH.match(v):
            return ["phone"]
        if _SCHEME.match(v):
            return ["url"]
        if "@" in v:
            return ["email"]
        if _ASN_RE.match(v):
            return ["asn"]
        if _IMO_RE.match(v):
            return ["imo"]
        if _MMSI_PREFIXED.match(v):
            return ["mmsi"]
        if _IBANISH.match(v):
            return ["iban"]
        if _BTC_BECH.match(v):
            return ["btc"]
        kinds = []
        if _BTC_B58.match(v):
            kinds.append("btc")
        if _BIC_RE.match(v):
            kinds.append("bic")
        if "." in v or "[.]" in v:
            kinds.append("url" if "/" in v else "domain")
        return kinds


registry = Registry()
clean = registry.clean
try_clean = registry.try_clean
detect = registry.detect
