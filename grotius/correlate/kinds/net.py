"""Network values: IP addresses and ranges, domain names, URLs, e-mail addresses, MAC
addresses and AS numbers.

Canonical forms are chosen so that two spellings of the same thing compare equal as
strings: compressed lowercase IPv6, A-label (punycode) lowercase domains without a
trailing dot, and URLs per RFC 3986 section 6.2.2 plus scheme-based normalisation.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

import idna

# Defanged indicators ("hxxp://evil[.]example") are how CERT reports and partner mails
# usually carry them; refanging is part of cleaning, not a separate step users forget.
_DEFANG = (
    ("[.]", "."), ("(.)", "."), ("{.}", "."), ("[dot]", "."), ("(dot)", "."), ("[:]", ":"),
    ("[@]", "@"), ("[at]", "@"), ("(at)", "@"), ("[/]", "/"), ("[://]", "://"),
)
_HXXP = re.compile(r"^(?:hxxp|hXXp|h\*\*p|meow)(s?)(?=\[?:)", re.IGNORECASE)


def refang(value: str) -> str:
    if "[" in value or "(" in value or "{" in value:
        for a, b in _DEFANG:
            if a in value:
                value = value.replace(a, b)
    if value[:1] in "hHm":
        value = _HXXP.sub(r"http\1", value)
    return value


# ---------------------------------------------------------------- IP addresses
# Ranges that every organisation sees and that say nothing about an adversary. The RFC
# 5737 / 3849 documentation ranges stay matchable: they are what exercises and demos use.
_UNMATCHABLE_V4 = [ipaddress.IPv4Network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16",
    "172.16.0.0/12", "192.168.0.0/16", "224.0.0.0/4", "240.0.0.0/4",
)]
_UNMATCHABLE_V6 = [ipaddress.IPv6Network(n) for n in ("::/127", "fe80::/10", "fc00::/7", "ff00::/8")]
_V4_BAD_RANGES = [(int(n.network_address), int(n.broadcast_address)) for n in _UNMATCHABLE_V4]
_V6_BAD_RANGES = [(int(n.network_address), int(n.broadcast_address)) for n in _UNMATCHABLE_V6]
_V4_RE = re.compile(r"^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$")


def _strip_ip(value: str) -> str:
    value = refang(value.strip())
    if value.startswith("[") and value.endswith("]"):
        value = value[1:-1]
    return value


# Fast paths: the forms feeds nearly always use, recognised exactly (ASCII only, no
# surrounding space, already canonical or trivially made so). Anything else goes through
# the full cleaner; tests/test_correlate_extract_fastpaths.py holds the two to the same answers.
_OCTET = r"(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])"
_CLEAN_V4 = re.compile(rf"{_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET}")
_CLEAN_V4_NET = re.compile(rf"({_OCTET}\.{_OCTET}\.{_OCTET}\.{_OCTET})/(3[0-2]|[12]?[0-9])")


def fast_ipv4(value: str) -> str | None:
    """``value`` when it is a canonical dotted quad, else None (use :func:`clean_ipv4`)."""
    return value if _CLEAN_V4.fullmatch(value) else None


def clean_ipv4(value: str) -> str:
    v = _strip_ip(value)
    if v.endswith("/32"):
        v = v[:-3]
    if not _V4_RE.match(v):
        raise ValueError("not a dotted-quad IPv4 address")
    parts = v.split(".")
    for p in parts:
        # Leading zeros are octal to inet_aton and decimal to most people: refuse rather
        # than guess (the same choice Python's ipaddress makes).
        if len(p) > 1 and p[0] == "0":
            raise ValueError("IPv4 octet with a leading zero is ambiguous")
        if int(p) > 255:
            raise ValueError("IPv4 octet above 255")
    return v


# Plain hex-and-colon IPv6 text goes through the C library (inet_pton / inet_ntop, a
# microsecond instead of ipaddress's tens): its text form is RFC 5952 like ipaddress's,
# except that it writes IPv4-mapped and -compatible addresses dotted, which then take the
# full path. Checked once here so that a C library writing otherwise costs speed, not
# correctness.
_V6_PLAIN = re.compile(r"[0-9a-fA-F:]{2,39}")


def _ntop_agrees() -> bool:
    samples = ("2001:DB8:0:0:1:0:0:1", "0:0:1:0:0:0:1:0", "fe80::0001", "1:2:3:4:5:6:7::", "::")
    try:
        return all(socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, v))
                   == ipaddress.IPv6Address(v).compressed for v in samples)
    except (OSError, AttributeError, ValueError):
        return False


_NTOP_OK = _ntop_agrees()


def fast_ipv6(value: str) -> str | None:
    """The compressed form of a plain IPv6 address, else None (use :func:`clean_ipv6`)."""
    if not _NTOP_OK or not _V6_PLAIN.fullmatch(value):
        return None
    try:
        text = socket.inet_ntop(socket.AF_INET6, socket.inet_pton(socket.AF_INET6, value))
    except OSError:
        return None
    return text if "." not in text else None


def clean_ipv6(value: str) -> str:
    v = _strip_ip(value)
    if v.endswith("/128"):
        v = v[:-4]
    if "%" in v:
        raise ValueError("IPv6 zone identifiers are local to a host")
    try:
        addr = ipaddress.IPv6Address(v)
    except ValueError as e:
        raise ValueError(f"not an IPv6 address: {e}") from None
    # An IPv4-mapped address is that IPv4 address: correlate it as such.
    if addr.ipv4_mapped is not None:
        raise ValueError("IPv4-mapped IPv6 address: clean it as ipv4")
    return addr.compressed


_V4_NET_RE = re.compile(r"^(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})/(\d{1,2})$")


def _clean_net(value: str, version: int) -> str:
    v = _strip_ip(value)
    if "/" not in v:
        raise ValueError("a CIDR range needs a /prefix")
    m = _V4_NET_RE.match(v) if version == 4 else None
    if m and int(m.group(2)) <= 32:
        n = v4int(clean_ipv4(m.group(1)))
        host_bits = 32 - int(m.group(2))
        n = n >> host_bits << host_bits
        return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}/{int(m.group(2))}"
    try:
        # strict=False: "192.0.2.7/24" is how people write "the /24 around this host".
        net = ipaddress.ip_network(v, strict=False)
    except ValueError as e:
        raise ValueError(f"not a CIDR range: {e}") from None
    if net.version != version:
        raise ValueError(f"not an IPv{version} range")
    return net.compressed


def fast_ipv4_cidr(value: str) -> str | None:
    """The canonical range of a plain ``a.b.c.d/n``, else None (use :func:`clean_ipv4_cidr`)."""
    m = _CLEAN_V4_NET.fullmatch(value)
    if m is None:
        return None
    host_bits = 32 - int(m.group(2))
    n = v4int(m.group(1))
    if not n & ((1 << host_bits) - 1):
        return value  # already the network address, written canonically
    n = n >> host_bits << host_bits
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}/{32 - host_bits}"


def clean_ipv4_cidr(value: str) -> str:
    return _clean_net(value, 4)


def clean_ipv6_cidr(value: str) -> str:
    return _clean_net(value, 6)


def v4int(value: str) -> int:
    try:
        # inet_pton takes only canonical dotted quads (no leading zeros, octets to 255),
        # for which it agrees with the arithmetic below at a third of the cost
        return int.from_bytes(socket.inet_pton(socket.AF_INET, value), "big")
    except (OSError, TypeError, ValueError):
        pass
    a, b, c, d = value.split(".")
    return (int(a) << 24) | (int(b) << 16) | (int(c) << 8) | int(d)


def ip_range(value: str) -> tuple[int, int, int]:
    """(version, first, last) as integers for a clean address or range."""
    if ":" not in value:
        # IPv4 by hand: ipaddress objects cost microseconds each, and this runs per value
        addr, _, plen = value.partition("/")
        n = v4int(addr)
        if not plen:
            return 4, n, n
        host_bits = 32 - int(plen)
        lo = n >> host_bits << host_bits
        return 4, lo, lo | ((1 << host_bits) - 1)
    addr, slash, plen = value.partition("/")
    # plain IPv6 text through the C parser (as in matchable_ipv6); anything else, and a
    # range with host bits set, takes ipaddress, which also says what is wrong
    if _NTOP_OK and _V6_PLAIN.fullmatch(addr) and (not slash or (plen.isascii() and plen.isdigit() and int(plen) <= 128)):
        try:
            n = int.from_bytes(socket.inet_pton(socket.AF_INET6, addr), "big")
        except OSError:
            pass
        else:
            if not slash:
                return 6, n, n
            host = (1 << (128 - int(plen))) - 1
            if not n & host:
                return 6, n, n | host
    return ip_range_slow(value)


def ip_range_slow(value: str) -> tuple[int, int, int]:
    """:func:`ip_range` of an IPv6 value by ipaddress alone (the tests hold the two to the
    same answers)."""
    if "/" in value:
        net = ipaddress.ip_network(value)
        return net.version, int(net.network_address), int(net.broadcast_address)
    addr = ipaddress.ip_address(value)
    return addr.version, int(addr), int(addr)


def _outside(lo: int, hi: int, bad: list[tuple[int, int]]) -> bool:
    for b_lo, b_hi in bad:  # a loop, not any(genexpr): this runs once per address ingested
        if b_lo <= lo and hi <= b_hi:
            return False
    return True


# First octets that the unmatchable ranges cover whole, and those they cover in part: most
# addresses are judged on one set lookup
_V4_BAD_OCTETS = frozenset(o for o in range(256) if not _outside(o << 24, (o << 24) | 0xFFFFFF, _V4_BAD_RANGES))
_V4_PART_OCTETS = frozenset(
    o for o in range(256) if any(lo >> 24 <= o <= hi >> 24 for lo, hi in _V4_BAD_RANGES)) - _V4_BAD_OCTETS


def matchable_ipv4(v: str) -> bool:
    n = v4int(v)
    first = n >> 24
    if first in _V4_BAD_OCTETS:
        return False
    return first not in _V4_PART_OCTETS or _outside(n, n, _V4_BAD_RANGES)


def network_range(value: str) -> tuple[int, int, int]:
    """``ipaddress.ip_network(value)``'s version, first and last address as integers (and
    its ValueError), without ipaddress for canonical IPv4 ranges and plain IPv6 text."""
    if ":" in value or fast_ipv4_cidr(value) == value:
        return ip_range(value)
    net = ipaddress.ip_network(value)
    return net.version, int(net.network_address), int(net.broadcast_address)


def v6int(v: str) -> int:
    """``int(ipaddress.IPv6Address(v))``, through the C parser for plain text."""
    if _NTOP_OK and _V6_PLAIN.fullmatch(v):
        try:
            return int.from_bytes(socket.inet_pton(socket.AF_INET6, v), "big")
        except OSError:
            pass  # ipaddress says what is wrong
    return int(ipaddress.IPv6Address(v))


def matchable_ipv6(v: str) -> bool:
    n = v6int(v)
    return _outside(n, n, _V6_BAD_RANGES)


def matchable_ipv4_cidr(v: str) -> bool:
    # Anything wider than a /8 contains whole unrelated providers: it would match everything.
    _, lo, hi = ip_range(v)
    return int(v.rsplit("/", 1)[1]) >= 8 and _outside(lo, hi, _V4_BAD_RANGES)


def matchable_ipv6_cidr(v: str) -> bool:
    _, lo, hi = ip_range(v)
    return int(v.rsplit("/", 1)[1]) >= 16 and _outside(lo, hi, _V6_BAD_RANGES)


# ---------------------------------------------------------------- domain names
# Underscores are legal in DNS (SRV, DMARC, DKIM names) and appear in threat data.
_LABEL = r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?"
_DOMAIN_RE = re.compile(rf"^(?:{_LABEL}\.)*[a-z](?:[a-z0-9-]{{0,61}}[a-z0-9])?$")
_DOTS = str.maketrans({"\u3002": ".", "\uff0e": ".", "\uff61": "."})


_CLEAN_DOMAIN = re.compile(_DOMAIN_RE.pattern[1:-1])


def fast_domain(value: str) -> str | None:
    """``value`` when it is already a canonical (lower-case ASCII, no A-label) domain name,
    else None (use :func:`clean_domain`)."""
    if len(value) <= 253 and _CLEAN_DOMAIN.fullmatch(value) and "xn--" not in value:
        return value
    return None


def clean_domain(value: str) -> str:
    v = refang(value.strip()).rstrip(".")
    if v.startswith("*."):
        raise ValueError("wildcard names are patterns, not domain names")
    if not v:
        raise ValueError("empty domain name")
    low = v.lower()
    if not low.isascii():
        try:
            low = idna.encode(v.translate(_DOTS), uts46=True).decode("ascii")
        except idna.IDNAError as e:
            raise ValueError(f"not a valid internationalised domain name: {e}") from None
    if len(low) > 253:
        raise ValueError("domain name longer than 253 characters")
    if not _DOMAIN_RE.match(low):
        raise ValueError("not a domain name (letters, digits, hyphens; the last label starts with a letter)")
    if "xn--" in low:
        # A-labels must decode; a bogus one is a typo or an evasion, not a name.
        try:
            idna.decode(low)
        except idna.IDNAError as e:
            raise ValueError(f"invalid punycode label: {e}") from None
    return low


_SPECIAL_TLDS = frozenset({"localhost", "local", "localdomain", "internal", "lan", "home", "arpa", "invalid", "test"})


def matchable_domain(v: str) -> bool:
    # A bare TLD or an intranet name matches unrelated holdings everywhere.
    return "." in v and v.rsplit(".", 1)[1] not in _SPECIAL_TLDS


def reversed_labels(domain: str) -> str:
    """``www.example.com`` -> ``com.example.www.``: a held domain is then a key prefix of
    all its subdomains (trailing dot so that ``example.co`` is no prefix of ``example.com``)."""
    return ".".join(reversed(domain.split("."))) + "."


def parent_domains(domain: str) -> list[str]:
    """``a.b.example.com`` -> ``[b.example.com, example.com, com]``."""
    labels = domain.split(".")
    return [".".join(labels[i:]) for i in range(1, len(labels))]


# ---------------------------------------------------------------- URLs
_DEFAULT_PORTS = {"http": 80, "https": 443, "ftp": 21, "ws": 80, "wss": 443}
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
_PCT = re.compile(r"%([0-9A-Fa-f]{2})")
_SCHEME_RE = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*://")


def _pct(m: re.Match[str]) -> str:
    ch = chr(int(m.group(1), 16))
    return ch if ch in _UNRESERVED else "%" + m.group(1).upper()


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    out: list[str] = []
    for seg in path.split("/"):
        if seg == "..":
            if len(out) > 1:
                out.pop()
        elif seg != ".":
            out.append(seg)
    result = "/".join(out)
    if path.endswith(("/.", "/..")):
        result += "/"
    return result if result.startswith("/") else "/" + result


def clean_host(host: str) -> str:
    if host.startswith("["):
        return "[" + clean_ipv6(host[1:-1]) + "]"
    if _V4_RE.match(host):
        return clean_ipv4(host)
    return clean_domain(host)


# scheme://host/path[?query] in RFC 3986 characters without percent-escapes, port,
# user info or fragment: cleaning changes nothing once the host is a clean domain and the
# path has no dot segments
# (no parentheses: refanging rewrites "(.)" and "(at)")
_PLAIN_URL = re.compile(r"(?:https?|ftp)://([a-z0-9_.-]+)(/[A-Za-z0-9._~!$&'*+,;=:@/-]*)(?:\?[A-Za-z0-9._~!$&'*+,;=:@/?-]+)?")


def fast_url(value: str) -> str | None:
    """``value`` when it is already a canonical URL of the common shape, else None (use
    :func:`clean_url`)."""
    m = _PLAIN_URL.fullmatch(value)
    if m is None or "/." in m.group(2) or fast_domain(m.group(1)) is None:
        return None
    return value


def clean_url(value: str) -> str:
    v = refang(value.strip())
    if any(c in v for c in " \t\r\n"):
        raise ValueError("whitespace inside a URL")
    if not _SCHEME_RE.match(v):
        if v.startswith("//") or "@" in v.split("/", 1)[0] or "." not in v.split("/", 1)[0]:
            raise ValueError("a URL needs a scheme such as http://")
        # Feeds routinely drop the scheme ("evil.example/payload.exe").
        v = "http://" + v
    try:
        parts = urlsplit(v)
        port = parts.port
    except ValueError as e:
        raise ValueError(f"not a URL: {e}") from None
    scheme = parts.scheme.lower()
    netloc = parts.netloc
    userinfo = ""
    if "@" in netloc:
        userinfo, netloc = netloc.rsplit("@", 1)
        userinfo += "@"
    host = netloc
    if host.startswith("["):
        host = host[: host.index("]") + 1]
    elif ":" in host:
        host = host.rsplit(":", 1)[0]
    if not host:
        raise ValueError("a URL needs a host")
    host = clean_host(host)
    if port is not None and port != _DEFAULT_PORTS.get(scheme):
        host = f"{host}:{port}"
    path = _remove_dot_segments(_PCT.sub(_pct, parts.path)) or "/"
    query = "?" + _PCT.sub(_pct, parts.query) if parts.query else ""
    # The fragment never reaches the server: it says nothing about the resource.
    return f"{scheme}://{userinfo}{host}{path}{query}"


def url_host(url: str) -> tuple[str, str]:
    """(kind, host) of a clean URL: kind is ``domain``, ``ipv4`` or ``ipv6``."""
    rest = url.split("://", 1)[1]
    netloc = rest.split("/", 1)[0].rsplit("@", 1)[-1]
    if netloc.startswith("["):
        return "ipv6", netloc[1: netloc.index("]")]
    host = netloc.rsplit(":", 1)[0] if ":" in netloc else netloc
    return ("ipv4", host) if _V4_RE.match(host) else ("domain", host)


def matchable_url(v: str) -> bool:
    kind, host = url_host(v)
    if kind == "domain":
        return matchable_domain(host)
    return matchable_ipv4(host) if kind == "ipv4" else matchable_ipv6(host)


# ---------------------------------------------------------------- e-mail addresses
_LOCAL_RE = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$|^\"[^\"]{1,62}\"$")
_ANGLE_RE = re.compile(r"<([^<>]+)>\s*$")


_PLAIN_EMAIL = re.compile(r"([a-z0-9_+-]+(?:\.[a-z0-9_+-]+)*)@([a-z0-9_.-]+)")


def fast_email(value: str) -> str | None:
    """``value`` when it is already a canonical address of the common shape, else None
    (use :func:`clean_email`)."""
    m = _PLAIN_EMAIL.fullmatch(value)
    if m is None or len(m.group(1)) > 64 or "." not in m.group(2) or fast_domain(m.group(2)) is None:
        return None
    return value


def clean_email(value: str) -> str:
    v = refang(value.strip())
    m = _ANGLE_RE.search(v)  # "Jane Doe <jane@example.org>"
    if m:
        v = m.group(1).strip()
    if v[:7].lower() == "mailto:":
        v = v[7:].split("?", 1)[0]
    if "@" not in v:
        raise ValueError("an e-mail address needs an @")
    local, _, domain = v.rpartition("@")
    if not _LOCAL_RE.match(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise ValueError("invalid local part before the @")
    if domain.startswith("["):
        domain = clean_host(domain)
    else:
        domain = clean_domain(domain)
        if "." not in domain:
            raise ValueError("the domain after the @ needs a dot")
    # Local parts are case-sensitive by RFC 5321 and case-insensitive in every mail system
    # that matters; sub-addresses (+tag) and Gmail dots are kept: removing them would
    # merge mailboxes that a provider may treat as distinct.
    return f"{local.lower()}@{domain}"


def matchable_email(v: str) -> bool:
    local, domain = v.rsplit("@", 1)
    return matchable_domain(domain) if not domain.startswith("[") else True


# ---------------------------------------------------------------- MAC addresses
_HEX = frozenset("0123456789abcdef")


_CLEAN_MAC = re.compile(r"[0-9a-f]{2}(?::[0-9a-f]{2}){5}")


def fast_mac(value: str) -> str | None:
    return value if _CLEAN_MAC.fullmatch(value) else None


def clean_mac(value: str) -> str:
    v = value.strip().lower()
    for sep in (":", "-", ".", " "):
        v = v.replace(sep, "")
    if len(v) != 12 or not set(v) <= _HEX:
        raise ValueError("a MAC address has 12 hexadecimal digits")
    raw = value.strip()
    # Mixed groupings ("00:11-22...") are typos, not MAC notation.
    if len({c for c in raw if c in ":-. "}) > 1:
        raise ValueError("mixed separators in a MAC address")
    return ":".join(v[i: i + 2] for i in range(0, 12, 2))


def matchable_mac(v: str) -> bool:
    # All-zero, broadcast and multicast (group bit) addresses do not identify a device.
    return v not in ("00:00:00:00:00:00", "ff:ff:ff:ff:ff:ff") and not int(v[:2], 16) & 1


# ---------------------------------------------------------------- AS numbers
_ASN_RE = re.compile(r"^(?:as|asn)?\s*(\d+(?:\.\d+)?)$", re.IGNORECASE)


def fast_asn(value: str) -> str | None:
    """``AS<n>`` for plain ASCII digits in range, else None (use :func:`clean_asn`)."""
    if len(value) <= 10 and value.isdigit() and value.isascii():
        n = int(value)
        if n <= 4294967295:
            return f"AS{n}"
    return None


def clean_asn(value: str) -> str:
    m = _ASN_RE.match(value.strip())
    if not m:
        raise ValueError("an AS number looks like AS64496 or 64496")
    num = m.group(1)
    if "." in num:  # asdot notation (RFC 5396)
        hi, lo = (int(x) for x in num.split("."))
        if hi > 65535 or lo > 65535:
            raise ValueError("asdot halves must be at most 65535")
        n = hi * 65536 + lo
    else:
        n = int(num)
    if n > 4294967295:
        raise ValueError("AS number above 4294967295")
    return f"AS{n}"


def matchable_asn(v: str) -> bool:
    n = int(v[2:])
    # 0, AS_TRANS, private-use and last numbers: no single network behind them.
    return not (n == 0 or n == 23456 or 64512 <= n <= 65535 or n >= 4200000000)
