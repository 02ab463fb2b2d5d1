"""Typology detectors on hand-made networks and on generated ones with planted instances."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from grotius.exc import InvalidInput
from grotius.finance.evaluate import against_instances
from grotius.finance.generate import generate, write_amlworld, write_truth
from grotius.finance.params import Params, TYPOLOGIES
from grotius.finance.pipeline import analyse

HEADER = ["Timestamp", "From Bank", "Account", "To Bank", "Account", "Amount Received", "Receiving Currency",
          "Amount Paid", "Payment Currency", "Payment Format"]


def _write(tmp_path: Path, rows: list[tuple[str, str, str, str]]) -> Path:
    """rows: (time 'YYYY/MM/DD HH:MM', from, to, amount)"""
    p = tmp_path / "t.csv"
    with p.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for t, a, b, amt in rows:
            w.writerow([t, 1, a, 1, b, amt, "Euro", amt, "Euro", "Wire"])
    return p


def _run(path: Path, *typs: str, sets: tuple[str, ...] = ()) -> list:
    params = Params(typologies=typs)
    for s in sets:
        params.set(s)
    return analyse(path, "amlworld", None, params=params).alerts


def test_time_ordered_cycle_is_found_once_with_its_evidence(tmp_path: Path) -> None:
    p = _write(tmp_path, [
        ("2022/09/01 10:00", "A", "B", "1000.00"),
        ("2022/09/02 10:00", "B", "C", "980.00"),
        ("2022/09/03 10:00", "C", "D", "960.50"),
        ("2022/09/04 10:00", "D", "A", "950.25"),
        ("2022/09/05 10:00", "X", "Y", "10.00"),
    ])
    (alert,) = _run(p, "cycle")
    assert alert.typology == "cycle"
    assert alert.accounts == ["A", "B", "C", "D"]
    assert alert.transactions == ["1", "2", "3", "4"]
    ev = alert.explanation["evidence"]["transactions"]
    assert [t["amount"] for t in ev] == ["1000", "980", "960.5", "950.25"]
    assert ev[0]["time"] == "2022-09-01T10:00:00Z" and ev[0]["from"] == "A" and ev[0]["to"] == "B"
    assert alert.explanation["features"]["hops"] == 4
    assert alert.explanation["engine"] == "duckdb"
    assert 0.5 <= alert.score <= 1.0 and alert.explanation["score"]["drivers"]


def test_cycle_out_of_time_order_or_too_slow_is_not_a_cycle(tmp_path: Path) -> None:
    p = _write(tmp_path, [
        ("2022/09/03 10:00", "A", "B", "1000.00"),  # A->B after B->C: money cannot flow round
        ("2022/09/02 10:00", "B", "C", "990.00"),
        ("2022/09/04 10:00", "C", "A", "980.00"),
        ("2022/09/01 10:00", "P", "Q", "500.00"),
        ("2022/09/05 10:00", "Q", "R", "490.00"),
        ("2022/09/30 10:00", "R", "P", "480.00"),  # closes after the 10-day window
    ])
    assert _run(p, "cycle") == []
    assert len(_run(p, "cycle", sets=("cycle.window=40d",))) == 1


def test_structuring_needs_repeats_just_under_the_threshold(tmp_path: Path) -> None:
    rows = [(f"2022/09/0{d} 09:00", "S", f"R{d % 2}", a) for d, a in ((1, "9500.00"), (2, "9900.00"), (3, "9999.99"))]
    rows += [("2022/09/01 09:00", "T", "R", "9500.00"), ("2022/09/02 09:00", "T", "R", "10000.00"),
             ("2022/09/03 09:00", "T", "R", "8999.99")]
    (alert,) = _run(_write(tmp_path, rows), "structuring")
    assert alert.accounts[0] == "S" and len(alert.transactions) == 3
    assert alert.explanation["features"]["threshold"] == "10000"


def test_pass_through_chain_respects_delay_and_tolerance(tmp_path: Path) -> None:
    p = _write(tmp_path, [
        ("2022/09/01 08:00", "A", "M1", "5000.00"),
        ("2022/09/01 10:00", "M1", "M2", "4900.00"),
        ("2022/09/01 13:00", "M2", "M3", "4850.00"),
        ("2022/09/01 15:00", "M3", "Z", "4800.00"),
        ("2022/09/01 08:00", "B", "N1", "5000.00"),
        ("2022/09/01 09:00", "N1", "N2", "2000.00"),  # passes on too little
        ("2022/09/01 10:00", "N2", "N3", "1990.00"),
    ])
    (alert,) = _run(p, "pass_through")
    assert alert.accounts == ["A", "M1", "M2", "M3", "Z"]
    assert alert.explanation["features"]["length"] == 4


def test_fan_in_and_out_count_distinct_counterparties_in_a_window(tmp_path: Path) -> None:
    rows = [(f"2022/09/01 {h:02d}:00", f"S{h}", "HUB", "100.00") for h in range(5)]
    rows += [(f"2022/09/0{d} 10:00", f"Q{d}", "SLOW", "100.00") for d in range(1, 10)]  # one a day
    rows += [("2022/09/02 12:00", "HUB", f"D{i}", "99.00") for i in range(4)]
    alerts = _run(_write(tmp_path, rows), "fan_in", "fan_out", "gather_scatter")
    by = {(a.typology, a.explanation["features"].get("account")) for a in alerts}
    assert ("fan_in", "HUB") in by
    assert not any(a.typology == "fan_in" and "SLOW" in a.accounts for a in alerts)
    assert not any(a.typology == "fan_out" for a in alerts)  # 4 < 5 destinations
    assert ("gather_scatter", "HUB") in by


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list]:
    d = tmp_path_factory.mktemp("gen")
    net = generate(accounts=1500, transactions=12000, per_typology=12, seed=11)
    write_amlworld(net, d / "g.csv")
    write_truth(net, d / "g.truth.json")
    return d / "g.csv", net.instances


def test_recall_of_planted_typologies_is_at_least_95_percent(planted: tuple[Path, list]) -> None:
    path, instances = planted
    result = analyse(path, "amlworld", None)
    metrics = against_instances(result.alerts, instances)
    for typ in TYPOLOGIES:
        m = metrics[typ]
        print(typ, m)
        assert m["instances"] == 12
        assert m["recall"] >= 0.95, (typ, m)
        assert m["precision"] is not None and m["precision"] > 0
    # every alert carries its full evidence
    for a in result.alerts[:50]:
        ev = a.explanation["evidence"]
        assert [t["id"] for t in ev["transactions"]] == a.transactions
        assert set(ev["accounts"]) == {x for t in ev["transactions"] for x in (t["from"], t["to"])}


def test_associates_widen_a_small_fan_in_to_accounts_closing_triangles_with_it(tmp_path: Path) -> None:
    rows = [(f"2022/09/01 {h:02d}:00", f"S{h}", "M", "9.50") for h in range(1, 6)]  # the fan-in group
    rows += [
        ("2022/09/03 10:00", "H", "S1", "300.00"), ("2022/09/04 10:00", "S2", "H", "250.00"),  # H deals with two of it
        ("2022/09/05 10:00", "X|7", "M", "410.00"),  # X pays the receiver ...
        ("2022/09/06 10:00", "X|7", "H", "120.00"),  # ... and deals with H: an associate
        ("2022/09/05 11:00", "Y", "M", "400.00"), ("2022/09/06 11:00", "Y", "Z", "100.00"),  # Z knows only S1
        ("2022/09/08 11:00", "M", "Y", "50.00"),
        ("2022/09/07 11:00", "Z", "S1", "100.00"),
        ("2022/09/06 12:00", "W", "H", "100.00"),  # knows H but not the receiver
    ]
    path = _write(tmp_path, rows)
    alerts = _run(path, "associates")
    (alert,) = [a for a in alerts if a.typology == "associates"]
    assert {a.typology for a in alerts} == {"associates"}  # fan_in ran only as its input
    f = alert.explanation["features"]
    assert (f["account"], f["fan_in_account"], f["shared_counterparties"]) == ("X|7", "M", ["H"])
    assert f["group_accounts_reached"] == 2 and f["payments_with_fan_in_account"] == 1
    assert sorted(alert.accounts) == ["H", "M", "S1", "S2", "X|7"]
    assert [(t["from"], t["to"]) for t in alert.explanation["evidence"]["transactions"]] == [
        ("H", "S1"), ("S2", "H"), ("X|7", "M"), ("X|7", "H")]
    assert alert.explanation["parameters"]["associates"] == {"min_shared": 2, "max_group": 12, "min_payments_with_receiver": 0}
    assert _run(path, "associates", sets=("associates.min_shared=3",)) == []
    # Y deals with the receiver twice but shares no counterparty: an associate only when asked
    by_repeats = _run(path, "associates", sets=("associates.min_shared=3", "associates.min_payments_with_receiver=2"))
    assert [(a.explanation["features"]["account"], a.explanation["features"]["payments_with_fan_in_account"],
             sorted(a.accounts)) for a in by_repeats] == [("Y", 2, ["M", "Y"])]
    assert _run(path, "associates", sets=("associates.max_group=5",)) == []  # the group has six accounts


@pytest.mark.parametrize("args, message", [
    (["--accounts", "0"], "accounts must be at least 2"), (["--accounts", "1"], "accounts must be at least 2"),
    (["--transactions", "-1"], "transactions must not be negative"),
    (["--per-typology", "-1"], "per_typology must not be negative"),
])
def test_generate_refuses_impossible_sizes_without_a_traceback(tmp_path: Path, args: list[str], message: str) -> None:
    from click.testing import CliRunner

    from grotius.finance.commands import finance

    r = CliRunner().invoke(finance, ["generate", "--out", str(tmp_path / "g.csv"), *args])
    assert r.exit_code == 2 and message in r.output, (r.output, r.exception)
    assert not (tmp_path / "g.csv").exists()


def test_unknown_typology_is_refused_even_with_nothing_to_plant() -> None:
    with pytest.raises(InvalidInput, match="unknown typology 'smurfing'"):
        generate(accounts=10, transactions=10, per_typology=0, typologies=("smurfing",))


def test_alerts_reach_a_node_only_through_an_explicit_home(tmp_path: Path) -> None:
    # GROTIUS_HOME selects the node for node commands; analysing a file must not quietly
    # store (and so share) its alerts because the variable happens to be exported
    from click.testing import CliRunner

    from grotius.finance.commands import finance
    from grotius.node import Node, init

    home = tmp_path / "home"
    init(home, "NL-FIU").close()
    write_amlworld(generate(accounts=60, transactions=300, per_typology=1, seed=3), tmp_path / "g.csv")
    run = CliRunner(env={"GROTIUS_HOME": str(home)})

    def alerts_held() -> int:
        node = Node.open(home)
        try:
            return node.store.query_one("SELECT COUNT(*) FROM objects WHERE type = 'x-grotius-alert'")[0]
        finally:
            node.close()

    args = ["analyse", str(tmp_path / "g.csv"), "--format", "amlworld", "--quiet"]
    r = run.invoke(finance, [*args, "--out", str(tmp_path / "a")])
    assert r.exit_code == 0, r.output
    assert "alert objects stored" not in r.output and alerts_held() == 0
    r = run.invoke(finance, [*args, "--out", str(tmp_path / "b"), "--home", str(home)])
    assert r.exit_code == 0, r.output
    assert alerts_held() > 0
