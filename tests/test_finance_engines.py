"""DuckDB and Spark give identical alerts (exact decimal amounts) on the same input.

Spark's cost here is per SQL step (about a hundred of them), not per row, so the input is
the smallest generated network that still plants every typology (and in which every
detector, the ``associates`` expansion included, finds something, about 200 payments),
and the module starts one Spark session and runs the pipeline once on each engine for
all its tests.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

import finance_ml
from grotius.finance.engines import DuckDBEngine, Engine
from grotius.finance.generate import generate, write_amlworld
from grotius.finance.params import DETECTOR_NAMES, Params
from grotius.finance.pipeline import Result, analyse

pytestmark = [pytest.mark.spark, pytest.mark.slow]

BIG = "12345678901234567890.12345678"  # beyond double precision
EXACT = ("9999.12345678", "9000.00000001", "9500.5")  # structuring just under 10000


@pytest.fixture(scope="module")
def spark() -> Iterator[Engine]:
    reason = ""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        reason = "pyspark is not installed (pip install grotius[spark])"
    if not reason and shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        reason = "no Java runtime for Spark"
    if reason:
        if os.environ.get("GROTIUS_REQUIRE_SPARK"):
            pytest.fail(reason)
        pytest.skip(reason)
    from grotius.finance.engines import SparkEngine

    # tiny data: one shuffle partition and no adaptive re-planning cut the Spark jobs the
    # pipeline starts from 244 to 105 (and tasks from 607 to 424); neither changes results
    engine = SparkEngine(conf={"spark.sql.shuffle.partitions": "1", "spark.sql.adaptive.enabled": "false"})
    yield engine
    engine.close()
    engine.spark.stop()  # type: ignore[attr-defined]


@pytest.fixture(scope="module")
def runs(spark: Engine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Result]:
    path = tmp_path_factory.mktemp("engines") / "g.csv"
    net = generate(accounts=40, transactions=100, per_typology=1, seed=21)
    write_amlworld(net, path)
    # one payment of a planted fan-in beyond double precision, three with 8 decimals
    lines = path.read_text().splitlines()
    big_row = int(next(i for i in net.instances if i["typology"] == "fan_in")["transactions"][0])
    cols = lines[big_row].split(",")
    cols[5] = cols[7] = BIG
    lines[big_row] = ",".join(cols)
    for day, amt in zip((2, 3, 4), EXACT):
        lines.append(f"2022/09/0{day} 10:00,1,EXACT1,2,EXACT2,{amt},Euro,{amt},Euro,Wire,1")
    path.write_text("\n".join(lines) + "\n")
    params = Params(typologies=DETECTOR_NAMES)
    params.set("associates.min_payments_with_receiver=2")  # both paths of the expansion
    return {
        "spark": analyse(path, "amlworld", None, engine=spark, params=params),
        "duckdb": analyse(path, "amlworld", None, engine=DuckDBEngine(), params=params),
    }


def _comparable(alerts: list) -> list[dict[str, Any]]:
    out = []
    for a in alerts:
        d = a.to_dict()
        d["explanation"] = {k: v for k, v in d["explanation"].items() if k not in ("engine", "engine_version")}
        out.append(d)
    return out


def test_every_detector_finds_something_on_both_engines(runs: dict[str, Result]) -> None:
    for result in runs.values():
        assert {a.typology for a in result.alerts} == set(DETECTOR_NAMES)
    assert runs["spark"].alerts[0].explanation["engine"] == "spark"
    assert runs["duckdb"].alerts[0].explanation["engine"] == "duckdb"


def test_duckdb_and_spark_give_identical_alerts(runs: dict[str, Result]) -> None:
    assert len(runs["duckdb"].alerts) > 20
    assert _comparable(runs["spark"].alerts) == _comparable(runs["duckdb"].alerts)


def test_amounts_stay_exact_decimals_on_both_engines(runs: dict[str, Result]) -> None:
    for result in runs.values():
        (exact,) = [a for a in result.alerts if a.typology == "structuring" and "EXACT1" in a.accounts]
        assert [t["amount"] for t in exact.explanation["evidence"]["transactions"]] == list(EXACT)
        big = [t for a in result.alerts for t in a.explanation["evidence"]["transactions"] if t["amount"] == BIG]
        assert big and {a.typology for a in result.alerts if big[0]["id"] in a.transactions} >= {"fan_in"}


def test_account_features_are_the_same_on_both_engines(spark: Engine, tmp_path: Path) -> None:
    finance_ml.require("scipy", "account features need grotius[finance-ml] (scipy)")
    import numpy as np

    from grotius.finance.account_model import account_features, pair_table
    from grotius.finance.formats import to_canonical

    net = generate(accounts=40, transactions=150, per_typology=1, seed=4)
    write_amlworld(net, tmp_path / "g.csv")
    to_canonical(tmp_path / "g.csv", "amlworld", tmp_path / "c.csv")
    duck = DuckDBEngine()
    graphs = []
    for engine in (spark, duck):
        engine.load_transactions(tmp_path / "c.csv")
        graphs.append(pair_table(engine, ["nobody"]))
    s, d = graphs
    assert s.accounts == d.accounts and "nobody" in d.accounts and len(d.src) > 100
    for col in ("src", "dst", "n", "total", "smallest"):
        assert np.array_equal(getattr(s, col), getattr(d, col)), col
    assert np.array_equal(account_features(s, [])[1], account_features(d, [])[1], equal_nan=True)
    duck.close()
