"""Compiled warninglists: CIDR and hostname semantics, attribute gating, and agreement
with pymispwarninglists' own search on the shipped MISP data."""

from __future__ import annotations

from typing import Any

import pytest

import grotius.correlate  # noqa: F401
from grotius.correlate import hook, leads, suppress, warninglists
from grotius.correlate.types import registry
from grotius.ingest import ingest

LISTS = [
    {"name": "resolvers", "type": "cidr", "version": 1, "description": "", "list": ["8.8.8.0/24", "1.1.1.1", "2001:4860::/32", "not-an-ip"],
     "matching_attributes": ["ip-src", "ip-dst", "domain|ip"]},
    {"name": "cloud", "type": "cidr", "version": 1, "description": "", "list": ["8.0.0.0/8"]},
    {"name": "big sites", "type": "hostname", "version": 1, "description": "", "list": ["google.com", ".example.org", "B\u00dcCHER.example"],
     "matching_attributes": ["hostname", "domain", "url"]},
    {"name": "exact names", "type": "string", "version": 1, "description": "", "list": ["login.example.net", "44D88612FEA8A8F36DE82E1278ABB02F"],
     "matching_attributes": ["domain", "md5"]},
    {"name": "mail providers", "type": "hostname", "version": 1, "description": "", "list": ["mail.example"],
     "matching_attributes": ["domain"]},
    {"name": "disposable", "type": "substring", "version": 1, "description": "", "list": [f"d{i}.example" for i in range(150)],
     "matching_attributes": ["email-src", "email-dst"]},
    {"name": "contacts", "type": "regex", "version": 1, "description": "", "list": ["/^(abuse|noc)\\@.*$/i"],
     "matching_attributes": ["email-src"]},
]


@pytest.fixture(scope="module")
def wl() -> warninglists.Warninglists:
    return warninglists.Warninglists(LISTS)


@pytest.mark.parametrize("kind,value,expected", [
    ("ipv4", "8.8.8.8", ["cloud", "resolvers"]),
    ("ipv4", "8.8.9.9", ["cloud"]),
    ("ipv4", "1.1.1.1", ["resolvers"]),
    ("ipv4", "1.1.1.2", []),
    ("ipv4", "9.0.0.0", []),
    ("ipv4", "7.255.255.255", []),
    ("ipv4-cidr", "8.8.8.0/25", ["cloud", "resolvers"]),
    ("ipv4-cidr", "8.8.0.0/16", ["cloud"]),  # only partly on the resolver list
    ("ipv6", "2001:4860:4860::8888", ["resolvers"]),
    ("ipv6", "2001:db8::1", []),
    ("domain", "google.com", ["big sites"]),
    ("domain", "www.google.com", ["big sites"]),
    ("domain", "notgoogle.com", []),
    ("domain", "a.b.example.org", ["big sites"]),
    ("domain", "xn--bcher-kva.example", ["big sites"]),
    ("url", "https://drive.google.com/file/1", ["big sites"]),
    ("url", "http://8.8.8.8/x", ["cloud", "resolvers"]),
    ("domain", "login.example.net", ["exact names"]),
    ("domain", "x.login.example.net", []),  # string lists are exact
    ("md5", "44d88612fea8a8f36de82e1278abb02f", ["exact names"]),
    ("email", "jane@mail.example", []),  # a provider's domain does not flag its addresses
    ("email", "jane@d7.example", ["disposable"]),
    ("email", "jane@x.d7.example", ["disposable"]),
    ("email", "ABUSE@x.example", ["contacts"]),
    ("email", "abuse@x.example", ["contacts"]),
    ("phone", "+31612345678", []),
])
def test_lookup_semantics(wl: warninglists.Warninglists, kind: str, value: str, expected: list[str]) -> None:
    assert wl.lookup(kind, registry.clean(kind, value)) == expected


@pytest.fixture(scope="module")
def misp() -> warninglists.Warninglists:
    if not suppress.misp_enabled():
        pytest.fail("GROTIUS_WARNINGLISTS is off in the environment of this test")
    return warninglists.misp(suppress.cache_dir())


@pytest.mark.slow
def test_agrees_with_pymispwarninglists_search(misp: warninglists.Warninglists) -> None:
    from pymispwarninglists import WarningLists

    theirs = WarningLists(slow_search=True)
    names = {n for n in theirs}
    for raw in ["8.8.8.8", "1.1.1.1", "9.9.9.9", "10.1.2.3", "www.google.com", "login.microsoftonline.com",
                "d41d8cd98f00b204e9800998ecf8427e", "tidewater-nowhere.example"]:
        kind, clean = registry.detect_clean(raw)  # type: ignore[misc]
        ours = set(misp.lookup(kind, clean))
        assert ours <= names
        # their search applies every list to every value; ours gates by matching_attributes,
        # so ours must be a subset of theirs, and flag exactly when theirs flags a list that
        # applies to the kind
        want = {w.name for w in theirs.search(raw)}
        applicable = {w.name for w in theirs.search(raw) if kind in next(i.kinds for i in misp.info if i.name == w.name)}
        assert ours == applicable, (raw, ours ^ applicable)
        assert ours <= want


@pytest.mark.slow
def test_public_resolver_raises_no_lead_but_check_shows_it(make_node: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROTIUS_WARNINGLISTS", raising=False)
    node = make_node()

    def ind(n: int, value: str) -> dict[str, Any]:
        return {"type": "indicator", "spec_version": "2.1", "id": f"indicator--00000000-0000-4000-8000-{n:012d}",
                "created": "2026-10-01T00:00:00.000Z", "modified": "2026-10-01T00:00:00.000Z",
                "pattern": f"[ipv4-addr:value = '{value}']", "pattern_type": "stix", "valid_from": "2026-10-01T00:00:00Z"}

    ingest(node, [ind(1, "8.8.8.8"), ind(2, "203.0.113.45")])
    ingest(node, [ind(3, "8.8.8.8"), ind(4, "203.0.113.45")], source="US-FED")
    # 8.8.8.8 is a public resolver; 203.0.113.0/24 is on the RFC 5735 list
    assert leads.inbox(node, status="all") == []
    out = hook.check(node, "8.8.8.8")
    assert "List of known IPv4 public DNS resolvers" in out["flags"]
    assert len(out["matches"]) == 2
    # the demo story uses documentation addresses: a node can switch that list off, and
    # the leads it held back appear
    suppress.set_list_enabled(node, "List of RFC 5735 CIDR blocks", False)
    r = hook.reevaluate(node)
    assert r["raised"] == 1
    [lead] = leads.inbox(node)
    assert lead["name"].startswith("203.0.113.45")


def test_the_setting_is_read_on_every_call(monkeypatch: pytest.MonkeyPatch) -> None:
    """misp_enabled reads os.environ's store directly; it follows every change made
    through os.environ exactly as os.environ.get would."""
    for raw, expected in [("off", False), ("OFF", False), ("0", False), ("no", False), ("on", True), ("", True), ("yes", True)]:
        monkeypatch.setenv("GROTIUS_WARNINGLISTS", raw)
        assert suppress.misp_enabled() is expected, raw
        assert (suppress.misp_names("ipv4", "8.8.8.8") is None) is not expected
    monkeypatch.delenv("GROTIUS_WARNINGLISTS")
    assert suppress.misp_enabled() is True
