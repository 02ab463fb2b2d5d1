"""Authorisation matrix: partners x TLP levels x communities x collections x endpoints.

Objects at every TLP level, made here or relayed from partners inside and outside the
node's community, some with granular markings, in a collection partners may read and in
one only some may. Every partner reads every endpoint over real HTTP; what it receives
is compared with the rules of docs/sharing.md, restated here independently of
grotius.sharing.policy. Every response that disclosed something has its audit entry
(same request id, exactly the versions sent, the partner's agreement).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from grotius import collections, users
from grotius.collections import collection_uuid
from grotius.ingest import ingest
from grotius.sharing import partners, policy
from grotius.stix.grading import GROTIUS_EXTENSION_ID
from grotius.store import objects as store_objects
from taxii_helpers import TAXII, TLP, indicator

LEVELS = ("clear", "green", "amber", "amber+strict", "red")
RANK = {lvl: i for i, lvl in enumerate(LEVELS)}
NODE_COMMUNITIES = {"nl-vitaal"}


@dataclass
class P:
    name: str
    tlp_max: str
    communities: set[str]
    read: list[str]
    write: list[str]
    password: str = ""


READERS = [
    P("clear-only", "clear", set(), ["shared"], []),
    P("green-in", "green", {"nl-vitaal"}, ["shared"], []),
    P("green-out", "green", {"elsewhere"}, ["shared"], []),
    P("amber-out", "amber", set(), ["shared", "restricted"], []),
    P("strict-in", "amber+strict", {"nl-vitaal", "other"}, ["shared"], []),
    P("red-in", "red", {"nl-vitaal"}, ["shared", "restricted"], []),
]
SOURCES = [
    P("src-in", "amber", {"nl-vitaal"}, ["shared"], ["shared"]),
    P("src-out", "amber", {"elsewhere"}, ["shared"], ["shared"]),
]
ALL = READERS + SOURCES


def allowed(p: P, level: str, source: str | None) -> bool:
    """docs/sharing.md, restated."""
    if level == "red":
        return False
    if source == p.name:
        return True
    in_community = bool(p.communities & NODE_COMMUNITIES)
    if source is None:
        if level == "clear":
            return True
        if level == "green":
            return in_community and RANK[p.tlp_max] >= RANK["green"]
        return RANK[p.tlp_max] >= RANK[level]
    if level == "clear":
        return True
    if level == "green":
        src = next(s for s in ALL if s.name == source)
        return bool(p.communities & NODE_COMMUNITIES & src.communities) and RANK[p.tlp_max] >= RANK["green"]
    return False


@pytest.fixture
def world(make_node: Any, live_server: Any) -> dict[str, Any]:
    node = make_node("NL-POL", communities=tuple(NODE_COMMUNITIES))
    collections.add(node.store, "shared", "Shared")
    collections.add(node.store, "restricted", "Restricted")
    for p in ALL:
        _, p.password = partners.add(node, p.name, read=p.read, write=p.write, tlp_max=p.tlp_max,
                                     communities=sorted(p.communities))
    users.add(node.store, "analyst", "correct horse battery", "analyst")
    base = live_server(node)

    expected: dict[str, tuple[str, str | None, str]] = {}  # id -> (level, source, collection)
    local = []
    for i, lvl in enumerate(LEVELS):
        o = indicator(i, tlp=lvl)
        local.append(o)
        expected[o["id"]] = (lvl, None, "shared")
    # a second version at a lower level: the versions endpoint must not show the first
    v1 = indicator(50, tlp="amber")
    v2 = dict(v1, modified="2026-03-01T00:00:00.000Z", object_marking_refs=[TLP["green"]])
    local += [v1, v2]
    expected[v1["id"]] = ("multi", None, "shared")
    # granular markings: a GREEN object whose description is AMBER and whose first
    # external reference is RED; a CLEAR object whose pattern (required) is AMBER
    g = indicator(60, tlp="green", description="from a covert source",
                  external_references=[{"source_name": "case", "external_id": "NL-2026-1"},
                                       {"source_name": "public", "url": "https://example.org/x"}],
                  granular_markings=[{"marking_ref": TLP["amber"], "selectors": ["description"]},
                                     {"marking_ref": TLP["red"], "selectors": ["external_references.[0]"]},
                                     {"marking_ref": TLP["clear"], "selectors": ["external_references.[1].url"]}])
    req = indicator(61, tlp="clear", granular_markings=[{"marking_ref": TLP["amber"], "selectors": ["pattern"]}])
    local += [g, req]
    expected[g["id"]] = ("granular", None, "shared")
    expected[req["id"]] = ("required", None, "shared")
    s = ingest(node, local, collection="shared", quiet=True)
    assert s.ok, s.errors
    restricted = [indicator(70 + i, tlp=lvl) for i, lvl in enumerate(LEVELS)]
    assert ingest(node, restricted, collection="restricted", quiet=True).ok
    for o, lvl in zip(restricted, LEVELS):
        expected[o["id"]] = (lvl, None, "restricted")
    # relayed: each source partner posts one object per level over TAXII
    for src in SOURCES:
        objs = [indicator(80 + i, tlp=lvl) for i, lvl in enumerate(LEVELS)]
        r = httpx.post(
            f"{base}/taxii2/api/collections/{collection_uuid('shared')}/objects/",
            json={"objects": objs}, auth=(src.name, src.password),
            headers={"Accept": TAXII, "Content-Type": TAXII},
        )
        assert r.status_code == 202 and r.json()["success_count"] == 5, r.text
        for o, lvl in zip(objs, LEVELS):
            expected[o["id"]] = (lvl, src.name, "shared")
    return {"node": node, "base": base, "expected": expected, "g": g, "v": (v1, v2)}


def _get(base: str, p: P, path: str, **params: Any) -> httpx.Response:
    return httpx.get(base + "/taxii2/api/" + path, params=params, auth=(p.name, p.password),
                     headers={"Accept": TAXII}, timeout=60)


def _visible(p: P, oid: str, world: dict[str, Any]) -> list[str]:
    """The versions (modified) of ``oid`` that ``p`` may receive, oldest first."""
    kind, source, _ = world["expected"][oid]
    v1, v2 = world["v"]
    if kind == "multi":
        return [v["modified"] for v, lvl in ((v1, "amber"), (v2, "green")) if allowed(p, lvl, None)]
    if kind == "granular":
        ok = allowed(p, "green", None)
    elif kind == "required":
        ok = allowed(p, "amber", None)  # the pattern cannot be removed: all or nothing
    else:
        ok = allowed(p, kind, source)
    return ["2026-01-01T00:00:00.000Z"] if ok else []


def _last(oid: str, world: dict[str, Any]) -> str:
    return world["v"][1]["modified"] if world["expected"][oid][0] == "multi" else "2026-01-01T00:00:00.000Z"


def _check_audit(world: dict[str, Any], p: P, r: httpx.Response, sent: list[tuple[str, str]]) -> None:
    rid = r.headers["X-Request-ID"]
    got = world["node"].store.query(
        "SELECT action, partner, agreement, objects FROM audit_log WHERE request_id = ?", (rid,)
    )
    if not sent:
        assert got == []
        return
    assert len(got) == 1, f"one audit entry per disclosing response ({p.name})"
    action, partner, agreement, objs = got[0]
    assert (action, partner, agreement) == ("disclose", p.name, f"agreement:{p.name}:v1")
    assert sorted(json.loads(objs)) == sorted([list(x) for x in sent])


def test_matrix(world: dict[str, Any]) -> None:
    for p in READERS + SOURCES:
        _check_partner(world, p)


def _check_partner(world: dict[str, Any], p: P) -> None:
    base = world["base"]
    # collections: exactly those the agreement names
    r = _get(base, p, "collections/")
    assert sorted(c["alias"] for c in r.json().get("collections", [])) == sorted(set(p.read) | set(p.write))
    for col in ("shared", "restricted"):
        cid = collection_uuid(col)
        ids = [oid for oid, (_, _, c) in world["expected"].items() if c == col]
        if col not in p.read:
            assert _get(base, p, f"collections/{cid}/objects/").status_code in (403, 404)
            assert _get(base, p, f"collections/{cid}/manifest/").status_code in (403, 404)
            continue
        want_all = {(oid, v) for oid in ids for v in _visible(p, oid, world)}
        want_last = {oid for oid in ids if _last(oid, world) in _visible(p, oid, world)}
        # objects, every version
        r = _get(base, p, f"collections/{cid}/objects/", **{"match[version]": "all"})
        assert r.status_code == 200
        objs = r.json().get("objects", [])
        got = {(o["id"], o["modified"]) for o in objs}
        assert got == want_all, f"{p.name} {col}: extra {got - want_all}, missing {want_all - got}"
        _check_audit(world, p, r, [(o["id"], store_objects.version_of(o)) for o in objs])
        # objects and manifest, latest versions (the default)
        r = _get(base, p, f"collections/{cid}/objects/")
        assert {o["id"] for o in r.json().get("objects", [])} == want_last
        r = _get(base, p, f"collections/{cid}/manifest/")
        manifest = r.json().get("objects", [])
        assert {m["id"] for m in manifest} == want_last
        _check_audit(world, p, r, [(m["id"], store_objects.norm_ts(m["version"])) for m in manifest])
        # object and versions endpoints, for every object (visible or not)
        for oid in ids:
            r = _get(base, p, f"collections/{cid}/objects/{oid}/")
            rv = _get(base, p, f"collections/{cid}/objects/{oid}/versions/")
            vis = _visible(p, oid, world)
            if not vis:
                assert r.status_code == 404, f"{p.name} must not learn of {oid}"
                assert rv.status_code == 404
                _check_audit(world, p, r, [])
                continue
            assert rv.status_code == 200 and rv.json()["versions"] == vis
            assert r.status_code == 200
            sent = r.json().get("objects", [])
            assert [o["modified"] for o in sent] == ([_last(oid, world)] if oid in want_last else [])
            _check_audit(world, p, r, [(o["id"], store_objects.version_of(o)) for o in sent])
        if col == "shared" and world["g"]["id"] in want_last:
            g = next(o for o in objs if o["id"] == world["g"]["id"])
            _check_granular(p, g)


def _check_granular(p: P, g: dict[str, Any]) -> None:
    amber_ok = allowed(p, "amber", None)
    notice = (g.get("extensions") or {}).get(GROTIUS_EXTENSION_ID, {}).get("redacted")
    assert ("description" in g) == amber_ok
    refs = g.get("external_references", [])
    # the RED reference never goes out; the public one stays, with its selector renumbered
    assert [r["source_name"] for r in refs] == ["public"]
    assert notice is not None
    assert "external_references.[0]" in notice["selectors"]
    assert ("description" in notice["selectors"]) == (not amber_ok)
    sels = [s for gm in g.get("granular_markings", []) for s in gm["selectors"]]
    assert "external_references.[0].url" in sels
    assert all(not s.startswith("description") or amber_ok for s in sels)


def test_node_users_channels_and_agreement_changes(world: dict[str, Any]) -> None:
    """Node users see everything but RED over TAXII, RED included in the UI; a partner's
    clearance is the same over sync as over TAXII; agreement changes apply at once."""
    base, node = world["base"], world["node"]
    r = httpx.get(f"{base}/taxii2/api/collections/{collection_uuid('shared')}/objects/",
                  params={"match[version]": "all"}, auth=("analyst", "correct horse battery"),
                  headers={"Accept": TAXII})
    got = {o["id"] for o in r.json()["objects"]}
    want = {oid for oid, (lvl, _, col) in world["expected"].items() if col == "shared" and lvl != "red"}
    assert got == want
    everything = list(store_objects.iter_objects(node.store))
    user = partners.user_principal(users.authenticate(node.store, "analyst", "correct horse battery"))
    ui = policy.disclose(node, user, everything, channel="ui")
    assert len(ui) == len(everything) and all(obj is st.obj for st, obj in ui)
    assert any(st.tlp == "red" for st, _ in ui)
    for p in READERS:
        principal = partners.principal_for(node, partners.get(node, p.name))
        via_sync = policy.disclose(node, principal, everything, channel="sync", audit=False)
        via_taxii = policy.disclose(node, principal, everything, channel="taxii", audit=False)
        assert [st.pk for st, _ in via_sync] == [st.pk for st, _ in via_taxii]
        assert all(st.tlp != "red" for st, _ in via_sync)
    # an unknown kind of principal or none gets nothing
    assert policy.disclose(node, None, everything) == []

    # credentials are cached, agreements are not: changes and suspensions apply at once
    p = next(x for x in READERS if x.name == "amber-out")
    assert _get(base, p, "collections/").status_code == 200
    partners.update(node, p.name, tlp_max="clear")
    r = _get(base, p, f"collections/{collection_uuid('shared')}/objects/")
    assert {o["id"] for o in r.json()["objects"]} == {
        oid for oid, (lvl, src, col) in world["expected"].items() if col == "shared" and lvl == "clear"
    }
    partners.update(node, p.name, disabled=True)
    assert _get(base, p, "collections/").status_code == 401


def test_redaction_unit() -> None:
    """Selectors into lists are renumbered; a required property withholds the object."""
    clr = policy.Clearance(who="x", kind="partner", local=frozenset({"clear", "green"}), own="x")
    o = indicator(1, tlp="green", kill_chain_phases=[
        {"kill_chain_name": "k", "phase_name": "a"}, {"kill_chain_name": "k", "phase_name": "b"},
        {"kill_chain_name": "k", "phase_name": "c"}],
        granular_markings=[{"marking_ref": TLP["amber"], "selectors": ["kill_chain_phases.[0]", "kill_chain_phases.[1].phase_name"]},
                           {"marking_ref": TLP["green"], "selectors": ["kill_chain_phases.[2].phase_name"]}])
    before = copy.deepcopy(o)
    out, removed = policy.redact(o, clr, None, "identity--00000000-0000-4000-8000-000000000000")
    assert o == before, "the stored object is never modified"
    assert out is not None and [k["phase_name"] for k in out["kill_chain_phases"]] == ["c"]
    assert out["granular_markings"] == [{"marking_ref": TLP["green"], "selectors": ["kill_chain_phases.[0].phase_name"]}]
    assert removed == ["kill_chain_phases.[0]", "kill_chain_phases.[1]"]
    # the only list element removed -> the list goes; a required property -> withheld
    o2 = indicator(2, granular_markings=[{"marking_ref": TLP["red"], "selectors": ["valid_from"]}])
    assert policy.redact(o2, clr, None, "identity--x")[0] is None
    # the object's own source gets its own content back
    assert policy.redact(o, clr, "x", "identity--x")[0] is o


def test_redacted_copy_of_a_signed_object(node: Any) -> None:
    """A redacted copy of an object this node signed is re-signed and verifies; a relayed
    signed object goes out unsigned, naming the removed signature, never with a broken one."""
    from grotius.sharing import signing

    collections.add(node.store, "shared", "Shared")
    p, _ = partners.add(node, "out", read=["shared"], tlp_max="green")
    own = signing.sign(
        indicator(1, tlp="clear", created_by_ref=node.identity_id, description="secret",
                  granular_markings=[{"marking_ref": TLP["amber"], "selectors": ["description"]}]),
        node.signing_key, node.identity_id,
    )
    assert ingest(node, [own], collection="shared", quiet=True).ok
    st = store_objects.get(node.store, own["id"])
    assert st is not None
    [(_, sent)] = policy.disclose(node, partners.principal_for(node, p), [st], audit=False)
    assert "description" not in sent
    ring = signing.keyring(node)
    assert signing.check(own, ring).status == "valid"
    assert signing.check(sent, ring).status == "valid"
    # a relay (another node) cannot re-sign: it drops the signature and says so
    other = dict(st.obj)
    relayed = store_objects.Stored(pk=st.pk, id=st.id, type=st.type, version=st.version,
                                   date_added=st.date_added, tlp="clear", source="someone",
                                   collection=None, obj={**other, "created_by_ref": "identity--" + "1" * 8 + "-1111-4111-8111-" + "1" * 12})
    [(_, relay_sent)] = policy.disclose(node, partners.principal_for(node, p), [relayed], audit=False)
    ext = relay_sent["extensions"][GROTIUS_EXTENSION_ID]
    assert "signature" not in ext and ext["redacted"]["signature_removed"]["signer"] == node.identity_id


def test_partner_accounts_only_work_over_taxii(world: dict[str, Any]) -> None:
    """The REST API and UI are for node users: partner credentials are refused there, so
    no partner read escapes the policy and the audit."""
    base = world["base"]
    p = next(x for x in READERS if x.name == "red-in")
    for path in ("/api/objects", "/api/export", "/api/me"):
        assert httpx.get(base + path, auth=(p.name, p.password)).status_code == 401
        assert httpx.get(base + path, headers={"Authorization": f"Bearer {p.password}"}).status_code == 401
    assert httpx.get(base + "/api/objects", auth=("analyst", "correct horse battery")).status_code == 200
    assert _get(base, p, "collections/").status_code == 200
