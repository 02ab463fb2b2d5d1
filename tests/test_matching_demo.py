"""The demo (`make run`) end to end for the matching part of the story: both demo nodes
built as `grotius demo` builds them, served over real HTTP on 127.0.0.1, synced, and the
live steps run. NL-POL then links the suspect's three spellings (its own Latin and Arabic
records, and US-FED's record that came in by sync) and holds a fuzzy run with US-FED
whose hit is US-FED's record, not NL-POL's own pushed copy; the pages show both."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from grotius import demo, demo_data
from grotius.matching import entities
from grotius.sharing import partners

pytestmark = [pytest.mark.slow]

# the areas register their demo steps when the CLI imports their commands, as for `grotius demo`
importlib.import_module("grotius.cli")

SPELLINGS = {"Mohammed Al-Hassan", "Mohamed Alhasan", "محمد الحسن"}


def _person(org: str, name: str) -> str:
    return demo_data.sid("identity", demo_data.sid("identity", "org:" + org) + name)


def _matches(node: Any) -> list[dict[str, Any]]:
    rows = node.store.query("SELECT raw FROM objects WHERE type = 'x-grotius-match' AND source IS NULL")
    return [json.loads(raw) for (raw,) in rows]


def test_demo_links_the_suspect_and_runs_a_fuzzy_match(tmp_path: Path, live_server: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROTIUS_DATABASE_URL", raising=False)
    monkeypatch.setenv("GROTIUS_WARNINGLISTS", "off")
    monkeypatch.setenv("GROTIUS_RFI_POLL_SECONDS", "0")
    nodes = demo.build(tmp_path / "demo", "127.0.0.1", 9)  # partner URLs are set below
    nl, us = nodes["NL-POL"], nodes["US-FED"]
    urls = {"NL-POL": live_server(nl), "US-FED": live_server(us)}
    partners.update(nl, "US-FED", url=urls["US-FED"] + "/taxii2/")
    partners.update(us, "NL-POL", url=urls["NL-POL"] + "/taxii2/")

    lines = demo.share(nodes)
    for live in demo.LIVE_STEPS:
        lines += live(nodes)
    text = "\n".join(lines)

    # entity resolution at NL-POL over what it really holds: US-FED's record arrived by sync
    us_person = _person("US-FED", "Mohammed Al-Hassan")
    assert nl.store.query_one("SELECT source FROM objects WHERE id = ?", (us_person,)) == ("US-FED",)
    (person,) = [e for e in entities.listing(nl) if SPELLINGS <= set(e["names"])]
    assert set(person["object_refs"]) == {us_person, _person("NL-POL", "Mohamed Alhasan"),
                                          _person("NL-POL", "محمد الحسن")}
    assert {m["source"] for m in person["members"]} == {"US-FED", ""}
    assert all(m["date_of_birth"] == demo_data.DATE_OF_BIRTH for m in person["members"])
    assert all(lk["probability"] >= entities.DEFAULT_THRESHOLD for lk in person["links"])
    assert "NL-POL entity resolution" in text and "held by NL-POL, US-FED" in text

    # the fuzzy run: NL-POL's spelling met US-FED's own record (not NL-POL's pushed copy)
    (asked,) = [m for m in _matches(nl) if m.get("mode") == "fuzzy"]
    (answered,) = [m for m in _matches(us) if m.get("mode") == "fuzzy"]
    assert asked["session"] == answered["session"] and asked["hit_count"] >= 1
    assert {h["value"] for h in asked["hits"]} == {"Mohamed Alhasan"}
    assert {h["value"] for h in answered["hits"]} == {us_person}
    assert "2 of 4 name(s) match" in text

    # what `make run` shows: the entity and the runs on NL-POL's pages
    with httpx.Client(base_url=urls["NL-POL"], timeout=30) as web:
        r = web.post("/api/login", json={"username": demo.DEMO_USER, "password": demo.DEMO_PASSWORD})
        assert r.status_code == 200, r.text
        page = web.get("/match/entities")
        assert page.status_code == 200 and "Mohammed Al-Hassan" in page.text
        page = web.get("/requests")
        assert page.status_code == 200 and "fuzzy name match with US-FED" in page.text

    # a second start of the demo changes nothing
    again = [line for live in demo.LIVE_STEPS for line in live(nodes)]
    assert "NL-POL fuzzy name match with US-FED: run before" in again
    assert len([m for m in _matches(nl) if m.get("mode") == "fuzzy"]) == 1
    assert entities.run(nl).stored == 0
