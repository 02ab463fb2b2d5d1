"""Hit/no-hit between two live nodes on 127.0.0.1 over their partner channel: each side
learns exactly the intersection, nothing crosses the wire in clear, budgets hold, and both
audit logs record the run."""

from __future__ import annotations

import json
import socket
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
from click.testing import CliRunner

import grotius.correlate  # noqa: F401  (registers the ingest hook that fills the value index)
from grotius.cli import main
from grotius.correlate.types import registry
from grotius.exc import BudgetExceeded
from grotius.ingest import ingest
from grotius.matching import exchange
from grotius.node import Node, init
from grotius.sharing import audit, partners
from grotius.stix.markings import TLP2_IDS


class WireTap:
    """A TCP relay that records every byte both ways between client and server."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.data = bytearray()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            server = socket.create_connection(("127.0.0.1", self.upstream))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while chunk := src.recv(65536):
                with self._lock:
                    self.data += chunk
                dst.sendall(chunk)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self) -> None:
        self.sock.close()


def _indicators(values: list[tuple[str, str]], tlp: str = "amber") -> list[dict[str, Any]]:
    path = {"email": "email-addr:value", "ipv4": "ipv4-addr:value", "domain": "domain-name:value"}
    out = []
    for i, (kind, value) in enumerate(values):
        out.append({
            "type": "indicator", "spec_version": "2.1",
            "id": f"indicator--00000000-0000-4000-8000-{abs(hash((kind, value, tlp))) % 10**12:012d}",
            "created": "2026-10-01T00:00:00.000Z", "modified": "2026-10-01T00:00:00.000Z",
            "name": f"held {i}", "pattern": f"[{path[kind]} = '{value}']", "pattern_type": "stix",
            "valid_from": "2026-10-01T00:00:00Z", "object_marking_refs": [TLP2_IDS[tlp]],
        })
    return out


HELD = [("email", f"courier{i}@tidewater.example") for i in range(40)] + [
    ("domain", f"drop{i}.tidewater.example") for i in range(20)
]
RED = [("email", "informant@secret.example")]
ASKED = [("email", f"courier{i}@tidewater.example") for i in range(30, 55)] + [
    ("domain", "drop3.tidewater.example"), ("email", "informant@secret.example"), ("domain", "elsewhere.example"),
]


@pytest.fixture
def nodes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, live_server: Any) -> Iterator[dict[str, Any]]:
    monkeypatch.delenv("GROTIUS_DATABASE_URL", raising=False)
    monkeypatch.setenv("GROTIUS_WARNINGLISTS", "off")
    holder = init(tmp_path / "nl", "NL-POL")
    asker = init(tmp_path / "de", "DE-BKA")
    ingest(holder, _indicators(HELD))
    ingest(holder, _indicators(RED, tlp="red"))
    base = live_server(holder)
    tap = WireTap(int(base.rsplit(":", 1)[1]))
    _, pw = partners.add(holder, "DE-BKA", tlp_max="amber")
    partners.add(asker, "NL-POL", tlp_max="amber", url=f"http://127.0.0.1:{tap.port}/taxii2/",
                 remote_user="DE-BKA", remote_password=pw)
    yield {"holder": holder, "asker": asker, "tap": tap, "tmp": tmp_path}
    tap.close()
    holder.close()
    asker.close()


def _clean(pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(k, registry.clean(k, v)) for k, v in pairs}


def _audit(node: Node, action: str) -> list[Any]:
    return audit.entries(node.store, action=action, limit=100)


def test_each_side_learns_exactly_the_intersection(nodes: dict[str, Any]) -> None:
    holder, asker, tap = nodes["holder"], nodes["asker"], nodes["tap"]
    values = exchange.read_input([f"{k}\t{v}" for k, v in ASKED])
    result = exchange.request(asker, "NL-POL", values)

    held = {(k, v) for k, v in holder.store.query("SELECT kind, value FROM correlate_values")} - _clean(RED)
    expected = _clean(ASKED) & held
    assert len(expected) == 11  # courier30..39 and drop3
    assert set(result.hits) == expected
    assert ("email", "informant@secret.example") not in set(result.hits)  # TLP:RED stays home
    assert result.peer_size == len(held)

    holder_hits = {tuple(r) for r in holder.store.query(
        "SELECT h.kind, h.value FROM matching_hits h JOIN matching_runs r ON r.rid = h.rid WHERE r.role = 'holder'")}
    assert holder_hits == expected

    # on the wire: neither side's values, in any spelling, nor their unmasked points
    wire_bytes = bytes(tap.data)
    assert b"/api/match/psi/sessions" in wire_bytes  # the tap did see the exchange
    for kind, value in list(_clean(ASKED)) + list(held):
        assert value.encode() not in wire_bytes
        assert value.split("@")[0].encode() not in wire_bytes

    for node, role in ((asker, "requester"), (holder, "holder")):
        (raw,) = [r[0] for r in node.store.query("SELECT raw FROM objects WHERE type = 'x-grotius-match'")]
        obj = json.loads(raw)
        assert obj["role"] == role and obj["hit_count"] == len(expected)
        assert {(h["type"], h["value"]) for h in obj["hits"]} == expected
        assert node.store.query_one("SELECT tlp FROM objects WHERE id = ?", (obj["id"],))[0] == "red"
        done = _audit(node, "match.psi.complete")
        assert len(done) == 1
        assert done[0].detail["role"] == role and done[0].detail["hits"] == len(expected)
        assert "courier30" not in json.dumps(done[0].to_dict())  # counts only
        assert audit.verify(node.store).ok


def test_budget_is_enforced_and_audited(nodes: dict[str, Any]) -> None:
    holder, asker = nodes["holder"], nodes["asker"]
    exchange.set_budget(holder, "DE-BKA", max_values=30, period_s=3600, max_runs=5)
    values = exchange.read_input([f"{k}\t{v}" for k, v in ASKED])  # 28 values
    exchange.request(asker, "NL-POL", values)
    with pytest.raises(BudgetExceeded, match="budget"):
        exchange.request(asker, "NL-POL", values)  # 56 > 30
    refused = _audit(holder, "match.psi.refused")
    assert len(refused) == 1 and refused[0].partner == "DE-BKA"
    assert len(_audit(holder, "match.psi.complete")) == 1


def test_cli_prints_hits(nodes: dict[str, Any]) -> None:
    asker, tmp = nodes["asker"], nodes["tmp"]
    f = tmp / "ask.txt"
    f.write_text("# asked by DE-BKA\ncourier31@tidewater.example\nemail\tcourier99@tidewater.example\n"
                 "drop3.tidewater.example\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["match", "NL-POL", "--input", str(f), "--json", "--home", str(asker.home)])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert {(h["type"], h["value"]) for h in out["hits"]} == {
        ("email", "courier31@tidewater.example"), ("domain", "drop3.tidewater.example")}
    bad = tmp / "bad.txt"
    bad.write_text("courier31@tidewater.example\nnot a value at all\n", encoding="utf-8")
    r = CliRunner().invoke(main, ["match", "NL-POL", "--input", str(bad), "--home", str(asker.home)])
    assert r.exit_code == 2 and "line 2" in r.output
