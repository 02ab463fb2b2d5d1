"""DuckDB and Spark give identical alerts (exact decimal amounts) on the same input."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from grotius.finance.engines import DuckDBEngine
from grotius.finance.generate import generate, write_amlworld
from grotius.finance.pipeline import analyse

pytestmark = [pytest.mark.spark, pytest.mark.slow]


def _spark() -> Any:
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

    return SparkEngine()


def _comparable(alerts: list) -> list[dict[str, Any]]:
    out = []
    for a in alerts:
        d = a.to_dict()
        d["explanation"] = {k: v for k, v in d["explanation"].items() if k not in ("engine", "engine_version")}
        out.append(d)
    return out


def test_duckdb_and_spark_give_identical_alerts(tmp_path: Path) -> None:
    spark = _spark()
    net = generate(accounts=150, transactions=600, per_typology=1, seed=21)
    write_amlworld(net, tmp_path / "g.csv")
    # one payment with 8 decimal places and one beyond double precision, to pin exactness
    lines = (tmp_path / "g.csv").read_text().splitlines()
    cols = lines[1].split(",")
    cols[5] = cols[7] = "12345678901234567890.12345678"
    lines[1] = ",".join(cols)
    for day, amt in ((2, "9999.12345678"), (3, "9000.00000001"), (4, "9500.5")):
        lines.append(f"2022/09/0{day} 10:00,1,EXACT1,2,EXACT2,{amt},Euro,{amt},Euro,Wire,1")
    (tmp_path / "g.csv").write_text("\n".join(lines) + "\n")
    try:
        on_spark = analyse(tmp_path / "g.csv", "amlworld", None, engine=spark)
    finally:
        spark.close()
    on_duck = analyse(tmp_path / "g.csv", "amlworld", None, engine=DuckDBEngine())
    assert len(on_duck.alerts) > 10
    assert {a.typology for a in on_duck.alerts} >= {"cycle", "fan_in", "structuring", "pass_through", "bipartite"}
    assert _comparable(on_spark.alerts) == _comparable(on_duck.alerts)
    assert on_spark.alerts[0].explanation["engine"] == "spark"
    exact = [a for a in on_duck.alerts if a.typology == "structuring" and "EXACT1" in a.accounts]
    assert [t["amount"] for t in exact[0].explanation["evidence"]["transactions"]] == ["9999.12345678", "9000.00000001", "9500.5"]
