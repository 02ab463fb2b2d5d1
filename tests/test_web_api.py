"""Web UI and REST API: auth, CSRF, the one error shape, import, search, object pages.

In-process through Starlette's TestClient (same ASGI app, real database) and once over
real HTTP on 127.0.0.1; every test runs on SQLite and on PostgreSQL via the node fixture.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any, Iterator

import httpx
import pytest
from fastapi.testclient import TestClient

from grotius.stix.markings import TLP2_IDS
from grotius.web.app import create_app
from webdata import IND, MAL, NCSC, PASSWORD, REL, REP, STMT, login, seed

HTML = {"accept": "text/html"}


@pytest.fixture
def app(node: Any) -> Any:
    seed(node)
    return create_app(node)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


@pytest.fixture
def analyst(client: TestClient) -> tuple[TestClient, str]:
    """A client logged in through the form, and its session's CSRF token."""
    return client, login(client)


def basic(user: str = "anna", password: str = PASSWORD) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def assert_error(r: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert set(body) == {"error", "message", "detail"}, body
    assert body["error"] == code, body
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["detail"], dict)
    assert "Traceback" not in r.text
    return body


# -- authentication ---------------------------------------------------------------------


def test_pages_send_anonymous_users_to_login_and_api_answers_401(client: TestClient) -> None:
    r = client.get("/search?q=tide", headers=HTML, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=%2Fsearch%3Fq%3Dtide"
    assert_error(client.get("/api/objects"), 401, "unauthorised")
    assert_error(client.get(f"/api/objects/{IND}"), 401, "unauthorised")
    assert "TLP:GREEN" not in client.get(f"/objects/{IND}", headers=HTML).text


def test_login_sets_hashed_session_httponly_lax_cookie_and_logout_ends_it(client: TestClient, node: Any) -> None:
    csrf = login(client)
    cookie = client.cookies.get("grotius_session")
    assert cookie
    rows = node.store.query("SELECT token_hash, csrf FROM sessions")
    assert rows == [(hashlib.sha256(cookie.encode()).hexdigest(), csrf)]
    page = client.get("/", headers=HTML)
    assert page.status_code == 200 and "anna" in page.text and "Dashboard" in page.text
    # logout is a state change: without the CSRF token it is refused and the session lives
    r = client.post("/logout", headers={"accept": "application/json"})
    assert_error(r, 403, "forbidden")
    assert node.store.query("SELECT COUNT(*) FROM sessions") == [(1,)]
    r = client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert node.store.query("SELECT COUNT(*) FROM sessions") == [(0,)]
    assert client.get("/", headers=HTML, follow_redirects=False).status_code == 303


def test_login_form_refuses_wrong_password_and_forged_posts(client: TestClient, node: Any) -> None:
    r = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    bad = client.post("/login", data={"username": "anna", "password": "wrong-password", "csrf_token": token})
    assert bad.status_code == 401 and "wrong user name or password" in bad.text
    assert "grotius_session" not in bad.cookies
    # a cross-site form has neither the login CSRF cookie nor its value
    client.cookies.clear()
    forged = client.post("/login", data={"username": "anna", "password": PASSWORD, "csrf_token": token},
                         headers={"accept": "application/json"})
    assert_error(forged, 403, "forbidden")
    assert node.store.query("SELECT COUNT(*) FROM sessions") == [(0,)]


def test_api_login_basic_and_bearer(client: TestClient) -> None:
    assert client.get("/api/me", headers=basic()).json()["via"] == "basic"
    assert_error(client.get("/api/me", headers=basic(password="nope-nope-nope")), 401, "unauthorised")
    assert_error(client.get("/api/me", headers={"authorization": "Basic !!!"}), 401, "unauthorised")
    r = client.post("/api/login", json={"username": "bert", "password": PASSWORD})
    assert r.status_code == 200
    token = r.json()["token"]
    client.cookies.clear()
    me = client.get("/api/me", headers={"authorization": f"Bearer {token}"}).json()
    assert me == {"name": "bert", "kind": "user", "role": "analyst", "via": "bearer", "csrf_token": None}
    assert_error(client.get("/api/me", headers={"authorization": "Bearer forged"}), 401, "unauthorised")
    assert_error(client.post("/api/login", json={"username": "bert", "password": "x" * 9}), 401, "unauthorised")
    # logging out with the token ends it
    assert client.post("/api/logout", headers={"authorization": f"Bearer {token}"}).status_code == 200
    assert_error(client.get("/api/me", headers={"authorization": f"Bearer {token}"}), 401, "unauthorised")


def test_csrf_is_enforced_on_cookie_sessions_only(analyst: tuple[TestClient, str], node: Any) -> None:
    client, csrf = analyst
    url = f"/api/objects/{MAL}/grade"
    body = assert_error(client.post(url, json={"grade": "B2"}), 403, "forbidden")
    assert body["detail"]["reason"] == "csrf"
    assert_error(client.post(url, json={"grade": "B2"}, headers={"x-csrf-token": "guess"}), 403, "forbidden")
    assert node.store.query("SELECT COUNT(*) FROM gradings") == [(0,)]
    # the HTML form without its hidden field is refused too
    r = client.post(f"/objects/{MAL}/grade", data={"reliability": "B", "credibility": "2"}, headers=HTML)
    assert r.status_code == 403 and "CSRF" in r.text
    assert node.store.query("SELECT COUNT(*) FROM gradings") == [(0,)]
    ok = client.post(url, json={"grade": "b2", "note": "liaison"}, headers={"x-csrf-token": csrf})
    assert ok.status_code == 200 and ok.json()["grade"] == "B2"
    assert node.store.query("SELECT reliability, credibility, graded_by, note FROM gradings") == [
        ("B", "2", "anna", "liaison")
    ]
    # Basic credentials are not ambient, so they need no token
    client.cookies.clear()
    r = client.post(url, json={"grade": "C3"}, headers=basic("bert"))
    assert r.status_code == 200 and r.json()["graded_by"] == "bert"


# -- the one error shape ----------------------------------------------------------------


def test_every_error_has_the_same_shape(client: TestClient, app: Any) -> None:
    h = basic()
    body = assert_error(client.get("/api/objects?tlp=purple", headers=h), 400, "invalid_input")
    assert body["detail"]["property"] == "tlp"
    body = assert_error(client.get("/api/objects?since=yesterday", headers=h), 400, "invalid_input")
    assert body["detail"]["property"] == "since"
    assert_error(client.post(f"/api/objects/{MAL}/grade", json={"grade": "Z9"}, headers=h), 400, "invalid_input")
    assert_error(client.get("/api/stats"), 401, "unauthorised")
    assert_error(client.post(f"/api/objects/{MAL}/grade", json={"grade": "A1"}), 401, "unauthorised")
    body = assert_error(client.get("/api/no-such-thing", headers=h), 404, "not_found")
    assert body["detail"]["path"] == "/api/no-such-thing"
    body = assert_error(client.get("/api/objects/indicator--00000000-0000-4000-8000-000000000000", headers=h),
                        404, "not_found")
    assert body["detail"]["object_id"] == "indicator--00000000-0000-4000-8000-000000000000"
    assert_error(client.get("/api/objects/indicator--00000000-0000-4000-8000-000000000000/versions",
                            headers=h), 404, "not_found")
    assert_error(client.delete(f"/api/objects/{IND}", headers=h), 405, "method_not_allowed")
    body = assert_error(client.get("/api/objects?per_page=0", headers=h), 422, "invalid_input")
    assert body["detail"]["errors"][0]["location"] == "query.per_page"
    # numbers past what the database binds as an integer were 500s
    for url, prop in (("/api/objects?page=99999999999999999999", "page"),
                      (f"/api/objects?per_page=2&page={2**62 + 1}", "page"),
                      ("/api/leads?offset=99999999999999999999", "offset"),
                      ("/api/audit?before=99999999999999999999", "before")):
        assert assert_error(client.get(url, headers=h), 400, "invalid_input")["detail"]["property"] == prop, url
    assert client.get(f"/api/objects?per_page=2&page={2**62}", headers=h).json()["items"] == []
    body = assert_error(client.post(f"/api/objects/{MAL}/grade", content=b"{", headers=h), 422, "invalid_input")
    body = assert_error(client.post(f"/api/objects/{MAL}/grade", json={}, headers=h), 422, "invalid_input")
    assert "body.grade" in body["message"]

    def boom() -> None:
        raise RuntimeError("secret database password is hunter2")

    app.add_api_route("/api/_boom", boom)
    body = assert_error(client.get("/api/_boom", headers=h), 500, "internal_error")
    assert "hunter2" not in json.dumps(body)


def test_pages_show_friendly_errors(analyst: tuple[TestClient, str]) -> None:
    client, _ = analyst
    r = client.get("/objects/malware--00000000-0000-4000-8000-000000000000", headers=HTML)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert "Not found" in r.text and "malware--00000000-0000-4000-8000-000000000000" in r.text
    r = client.get("/no/such/page", headers=HTML)
    assert r.status_code == 404 and "Back to the dashboard" in r.text
    r = client.get("/search?since=notadate", headers=HTML)
    assert r.status_code == 400 and "not a date" in r.text


# -- import -----------------------------------------------------------------------------


def _bundle(objs: list[Any]) -> bytes:
    return json.dumps({"type": "bundle", "id": "bundle--7bc28dae-c06f-4d3b-8e9b-9f6e8dad0c16", "objects": objs}).encode()


GOOD = {
    "type": "attack-pattern", "spec_version": "2.1", "id": "attack-pattern--8cd39ebf-d17a-4e4c-9fac-a07f9ebe1d27",
    "created": "2026-03-01T00:00:00.000Z", "modified": "2026-03-01T00:00:00.000Z", "name": "Spearphishing link",
}
DANGLING = {
    "type": "relationship", "spec_version": "2.1", "id": "relationship--9de4afc0-e28b-4f5d-8abd-b18fafcf2e38",
    "created": "2026-03-01T00:00:00.000Z", "modified": "2026-03-01T00:00:00.000Z",
    "relationship_type": "uses", "source_ref": MAL,
    "target_ref": "attack-pattern--00000000-0000-4000-8000-000000000000",
}


def test_api_import_mixed_good_and_bad(client: TestClient) -> None:
    h = basic()
    data = _bundle([GOOD, {"type": "indicator", "id": "not-an-id"}, DANGLING, "just a string"])
    body = assert_error(client.post("/api/import", content=data, headers=h), 422, "rejected")
    summary = body["detail"]
    assert summary["stored"] == 1 and summary["rejected"] == 3
    positions = sorted(e["detail"]["position"] for e in summary["errors"])
    assert positions == [1, 2, 3]
    dangling = next(e for e in summary["errors"] if e["detail"]["position"] == 2)
    assert dangling["detail"]["property"] == "target_ref"
    # the good object was stored and is readable; the bad ones were not
    assert client.get(f"/api/objects/{GOOD['id']}", headers=h).json()["object"] == GOOD
    assert_error(client.get(f"/api/objects/{DANGLING['id']}", headers=h), 404, "not_found")
    # again: held already, nothing rejected -> 200
    again = client.post("/api/import", content=_bundle([GOOD]), headers=h)
    assert again.status_code == 200 and again.json()["unchanged"] == 1
    # JSON lines, with dangling ends allowed on request
    lines = (json.dumps(DANGLING) + "\n").encode()
    r = client.post("/api/import?allow_dangling=true", content=lines,
                    headers={**h, "content-type": "application/x-ndjson"})
    assert r.status_code == 200 and r.json()["stored"] == 1
    assert_error(client.post("/api/import", content=b"{not json", headers=h), 422, "rejected")


def test_api_import_refuses_a_body_over_the_limit(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from grotius.web import api

    h = basic()
    data = _bundle([GOOD])
    monkeypatch.setattr(api, "IMPORT_MAX_BYTES", len(data) - 1)
    assert_error(client.post("/api/import", content=data, headers=h), 413, "too_large")

    def chunks():  # no Content-Length: counted while streaming
        yield data[:10]
        yield data[10:]

    assert_error(client.post("/api/import", content=chunks(), headers=h), 413, "too_large")
    assert_error(client.get(f"/api/objects/{GOOD['id']}", headers=h), 404, "not_found")
    monkeypatch.setattr(api, "IMPORT_MAX_BYTES", len(data))
    assert client.post("/api/import", content=data, headers=h).status_code == 200


def test_import_page_shows_per_object_errors(analyst: tuple[TestClient, str]) -> None:
    client, csrf = analyst
    data = _bundle([GOOD, DANGLING])
    files = {"file": ("tide.json", data, "application/json")}
    r = client.post("/import", data={"csrf_token": csrf}, files=files, headers=HTML)
    assert r.status_code == 422
    assert "tide.json" in r.text and "Rejected objects" in r.text
    assert DANGLING["id"] in r.text and "target_ref" in r.text
    assert client.get(f"/api/objects/{GOOD['id']}").status_code == 200
    # the upload form is CSRF-protected like every other form
    r = client.post("/import", files={"file": ("x.json", _bundle([GOOD]), "application/json")}, headers=HTML)
    assert r.status_code == 403


# -- search -----------------------------------------------------------------------------


def _ids(client: TestClient, query: str) -> list[str]:
    r = client.get("/api/objects?" + query, headers=basic())
    assert r.status_code == 200, r.text
    return [i["id"] for i in r.json()["items"]]


def test_search_filters(client: TestClient) -> None:
    assert _ids(client, "q=203.0.113") == [IND]
    assert _ids(client, "q=TIDELOCKER") == [MAL]  # case-insensitive
    assert _ids(client, f"q={IND}") == [IND]
    assert _ids(client, "q=100%25_") == []  # LIKE wildcards are literal
    assert _ids(client, "type=malware&type=report") == [REP, MAL]
    assert set(_ids(client, f"tlp=amber&created_by={NCSC}")) == {MAL, REP}
    assert set(_ids(client, f"tlp=green&tlp=amber&created_by={NCSC}")) == {MAL, REP, IND, REL}
    assert _ids(client, f"marking={STMT}") == [IND]
    assert _ids(client, f"marking={TLP2_IDS['green']}&type=indicator") == [IND]
    assert _ids(client, f"created_by={NCSC}&type=relationship") == [REL]
    # latest versions by default; all_versions finds the earlier name too
    assert _ids(client, "q=Tidewater+C2") == []
    r = client.get("/api/objects?q=Tidewater+C2&all_versions=true", headers=basic()).json()
    assert [(i["id"], i["version"]) for i in r["items"]] == [(IND, "2026-01-10T09:00:00.000000Z")]
    # time: producer's modified vs when this node stored it
    assert _ids(client, "type=indicator&time_field=modified&since=2026-01-15") == [IND]
    assert _ids(client, "type=malware&time_field=modified&since=2026-01-15") == []
    assert _ids(client, "type=malware&time_field=modified&until=2026-01-10") == [MAL]
    assert _ids(client, "type=malware&since=2999-01-01") == []
    assert _ids(client, "type=malware&since=2000-01-01") == [MAL]
    assert _ids(client, "source=local&type=malware") == [MAL]
    assert _ids(client, "source=US-FED") == []


def test_search_pages(client: TestClient) -> None:
    first = client.get("/api/objects?per_page=3", headers=basic()).json()
    total = first["total"]
    assert total >= 13 and first["pages"] == -(-total // 3)
    seen = [i["id"] for i in first["items"]]
    for p in range(2, first["pages"] + 1):
        seen += [i["id"] for i in client.get(f"/api/objects?per_page=3&page={p}", headers=basic()).json()["items"]]
    assert len(seen) == total == len(set(seen))


def test_search_page_renders_results_and_filters(analyst: tuple[TestClient, str]) -> None:
    client, _ = analyst
    r = client.get("/search?q=tide&tlp=amber", headers=HTML)
    assert r.status_code == 200
    assert "TideLocker" in r.text and f"/objects/{MAL}" in r.text
    assert "Tidewater Spider C2 address" not in r.text  # green, filtered out
    assert 'value="amber" checked' in r.text


# -- object page ------------------------------------------------------------------------


def test_object_page(analyst: tuple[TestClient, str], node: Any) -> None:
    client, csrf = analyst
    r = client.post(f"/objects/{IND}/grade", data={"reliability": "B", "credibility": "2", "note": "seen twice",
                                                   "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303
    html = client.get(f"/objects/{IND}", headers=HTML).text
    assert "Tidewater Spider C2 address" in html
    assert '<span class="tlp tlp-green"' in html and "TLP:GREEN" in html
    assert 'class="grade grade-B"' in html and ">B2<" in html and "Usually reliable" in html
    assert "NL-NCSC" in html  # created by, resolved to the identity's name
    assert "Handle via NL-NCSC liaison only" in html  # marking names resolved
    # relationships both ways: indicator -> malware, report -> indicator
    rel = html.split('id="relationships"')[1].split('id="raw"')[0]
    out, inc = rel.split("Incoming")
    assert "indicates" in out and f"/objects/{MAL}" in out and "TideLocker" in out
    assert f"/objects/{REP}" in inc and "object_refs" in inc
    # version history links both versions; raw JSON is there, escaped
    assert f"/objects/{IND}?version=2026-01-10T09%3A00%3A00.000000Z" in html
    assert f"/objects/{IND}?version=2026-02-01T12%3A00%3A00.000000Z" in html
    assert "[ipv4-addr:value = &#39;203.0.113.7&#39;]" in html
    old = client.get(f"/objects/{IND}?version=2026-01-10T09:00:00.000Z", headers=HTML).text
    assert "older version" in old and "Tidewater C2 address" in old
    mal = client.get(f"/objects/{MAL}", headers=HTML).text
    inc = mal.split('id="relationships"')[1].split("Incoming")[1].split('id="raw"')[0]
    assert "indicates" in inc and f"/objects/{IND}" in inc and f"/objects/{REL}" in inc
    assert "TLP:AMBER" in mal


def test_object_api_versions_relationships(client: TestClient) -> None:
    h = basic()
    latest = client.get(f"/api/objects/{IND}", headers=h).json()
    assert latest["object"]["name"] == "Tidewater Spider C2 address"
    assert latest["meta"]["tlp"] == "green" and latest["meta"]["created_by_name"] == "NL-NCSC"
    old = client.get(f"/api/objects/{IND}", params={"version": "2026-01-10T09:00:00Z"}, headers=h).json()
    assert old["object"]["name"] == "Tidewater C2 address"
    vs = client.get(f"/api/objects/{IND}/versions", headers=h).json()["versions"]
    assert [v["version"] for v in vs] == ["2026-02-01T12:00:00.000000Z", "2026-01-10T09:00:00.000000Z"]
    rel = client.get(f"/api/objects/{MAL}/relationships", headers=h).json()
    incoming = {(e["kind"], e["other_id"], e["via"]) for e in rel["incoming"]}
    assert ("indicates", IND, REL) in incoming and ("object_refs", REP, None) in incoming
    assert rel["outgoing"] == []
    out = client.get(f"/api/objects/{IND}/relationships", headers=h).json()["outgoing"]
    assert [(e["kind"], e["other_id"], e["other_name"], e["via"]) for e in out] == [
        ("indicates", MAL, "TideLocker", REL)
    ]


def test_stats_export_collections(client: TestClient, node: Any) -> None:
    h = basic()
    s = client.get("/api/stats", headers=h).json()
    by_type = {r["key"]: r["count"] for r in s["by_type"]}
    assert by_type["indicator"] == 1 and by_type["malware"] == 1 and by_type["report"] == 1
    assert s["versions"] == s["objects"] + 1  # the indicator has two versions
    by_tlp = {r["key"]: r["count"] for r in s["by_tlp"]}
    # amber: the malware, the report, and the node's two built-in objects without markings
    # (the Grotius project identity and extension definition take the node default, AMBER)
    assert by_tlp["amber"] == 4 and by_tlp["green"] == 2
    by_org = {r["key"]: r["count"] for r in s["by_org"]}
    assert by_org["NL-NCSC"] == 4
    assert s["recent"][0]["id"] == REP
    # counts follow every write (they are cached against the node clock)
    assert client.post("/api/import", content=_bundle([GOOD]), headers=h).status_code == 200
    s2 = client.get("/api/stats", headers=h).json()
    assert s2["objects"] == s["objects"] + 1 and s2["recent"][0]["id"] == GOOD["id"]
    assert {r["key"]: r["count"] for r in s2["by_type"]}["attack-pattern"] == 1
    r = client.get("/api/export?type=malware&type=indicator&tlp_max=green", headers=h)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/stix+json")
    bundle = r.json()
    assert bundle["type"] == "bundle"
    assert sorted(o["id"] for o in bundle["objects"]) == [IND, IND]
    latest = client.get("/api/export?type=indicator&latest=true", headers=h).json()
    assert [o["modified"] for o in latest["objects"]] == ["2026-02-01T12:00:00.000Z"]
    from grotius.collections import add

    add(node.store, "vitaal", "NL vitaal")
    assert [c["name"] for c in client.get("/api/collections", headers=h).json()["collections"]] == ["vitaal"]


def test_openapi_document_and_docs_page(client: TestClient) -> None:
    spec = client.get("/api/openapi.json").json()
    for path in ("/api/objects", "/api/objects/{object_id}", "/api/objects/{object_id}/versions",
                 "/api/objects/{object_id}/relationships", "/api/import", "/api/export",
                 "/api/objects/{object_id}/grade", "/api/stats", "/api/collections", "/api/login", "/api/logout"):
        assert path in spec["paths"], path
    assert "/objects/{object_id}" not in spec["paths"]  # pages are not API
    assert spec["components"]["schemas"]["ErrorOut"]["required"] == ["error", "message"]
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and "/api/objects/{object_id}/relationships" in docs.text
    assert not re.search(r'(src|href)="(https?:)?//', docs.text)  # nothing loaded from elsewhere


def test_security_headers(analyst: tuple[TestClient, str]) -> None:
    client, _ = analyst
    r = client.get("/", headers=HTML)
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["cache-control"] == "no-store"


def test_area_modules_add_routes_and_nav(node: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.machinery
    import types

    from fastapi import APIRouter, Depends

    from grotius.web import auth
    from grotius.web.render import NavItem

    seed(node)
    area = types.ModuleType("grotius_test_area")
    area.__spec__ = importlib.machinery.ModuleSpec("grotius_test_area", None)
    area.router = APIRouter()  # type: ignore[attr-defined]

    @area.router.get("/leads-test")  # type: ignore[attr-defined]
    def leads(p: auth.Principal = Depends(auth.require_user)) -> dict[str, str]:
        return {"leads_for": p.name}

    area.nav = [NavItem("Leads", "/leads-test", 30)]  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, "grotius_test_area", area)

    def nav_links(app: Any) -> list[str]:
        with TestClient(app) as c:
            login(c)
            html = c.get("/", headers=HTML).text
            assert c.get("/leads-test").status_code == (200 if "/leads-test" in html else 404)
        return re.findall(r'href="([^"]+)"', html.split('class="mainnav"')[1].split("</nav>")[0])

    with_area = nav_links(create_app(node, areas=["grotius_test_area", "grotius.no_such_area.api"]))
    assert with_area == ["/", "/search", "/leads-test", "/import"]  # ordered by NavItem.order
    assert nav_links(create_app(node, areas=[])) == ["/", "/search", "/import"]


# -- real HTTP --------------------------------------------------------------------------


def test_over_real_http(node: Any, live_server: Any) -> None:
    seed(node)
    base = live_server(node)
    with httpx.Client(base_url=base, follow_redirects=False) as c:
        assert c.get("/", headers=HTML).status_code == 303
        login_page = c.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', login_page.text).group(1)  # type: ignore[union-attr]
        r = c.post("/login", data={"username": "anna", "password": PASSWORD, "csrf_token": token})
        assert r.status_code == 303
        set_cookie = r.headers["set-cookie"].lower()
        assert "grotius_session=" in set_cookie and "httponly" in set_cookie and "samesite=lax" in set_cookie
        hits = c.get("/api/objects", params={"q": "tidelocker"}).json()["items"]
        assert [h["id"] for h in hits] == [MAL]
        page = c.get(f"/objects/{MAL}", headers=HTML)
        assert page.status_code == 200 and "TLP:AMBER" in page.text
        assert_error(c.get("/api/nothing-here"), 404, "not_found")
        assert c.get("/static/grotius.css").status_code == 200
