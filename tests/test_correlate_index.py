"""The correlation index's own arithmetic, against the standard library."""

from __future__ import annotations

import ipaddress
import random
from collections import defaultdict

from grotius.correlate import index


def test_enclosing_networks_of_addresses_match_ipaddress():
    # every held prefix length, random addresses and ranges: the integer shortcut for
    # IPv4 must name exactly the networks ipaddress names
    rnd = random.Random(7)
    plens = {"ipv4-cidr": list(range(33)), "ipv6-cidr": [0, 16, 48, 64, 127, 128]}
    for _ in range(5000):
        v4 = ipaddress.IPv4Address(rnd.getrandbits(32)).compressed
        v6 = ipaddress.IPv6Address(rnd.getrandbits(128)).compressed
        for kind, addr, width in (("ipv4", v4, 32), ("ipv6", v6, 128)):
            own = rnd.choice([None, rnd.randint(0, width)])
            value = addr if own is None else ipaddress.ip_network(f"{addr}/{own}", strict=False).compressed
            k = kind if own is None else f"{kind}-cidr"
            got: dict = defaultdict(list)
            index._enclosing(None, k, value, plens, got, "in-range")  # type: ignore[arg-type]
            limit = width if own is None else own
            want = {
                (f"{kind}-cidr", ipaddress.ip_network(f"{value.split('/')[0]}/{p}", strict=False).compressed)
                for p in plens[f"{kind}-cidr"] if p < limit or (p == limit and own is None)
            }
            assert set(got) == want, value
