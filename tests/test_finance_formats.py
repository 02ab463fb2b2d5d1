"""Importers: AMLworld CSV, AMLSim folders, FollowTheMoney JSON lines; malformed rows."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from grotius.exc import InvalidInput
from grotius.finance.formats import read_amlsim_accounts, read_canonical, to_canonical

AMLSIM = Path(__file__).resolve().parents[2] / "shared" / "data" / "amlsim" / "20K_fanin200"
if not AMLSIM.exists():
    AMLSIM = Path("/work/shared/data/amlsim/20K_fanin200")

HEADER = "Timestamp,From Bank,Account,To Bank,Account,Amount Received,Receiving Currency,Amount Paid,Payment Currency,Payment Format,Is Laundering\n"


def _aml(tmp_path: Path, rows: list[str]) -> Path:
    p = tmp_path / "t.csv"
    p.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="utf-8")
    return p


def test_amlworld_rows_become_canonical_with_exact_amounts(tmp_path: Path) -> None:
    p = _aml(tmp_path, [
        "2022/09/01 00:20,10,8000EBD30,10,8000EBD30,3697.34,US Dollar,3697.34,US Dollar,Reinvestment,0",
        "2022/09/01 00:20,3208,8000F4580,1,8000F5340,0.01,US Dollar,0.01,US Dollar,Cheque,1",
        "2022/09/01 00:02,1,8000F5AD0,1,80012A0E0,123456789012345678.12345678,Euro,100.1,US Dollar,Wire,0",
    ])
    report = to_canonical(p, "amlworld", tmp_path / "c.csv")
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (3, 3, 0)
    assert report.labelled
    rows = list(read_canonical(tmp_path / "c.csv"))
    assert [r["tx_id"] for r in rows] == ["1", "2", "3"]
    assert rows[1]["src"] == "8000F4580" and rows[1]["dst"] == "8000F5340" and rows[1]["label"] == "1"
    assert rows[2]["amount_received"] == "123456789012345678.12345678"
    assert rows[2]["amount"] == "100.1" and rows[2]["currency"] == "US Dollar" and rows[2]["currency_received"] == "Euro"
    assert rows[0]["ts"] == str(1661991600)


@pytest.mark.parametrize(
    "row, message",
    [
        ("2022/09/01 00:20,10,A,10,B,abc,US Dollar,1,US Dollar,ACH,0", "Amount Received: 'abc' is not a decimal"),
        ("2022/13/01 00:20,10,A,10,B,1,US Dollar,1,US Dollar,ACH,0", "Timestamp"),
        ("2022/09/01 00:20,10,,10,B,1,US Dollar,1,US Dollar,ACH,0", "Account: missing value"),
        ("2022/09/01 00:20,10,A,10,B,1,US Dollar,1,US Dollar,ACH", "expected 11 fields, found 10"),
        ("2022/09/01 00:20,10,A,10,B,1,US Dollar,-5,US Dollar,ACH,0", "negative amount"),
        ("2022/09/01 00:20,10,A,10,B,1,US Dollar,1,US Dollar,ACH,yes", "Is Laundering"),
        ("2022/09/01 00:20,10,A,10,B,1.123456789,US Dollar,1,US Dollar,ACH,0", "more than 8 decimal places"),
    ],
)
def test_malformed_amlworld_row_names_its_line(tmp_path: Path, row: str, message: str) -> None:
    good = "2022/09/01 00:20,10,A,10,B,1,US Dollar,1,US Dollar,ACH,0"
    p = _aml(tmp_path, [good, row, good])
    with pytest.raises(InvalidInput) as e:
        to_canonical(p, "amlworld", tmp_path / "c.csv")
    assert "line 3" in str(e.value) and message in str(e.value)
    assert e.value.detail["line"] == 3


def test_skip_invalid_counts_and_lists_rejected_rows(tmp_path: Path) -> None:
    good = "2022/09/01 00:20,10,A,10,B,1,US Dollar,1,US Dollar,ACH,0"
    p = _aml(tmp_path, [good, "2022/09/01 00:20,10,A,10,B,x,US Dollar,1,US Dollar,ACH,0", good, "garbage"])
    report = to_canonical(p, "amlworld", tmp_path / "c.csv", skip_invalid=True)
    assert (report.rows_read, report.rows_accepted, report.rows_rejected) == (4, 2, 2)
    assert [e["line"] for e in report.errors] == [3, 5]
    assert len(list(read_canonical(tmp_path / "c.csv"))) == 2


def test_wrong_header_is_rejected(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text("a,b,c\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match="not the AMLworld layout"):
        to_canonical(p, "amlworld", tmp_path / "c.csv")


def test_amlsim_example_imports_every_row() -> None:
    if not AMLSIM.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI lays shared/ beside the clone, but {AMLSIM} is missing")
        pytest.skip("shared AMLSim example not present")
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        report = to_canonical(AMLSIM, "amlsim", Path(d) / "c.csv")
        assert report.rows_accepted == 118250 and report.rows_rejected == 0
        first = next(iter(read_canonical(Path(d) / "c.csv")))
    assert (first["src"], first["dst"], first["amount"], first["ts"]) == ("360", "18984", "103.55", "86400")
    labels = read_amlsim_accounts(AMLSIM)
    assert len(labels) == 20000 and sum(labels.values()) == 954


def test_amlsim_bad_step_names_line(tmp_path: Path) -> None:
    (tmp_path / "transactions.csv").write_text("sourceNodeId,targetNodeId,value,time\n1,2,3.5,1\n1,2,3.5,one\n")
    with pytest.raises(InvalidInput, match="line 3: time: 'one' is not an integer step"):
        to_canonical(tmp_path, "amlsim", tmp_path / "c.csv")


def test_ftm_payments_and_errors(tmp_path: Path) -> None:
    lines = [
        {"id": "acc-1", "schema": "BankAccount", "properties": {"iban": ["NL91ABNA0417164300"]}},
        {"id": "acc-2", "schema": "BankAccount", "properties": {}},
        {"id": "pay-1", "schema": "Payment", "properties": {"payerAccount": ["acc-1"], "beneficiaryAccount": ["acc-2"],
                                                             "amount": ["9500.00"], "currency": ["EUR"], "date": ["2026-03-01"]}},
        {"id": "p-x", "schema": "Person", "properties": {"name": ["Someone"]}},
    ]
    p = tmp_path / "ftm.jsonl"
    p.write_text("\n".join(json.dumps(x) for x in lines) + "\n", encoding="utf-8")
    report = to_canonical(p, "ftm", tmp_path / "c.csv")
    assert report.rows_accepted == 1
    (row,) = list(read_canonical(tmp_path / "c.csv"))
    assert (row["tx_id"], row["src"], row["dst"], row["amount"], row["currency"]) == ("pay-1", "acc-1", "acc-2", "9500.00", "EUR")
    p.write_text(p.read_text() + '{"id": "pay-2", "schema": "Payment", "properties": {"amount": ["1"]}}\n{not json\n')
    with pytest.raises(InvalidInput, match="line 5: payerAccount: missing value"):
        to_canonical(p, "ftm", tmp_path / "c.csv")
    report = to_canonical(p, "ftm", tmp_path / "c.csv", skip_invalid=True)
    assert report.rows_rejected == 2 and [e["line"] for e in report.errors] == [5, 6]
