"""The learned score: AMLworld protocol (temporal 60/20/20, minority-class F1)."""

from __future__ import annotations

from pathlib import Path

import pytest

from grotius.exc import InvalidInput
from grotius.finance.generate import generate, write_amlworld
from grotius.finance.pipeline import analyse
from finance_ml import require

require("sklearn", "the scoring model needs grotius[finance-ml] (scikit-learn)")


def test_model_trains_on_graph_features_and_reports_minority_f1(tmp_path: Path) -> None:
    net = generate(accounts=1500, transactions=10000, per_typology=12, seed=8)
    write_amlworld(net, tmp_path / "g.csv")
    result = analyse(tmp_path / "g.csv", "amlworld", tmp_path / "out", train=True)
    m = result.model
    assert m is not None
    t = m["transactions"]
    assert t["train"] + t["validation"] + t["test"] == result.transactions
    assert abs(t["train"] / result.transactions - 0.6) < 0.01
    assert all(v > 0 for v in m["laundering"].values())
    assert "in_cycle" in m["features"] and "dst_in_k" in m["features"]
    print(m["test"], m["validation"])
    assert m["test"]["f1"] > 0.5  # planted typologies are learnable from the detector flags


def test_training_without_labels_says_so(tmp_path: Path) -> None:
    net = generate(accounts=200, transactions=800, per_typology=1, seed=2)
    write_amlworld(net, tmp_path / "g.csv")
    lines = (tmp_path / "g.csv").read_text().splitlines()
    unl = [",".join(line.split(",")[:10]) for line in lines]
    (tmp_path / "u.csv").write_text("\n".join(unl) + "\n")
    with pytest.raises(InvalidInput, match="no laundering label"):
        analyse(tmp_path / "u.csv", "amlworld", None, train=True)
