"""The OASIS taxii2-client against a live `grotius serve` over real HTTP on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any, Iterator

import httpx
import pytest
import requests
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from grotius import collections, users
from grotius.sharing import audit, partners
from taxii_helpers import TAXII, ServeProcess, indicator, sid

pytestmark = pytest.mark.slow


@pytest.fixture
def served(make_node: Any) -> Iterator[dict[str, Any]]:
    node = make_node("NL-POL", communities=("nl-vitaal",))
    collections.add(node.store, "holdings", "Shared holdings")
    collections.add(node.store, "private", "Not for partners")
    _, password = partners.add(node, "US-FED", read=["holdings"], write=["holdings"],
                               tlp_max="amber", communities=["nl-vitaal"])
    users.add(node.store, "analyst", "correct horse battery", "analyst")
    srv = ServeProcess(node.home)
    base = srv.start()
    try:
        yield {"node": node, "base": base, "password": password}
    finally:
        srv.stop()


def _collection(s: dict[str, Any]) -> Collection:
    server = Server(s["base"] + "/taxii2/", user="US-FED", password=s["password"])
    return server.default.collections[0]


def _check_discovery(served: dict[str, Any]) -> None:
    server = Server(served["base"] + "/taxii2/", user="US-FED", password=served["password"])
    assert server.title == "Grotius node NL-POL"
    assert [r.url for r in server.api_roots] == [served["base"] + "/taxii2/api/"]
    root: ApiRoot = server.default
    assert root.versions == [TAXII]
    assert root.max_content_length > 0
    # the partner sees only what its agreement names; a node user sees every collection
    assert [(c.alias, c.can_read, c.can_write) for c in root.collections] == [("holdings", True, True)]
    mine = Server(served["base"] + "/taxii2/", user="analyst", password="correct horse battery")
    assert sorted(c.alias for c in mine.default.collections) == ["holdings", "private"]


def test_add_get_filter_page_manifest_versions_delete(served: dict[str, Any]) -> None:
    col = _collection(served)
    base_objs = [indicator(i) for i in range(25)]
    twice = base_objs[0]["id"]
    v2 = indicator(0, oid=twice, modified="2026-02-01T00:00:00.000Z", name="C2 address 0, revised")
    bad = [
        {"type": "indicator", "id": sid("indicator")},  # missing required properties
        {"type": "indicator", "spec_version": "2.1", "id": "indicator--not-a-uuid",
         "created": "2026-01-01T00:00:00Z", "modified": "2026-01-01T00:00:00Z",
         "pattern": "[x", "pattern_type": "stix", "valid_from": "2026-01-01T00:00:00Z"},
    ]
    status = col.add_objects({"objects": [*base_objs, v2, *bad]})
    assert status.status == "complete"
    assert status.total_count == 28
    assert status.success_count == 26
    assert status.failure_count == 2 and status.pending_count == 0
    assert all(f["message"] for f in status.failures)
    assert {f["id"] for f in status.failures} >= {"indicator--not-a-uuid"}
    status.refresh()  # GET /status/{id}
    assert status.success_count == 26

    # posting the same objects again: idempotent, reported as successes
    again = col.add_objects({"objects": base_objs[:3]})
    assert again.success_count == 3
    assert all("unchanged" in s["message"] for s in again.successes)

    ids = {o["id"] for o in base_objs}
    every = col.get_objects(version="all")["objects"]
    assert len(every) == 26 and {o["id"] for o in every} == ids
    latest = col.get_objects()["objects"]
    assert len(latest) == 25
    assert next(o for o in latest if o["id"] == twice)["modified"] == "2026-02-01T00:00:00.000Z"
    first = col.get_objects(id=twice, version="first")["objects"]
    assert [o["modified"] for o in first] == ["2026-01-01T00:00:00.000Z"]
    at = col.get_objects(id=twice, version="2026-02-01T00:00:00.000Z")["objects"]
    assert [o["name"] for o in at] == ["C2 address 0, revised"]
    assert col.get_objects(type="malware").get("objects", []) == []
    assert len(col.get_objects(type="indicator", version="all")["objects"]) == 26
    assert len(col.get_objects(spec_version="2.1")["objects"]) == 25
    assert col.get_objects(spec_version="2.0").get("objects", []) == []
    two = [o["id"] for o in base_objs[3:5]]
    assert sorted(o["id"] for o in col.get_objects(id=two)["objects"]) == sorted(two)

    # added_after with the X-TAXII-Date-Added-Last header of a page picks up exactly after it
    r = requests.get(col.objects_url, params={"limit": 10}, auth=("US-FED", served["password"]),
                     headers={"Accept": TAXII})
    assert r.status_code == 200 and len(r.json()["objects"]) == 10 and r.json()["more"] is True
    last = r.headers["X-TAXII-Date-Added-Last"]
    rest = col.get_objects(added_after=last)["objects"]
    assert len(rest) == 15
    assert not {o["id"] for o in rest} & {o["id"] for o in r.json()["objects"]}

    # paging with as_pages: every version once, in date_added order
    seen: list[str] = []
    pages = 0
    for env in as_pages(col.get_objects, per_request=7, version="all"):
        pages += 1
        seen += [f"{o['id']}@{o['modified']}" for o in env.get("objects", [])]
    assert pages == 4 and len(seen) == 26 and len(set(seen)) == 26
    manifest: list[dict[str, Any]] = []
    for env in as_pages(col.get_manifest, per_request=10):
        manifest += env.get("objects", [])
    assert len(manifest) == 25
    assert {m["id"] for m in manifest} == ids
    assert all(m["media_type"] == "application/stix+json;version=2.1" for m in manifest)

    one = col.get_object(twice)["objects"]
    assert [o["modified"] for o in one] == ["2026-02-01T00:00:00.000Z"]
    assert col.object_versions(twice)["versions"] == ["2026-01-01T00:00:00.000Z", "2026-02-01T00:00:00.000Z"]

    col.delete_object(twice, version="2026-01-01T00:00:00.000Z")
    assert col.object_versions(twice)["versions"] == ["2026-02-01T00:00:00.000Z"]
    col.delete_object(twice)
    with pytest.raises(requests.HTTPError) as e:
        col.get_object(twice)
    assert e.value.response.status_code == 404
    assert e.value.response.json()["http_status"] == "404"
    assert len(col.get_objects()["objects"]) == 24

    # every disclosure is in the audit log, under the partner's agreement
    node = served["node"]
    disclosed = audit.entries(node.store, partner="US-FED", action="disclose", limit=1000)
    assert disclosed and all(e.agreement == "agreement:US-FED:v1" for e in disclosed)
    assert audit.entries(node.store, action="taxii.delete", limit=10)


def test_discovery_media_types_auth_and_errors(served: dict[str, Any]) -> None:
    _check_discovery(served)
    col = _collection(served)
    url = col.objects_url
    auth = ("US-FED", served["password"])
    assert httpx.get(url, headers={"Accept": TAXII}).status_code == 401
    r = httpx.get(url, headers={"Accept": TAXII})
    assert "Basic" in r.headers["WWW-Authenticate"]
    assert r.headers["Content-Type"] == TAXII and r.json()["http_status"] == "401"
    assert httpx.get(url, headers={"Accept": TAXII}, auth=("US-FED", "gp_000000000000_wrongwrongwrongwrong")).status_code == 401
    assert httpx.get(url, headers={"Accept": "application/json"}, auth=auth).status_code == 406
    assert httpx.get(url, headers={"Accept": "application/vnd.oasis.taxii+json; version=2.0"}, auth=auth).status_code == 406
    assert httpx.get(url, headers={"Accept": "application/taxii+json"}, auth=auth).status_code == 200
    body = json.dumps({"objects": [indicator(1)]})
    r = httpx.post(url, content=body, auth=auth, headers={"Accept": TAXII, "Content-Type": "application/json"})
    assert r.status_code == 415 and r.json()["http_status"] == "415"
    r = httpx.post(url, content=b"{not json", auth=auth, headers={"Accept": TAXII, "Content-Type": TAXII})
    assert r.status_code == 400 and r.headers["Content-Type"] == TAXII
    r = httpx.get(url, params={"limit": "zero"}, auth=auth, headers={"Accept": TAXII})
    assert r.status_code == 400 and "limit" in r.json()["description"]
    r = httpx.get(url, params={"added_after": "yesterday"}, auth=auth, headers={"Accept": TAXII})
    assert r.status_code == 400 and "added_after" in r.json()["description"]
    r = httpx.get(url, params={"next": "garbage!"}, auth=auth, headers={"Accept": TAXII})
    assert r.status_code == 400
    # a Bearer token works too
    r = httpx.get(url, headers={"Accept": TAXII, "Authorization": f"Bearer {served['password']}"})
    assert r.status_code == 200
    # the collection the partner may not read does not exist for it
    private = collections.collection_uuid("private")
    r = httpx.get(url.replace(col.id, private), auth=auth, headers={"Accept": TAXII})
    assert r.status_code == 404
    r = httpx.get(served["base"] + "/taxii2/nope/", auth=auth, headers={"Accept": TAXII})
    assert r.status_code == 404 and r.json()["http_status"] == "404"
