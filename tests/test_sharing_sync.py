"""Sync between two live nodes over real HTTP on 127.0.0.1, through a server killed
mid-sync and restarted; pull from and push to medallion (another TAXII 2.1 server)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from grotius.ingest import ingest
from grotius.node import Node, init
from grotius.sharing import audit, partners, signing, sync
from grotius.stix import markings

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sharing-sync")]

HOLDINGS = "holdings"
FAST = sync.Retry(attempts=3, base=0.05, cap=0.2)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Served:
    """`grotius serve` of one home on one fixed port, killable and restartable."""

    def __init__(self, home: Path, port: int) -> None:
        self.home, self.port = home, port
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/taxii2/"

    def start(self, timeout: float = 60.0) -> None:
        env = dict(os.environ)
        env.pop("GROTIUS_DATABASE_URL", None)
        self.proc = subprocess.Popen(
            [str(Path(sys.executable).parent / "grotius"), "serve", "--home", str(self.home),
             "--host", "127.0.0.1", "--port", str(self.port)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"grotius serve exited: {self.proc.stderr.read().decode()[-2000:]}")  # type: ignore[union-attr]
            try:
                httpx.get(self.url, timeout=1.0)
                return
            except httpx.TransportError:
                time.sleep(0.1)
        raise RuntimeError("grotius serve did not start")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
        self.proc = None


def _objects(n: int, versions: int) -> list[dict[str, Any]]:
    """n objects with ``versions`` versions each (malware SDOs: cheap to validate)."""
    out = []
    for i in range(n):
        oid = f"malware--{uuid.uuid5(uuid.NAMESPACE_URL, f'sync-test-{i}')}"
        tlp = "clear" if i % 3 == 0 else "amber"
        for v in range(versions):
            out.append({
                "type": "malware", "spec_version": "2.1", "id": oid,
                "created": "2026-01-01T00:00:00.000Z",
                "modified": f"2026-01-0{v + 1}T00:00:00.000Z",
                "name": f"Tidewater loader {i} v{v}", "is_family": False,
                "object_marking_refs": [markings.TLP2_IDS[tlp]],
            })
    return out


def _versions(node: Node, where: str, params: tuple[Any, ...] = ()) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in node.store.query(f"SELECT id, version FROM objects WHERE {where}", params)]


@pytest.fixture
def pair(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """NL-POL (served in a subprocess) and US-FED (in this process) with agreements both ways."""
    monkeypatch.delenv("GROTIUS_DATABASE_URL", raising=False)
    nl = init(tmp_path / "nl", "NL-POL")
    us = init(tmp_path / "us", "US-FED")
    for n in (nl, us):
        from grotius.collections import add

        add(n.store, HOLDINGS, "Holdings")
    port = _free_port()
    _, pw_at_nl = partners.add(nl, "US-FED", read=[HOLDINGS], write=[HOLDINGS], tlp_max="amber",
                               public_key_pem=us.public_key_pem(), identity_id=us.identity_id)
    partners.add(us, "NL-POL", read=[HOLDINGS], tlp_max="amber", public_key_pem=nl.public_key_pem(),
                 identity_id=nl.identity_id, url=f"http://127.0.0.1:{port}/taxii2/",
                 remote_user="US-FED", remote_password=pw_at_nl)
    served = Served(nl.home, port)
    yield {"nl": nl, "us": us, "served": served}
    served.kill()
    nl.close()
    us.close()


def test_pull_keeps_every_version_and_red_stays_home(pair: dict[str, Any]) -> None:
    nl, us, served = pair["nl"], pair["us"], pair["served"]
    objs = [dict(o, created_by_ref=nl.identity_id) for o in _objects(30, 3)]
    red = dict(_objects(1, 1)[0], id="malware--7d2d9a4e-5d0c-4c43-9a55-0f5b0c8a2e01",
               name="informant report", object_marking_refs=[markings.TLP2_IDS["red"]])
    s = ingest(nl, [*objs, red], collection=HOLDINGS)
    assert s.stored == 91
    served.start()
    r = sync.pull(us, "NL-POL", page_size=20, retry=FAST)
    assert r.ok, r.lines()
    want = set(_versions(nl, "id LIKE 'malware--%' AND tlp <> 'red'"))
    got = _versions(us, "source = ?", ("NL-POL",))
    assert len(want) == 90 and set(got) == want and len(got) == len(set(got))
    assert not _versions(us, "id = ?", (red["id"],))
    # signatures survived the wire and verify against the pinned key
    st = us.store.query_one("SELECT COUNT(*) FROM object_signatures s JOIN objects o ON o.pk = s.pk "
                            "WHERE o.source = 'NL-POL' AND s.status = 'valid' AND s.signer = ?",
                            (nl.identity_id,))
    assert st == (90,)
    # idempotent: a second pull finds nothing new
    again = sync.pull(us, "NL-POL", page_size=20, retry=FAST)
    assert again.ok and sum(c.stored for c in again.collections) == 0
    # both sides audited it: the disclosure at NL-POL, the write at US-FED
    disclosed = {tuple(o) for e in audit.entries(nl.store, partner="US-FED", action="disclose", limit=1000)
                 for o in e.objects}
    assert want <= disclosed
    written = {tuple(o) for e in audit.entries(us.store, partner="NL-POL", action="write", limit=1000)
               for o in e.objects}
    assert written == want
    assert audit.verify_node(nl).ok and audit.verify_node(us).ok


def test_pull_converges_after_server_killed_mid_sync(pair: dict[str, Any]) -> None:
    nl, us, served = pair["nl"], pair["us"], pair["served"]
    objs = [dict(o, created_by_ref=nl.identity_id) for o in _objects(700, 3)]  # 2100 versions
    ingest(nl, objs, collection=HOLDINGS)
    want = set(_versions(nl, "id LIKE 'malware--%'"))
    served.start()

    result: dict[str, Any] = {}
    t = threading.Thread(target=lambda: result.setdefault(
        "r", sync.pull(us, "NL-POL", page_size=25, retry=FAST)))
    t.start()
    deadline = time.monotonic() + 120
    while len(_versions(us, "source = 'NL-POL'")) < 300 and time.monotonic() < deadline and t.is_alive():
        time.sleep(0.05)
    served.kill()  # mid-sync: the client is between or inside page requests
    t.join(120)
    first = result["r"]
    assert first.error and "unreachable" in first.error
    partial = _versions(us, "source = 'NL-POL'")
    assert 300 <= len(partial) < len(want)

    # restart while a second sync is already retrying: it rides through the outage
    slow = sync.Retry(attempts=30, base=0.2, cap=1.0)
    t2 = threading.Thread(target=lambda: result.__setitem__(
        "r2", sync.pull(us, "NL-POL", page_size=25, retry=slow)))
    t2.start()
    time.sleep(0.5)
    served.start()
    t2.join(300)
    second = result["r2"]
    assert second.ok, second.lines()
    got = _versions(us, "source = 'NL-POL'")
    assert set(got) == want and len(got) == len(want)  # nothing lost, nothing twice
    # the overlap on resume was re-read, not re-stored
    assert sum(c.stored for c in second.collections) == len(want) - len(partial)
    assert audit.verify_node(us).ok and audit.verify_node(nl).ok


def test_push_sends_what_the_agreement_allows(pair: dict[str, Any]) -> None:
    nl, us, served = pair["nl"], pair["us"], pair["served"]
    served.start()
    # NL-POL's account at US-FED is not needed for push *to* NL-POL: US-FED pushes to NL-POL
    objs = _objects(10, 2)
    red = dict(objs[0], id="malware--0b6f3f3e-43a1-4f55-9d43-3a1b2f6e8a77", name="red",
               object_marking_refs=[markings.TLP2_IDS["red"]])
    mine = [dict(o, created_by_ref=us.identity_id) for o in [*objs, red]]
    ingest(us, mine, collection=HOLDINGS)
    r = sync.push(us, "NL-POL", page_size=7, retry=FAST)
    assert r.ok, r.lines()
    sent = set(_versions(us, "created_by_ref = ? AND tlp <> 'red'", (us.identity_id,)))
    assert len(sent) == 20
    # NL-POL (another process) stored them as coming from US-FED, signed by US-FED
    nl2 = Node.open(nl.home)
    try:
        got = _versions(nl2, "source = 'US-FED'")
        assert set(got) == sent and len(got) == 20
        assert not _versions(nl2, "id = ?", (red["id"],))
        one = nl2.store.query_one("SELECT raw FROM objects WHERE source = 'US-FED' LIMIT 1")[0]
        assert signing.check(json.loads(one), signing.keyring(nl2)).status == signing.VALID
    finally:
        nl2.close()
    again = sync.push(us, "NL-POL", page_size=7, retry=FAST)
    assert again.ok and sum(c.received for c in again.collections) == 0
    d = audit.entries(us.store, partner="NL-POL", action="disclose", limit=100)
    assert {tuple(o) for e in d for o in e.objects} == sent


# -- medallion ---------------------------------------------------------------------------

MED_API = "api1"
MED_COL = "91a7b528-80eb-42ed-a74d-c6fbd5a26116"


@pytest.fixture
def medallion(tmp_path: Path) -> Iterator[str]:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    data = {
        "/discovery": {"title": "medallion test", "default": f"{base}/{MED_API}/",
                       "api_roots": [f"{base}/{MED_API}/"]},
        MED_API: {
            "information": {"title": "test root", "versions": ["application/taxii+json;version=2.1"],
                            "max_content_length": 10485760},
            "status": [],
            "collections": [{
                "id": MED_COL, "title": "partner feed", "can_read": True, "can_write": True,
                "media_types": ["application/stix+json;version=2.1"], "objects": [], "manifest": [],
            }],
        },
    }
    (tmp_path / "data.json").write_text(json.dumps(data))
    (tmp_path / "config.json").write_text(json.dumps({
        "backend": {"module": "medallion.backends.memory_backend", "module_class": "MemoryBackend",
                    "filename": str(tmp_path / "data.json")},
        "users": {"grotius": "s3cret-pass"},
        "taxii": {"max_page_size": 100},
    }))
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "medallion"), "--host", "127.0.0.1", "--port", str(port),
         str(tmp_path / "config.json")],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(proc.stderr.read().decode()[-2000:])  # type: ignore[union-attr]
            try:
                httpx.get(f"{base}/taxii2/", timeout=1.0)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        yield f"{base}/taxii2/"
    finally:
        proc.kill()
        proc.wait()


def test_pull_and_push_with_medallion(medallion: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GROTIUS_DATABASE_URL", raising=False)
    node = init(tmp_path / "nl", "NL-POL")
    try:
        partners.add(node, "MED", tlp_max="amber", url=medallion, remote_user="grotius",
                     remote_password="s3cret-pass")
        # someone else's objects, two versions each, posted straight to medallion
        theirs = _objects(60, 2)
        r = httpx.post(f"{medallion[:-len('taxii2/')]}{MED_API}/collections/{MED_COL}/objects/",
                       json={"objects": theirs}, auth=("grotius", "s3cret-pass"),
                       headers={"Content-Type": sync.TAXII, "Accept": sync.TAXII})
        assert r.status_code == 202, r.text
        res = sync.pull(node, "MED", page_size=25, retry=FAST)
        assert res.ok, res.lines()
        want = {(o["id"], o["modified"].replace(".000Z", ".000000Z")) for o in theirs}
        got = _versions(node, "source = 'MED'")
        assert set(got) == want and len(got) == 120
        assert sync.pull(node, "MED", page_size=25, retry=FAST).collections[0].stored == 0

        # push: medallion's collection has no Grotius twin, so it is mapped to a local one
        from grotius.collections import add

        assert sync.push(node, "MED", retry=FAST).collections == []  # nothing mirrors it
        add(node.store, "medfeed", "Feed for MED")
        own = [dict(o, id=f"malware--{uuid.uuid4()}", created_by_ref=node.identity_id)
               for o in _objects(5, 1)]
        ingest(node, own, collection="medfeed")
        pushed = sync.push(node, "MED", retry=FAST, mapping={MED_COL: "medfeed"})
        assert pushed.ok, pushed.lines()
        assert pushed.collections[0].received == 5 and pushed.collections[0].stored == 5
        env = httpx.get(f"{medallion[:-len('taxii2/')]}{MED_API}/collections/{MED_COL}/objects/",
                        params={"match[id]": ",".join(o["id"] for o in own)},
                        auth=("grotius", "s3cret-pass"), headers={"Accept": sync.TAXII}).json()
        at_med = {o["id"]: o for o in env["objects"]}
        assert set(at_med) == {o["id"] for o in own}
        # the signature went along and still verifies after medallion's round trip
        ring = signing.keyring(node)
        assert all(signing.check(o, ring).status == signing.VALID for o in at_med.values())
    finally:
        node.close()


def test_cli_and_scheduled_sync(pair: dict[str, Any]) -> None:
    from click.testing import CliRunner

    from grotius.cli import main

    nl, us, served = pair["nl"], pair["us"], pair["served"]
    ingest(nl, [dict(o, created_by_ref=nl.identity_id) for o in _objects(4, 2)], collection=HOLDINGS)
    served.start()
    runner = CliRunner()
    r = runner.invoke(main, ["sync", "pull", "NL-POL", "--home", str(us.home), "--limit", "3"])
    assert r.exit_code == 0, r.output
    assert "stored 8" in r.output
    r = runner.invoke(main, ["sync", "schedule", "NL-POL", "--home", str(us.home), "--every", "60",
                             "--direction", "pull"])
    assert r.exit_code == 0, r.output
    ingest(nl, [dict(o, created_by_ref=nl.identity_id) for o in _objects(6, 2)], collection=HOLDINGS)
    sched = sync.Scheduler(us)
    done = sched.run_due()
    assert [(x.direction, x.ok, x.objects) for x in done] == [("pull", True, 4)]
    assert sched.run_due() == []  # not due again for a minute
    r = runner.invoke(main, ["sync", "status", "--home", str(us.home)])
    assert "schedule NL-POL: pull every 60 s" in r.output and "cursor" in r.output
    r = runner.invoke(main, ["audit", "list", "--home", str(us.home), "--partner", "NL-POL"])
    assert "sync.pull" in r.output and "write" in r.output
    r = runner.invoke(main, ["audit", "verify", "--home", str(us.home)])
    assert r.exit_code == 0 and "audit log OK" in r.output
