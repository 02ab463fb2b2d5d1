"""Alerts as STIX (validated), as FollowTheMoney entities, stored in a node, drawn as SVG;
and the command line end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from grotius.cli import main
from grotius.finance.export import ALERT_TYPE, alerts_to_ftm, alerts_to_stix
from grotius.exc import InvalidInput
from grotius.finance.evaluate import against_accounts, against_instances
from grotius.finance.formats import read_amlsim_accounts
from grotius.finance.generate import generate, write_amlsim, write_amlworld, write_truth
from grotius.finance.pipeline import analyse, read_alerts
from grotius.finance.store import store_alerts
from grotius.finance.svg import evidence_svg
from grotius.stix.grading import GROTIUS_EXTENSION_ID
from grotius.stix.validate import check
from grotius.store import objects


@pytest.fixture(scope="module")
def alerts(tmp_path_factory: pytest.TempPathFactory) -> list:
    d = tmp_path_factory.mktemp("exp")
    net = generate(accounts=300, transactions=1500, per_typology=2, seed=4)
    write_amlworld(net, d / "g.csv")
    result = analyse(d / "g.csv", "amlworld", d / "out")
    assert read_alerts(d / "out") == result.alerts  # the file round-trips
    return result.alerts


def test_stix_objects_validate_and_carry_the_explanation(alerts: list) -> None:
    objs = alerts_to_stix(alerts, tlp="amber", created_by_ref="identity--0d4c2b8e-7e0f-4f6b-9a53-1b2c3d4e5f60")
    for o in objs:
        assert check(o) == [], o
    by_id = {o["id"]: o for o in objs}
    typs = set()
    for a in alerts:
        sdo = by_id[a.id]
        typs.add(sdo["typology"])
        assert sdo["type"] == ALERT_TYPE and sdo["extensions"][GROTIUS_EXTENSION_ID]["extension_type"] == "new-sdo"
        assert sdo["transactions"] == a.transactions and sdo["accounts"] == a.accounts and sdo["score"] == a.score
        assert sdo["explanation"]["evidence"]["transactions"][0]["from_account"] in a.accounts
        (obs_id,) = sdo["object_refs"]
        obs = by_id[obs_id]
        assert obs["type"] == "observed-data" and obs["number_observed"] == len(a.transactions)
        assert sorted(by_id[r]["user_id"] for r in obs["object_refs"]) == sorted(a.accounts)
    assert {"cycle", "structuring", "stack"} <= typs


def test_stix_with_the_reference_validator(alerts: list) -> None:
    import stix2validator

    bundle = {"type": "bundle", "id": "bundle--0b7b2a52-1111-4f6b-9a53-1b2c3d4e5f60",
              "objects": alerts_to_stix(alerts[:5], tlp="green")}
    res = stix2validator.validate_instance(bundle, stix2validator.ValidationOptions(strict=False))
    assert res.is_valid, [str(e) for r in res.object_results for e in r.errors]


def test_ftm_entities_link_payments_to_accounts(alerts: list) -> None:
    ents = alerts_to_ftm(alerts)
    accounts = {e["id"]: e for e in ents if e["schema"] == "BankAccount"}
    payments = [e for e in ents if e["schema"] == "Payment"]
    assert len(payments) == len({t for a in alerts for t in a.transactions})
    for p in payments:
        assert p["properties"]["payerAccount"][0] in accounts
        assert p["properties"]["beneficiaryAccount"][0] in accounts
        assert any(n.startswith("Grotius alert x-grotius-alert--") for n in p["properties"]["notes"])
    numbers = {e["properties"]["accountNumber"][0] for e in accounts.values()}
    assert numbers == {x for a in alerts for x in a.accounts}


def test_alerts_are_stored_in_the_node_under_tlp(node: object, alerts: list) -> None:
    summary = store_alerts(node.home, alerts[:10], tlp="amber")  # type: ignore[attr-defined]
    assert summary.stored >= 30 and summary.unchanged == 0
    st = objects.get(node.store, alerts[0].id)  # type: ignore[attr-defined]
    assert st is not None and st.tlp == "amber"
    assert st.obj["typology"] == alerts[0].typology and st.obj["created_by_ref"] == node.identity_id  # type: ignore[attr-defined]
    assert st.obj["transactions"] == alerts[0].transactions


def test_evidence_svg_draws_accounts_and_payments(alerts: list) -> None:
    a = next(x for x in alerts if x.typology == "cycle")
    svg = evidence_svg(a)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert svg.count('class="account"') == len(a.accounts)
    assert svg.count('class="payment"') == len(a.transactions)
    first = a.explanation["evidence"]["transactions"][0]
    assert first["time"][:10] in svg and first["amount"] in svg


def test_cli_analyse_writes_alert_lines_and_reports_bad_input(tmp_path: Path) -> None:
    runner = CliRunner()
    gen = runner.invoke(main, ["finance", "generate", "--out", str(tmp_path / "g.csv"), "--accounts", "200",
                               "--transactions", "1000", "--per-typology", "1"])
    assert gen.exit_code == 0, gen.output
    res = runner.invoke(main, ["finance", "analyse", str(tmp_path / "g.csv"), "--format", "amlworld", "--out",
                               str(tmp_path / "out"), "--truth", str(tmp_path / "g.truth.json"), "--quiet",
                               "--set", "cycle.max_hops=7", "--typology", "cycle,structuring"])
    assert res.exit_code == 0, res.output
    lines = (tmp_path / "out" / "alerts.jsonl").read_text().splitlines()
    assert lines
    for line in lines:
        a = json.loads(line)
        assert set(a) == {"id", "typology", "score", "accounts", "transactions", "explanation"}
        assert a["typology"] in ("cycle", "structuring")
        assert a["explanation"]["parameters"].get("max_hops", 7) == 7
    ev = json.loads((tmp_path / "out" / "evaluation.json").read_text())
    assert ev["typologies"]["cycle"]["recall"] == 1.0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["import"]["rows_rejected"] == 0
    # bad input: a clear message with the line, exit status 2, no traceback
    bad = tmp_path / "bad.csv"
    text = (tmp_path / "g.csv").read_text().splitlines()
    text[5] = text[5].replace(",US Dollar,", ",US Dollar,x", 1)
    bad.write_text("\n".join(text) + "\n")
    res = runner.invoke(main, ["finance", "analyse", str(bad), "--format", "amlworld", "--out", str(tmp_path / "o2"), "--quiet"])
    assert res.exit_code == 2 and "line 6" in res.output and "Traceback" not in res.output
    res = runner.invoke(main, ["finance", "analyse", str(bad), "--format", "amlworld", "--out", str(tmp_path / "o2"),
                               "--quiet", "--set", "cycle.nope=3"])
    assert res.exit_code == 2 and "cycle has no parameter 'nope'" in res.output
    stix = runner.invoke(main, ["finance", "export", str(tmp_path / "out"), "--to", "stix"])
    assert stix.exit_code == 0 and json.loads(stix.output)["type"] == "bundle"


def test_library_analyse_writes_the_evaluation_the_cli_writes(tmp_path: Path) -> None:
    net = generate(accounts=300, transactions=1500, per_typology=2, seed=4)
    write_truth(net, tmp_path / "truth.json", write_amlsim(net, tmp_path / "sim"))
    labels = read_amlsim_accounts(tmp_path / "sim")
    result = analyse(tmp_path / "sim", "amlsim", tmp_path / "lib", truth=tmp_path / "truth.json", account_labels=labels)
    written = json.loads((tmp_path / "lib" / "evaluation.json").read_text())
    instances = json.loads((tmp_path / "truth.json").read_text())["instances"]
    assert written == result.evaluation == {"typologies": against_instances(result.alerts, instances),
                                            "accounts": against_accounts(result.alerts, labels)}
    assert written["typologies"]["cycle"]["recall"] == 1.0
    r = CliRunner().invoke(main, ["finance", "analyse", str(tmp_path / "sim"), "--format", "amlsim", "--quiet",
                                  "--out", str(tmp_path / "cli"), "--truth", str(tmp_path / "truth.json"),
                                  "--labels", str(tmp_path / "sim" / "nodes.csv")])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "cli" / "evaluation.json").read_text() == (tmp_path / "lib" / "evaluation.json").read_text()
    assert "  cycle           recall 1.0" in r.output and "  accounts: recall " in r.output
    # nothing to evaluate: no evaluation.json
    analyse(tmp_path / "sim", "amlsim", tmp_path / "plain")
    assert not (tmp_path / "plain" / "evaluation.json").exists()
    # a file that is not a truth.json is refused before the import, naming it
    (tmp_path / "nodes.json").write_text('{"accounts": []}')
    with pytest.raises(InvalidInput, match="nodes.json is not a truth.json") as e:
        analyse(tmp_path / "sim", "amlsim", tmp_path / "bad", truth=tmp_path / "nodes.json")
    assert e.value.property == "truth" and not (tmp_path / "bad").exists()


def test_rerunning_analyse_into_a_node_changes_nothing(node: object, tmp_path: Path) -> None:
    """Same input, same alerts: same ids, same stored bytes, no new versions. A changed
    parameter makes a new version of the affected alerts that keeps their ``created``."""
    runner = CliRunner()
    gen = runner.invoke(main, ["finance", "generate", "--out", str(tmp_path / "g.csv"), "--accounts", "200",
                               "--transactions", "1000", "--per-typology", "2", "--seed", "8"])
    assert gen.exit_code == 0, gen.output
    home = str(node.home)  # type: ignore[attr-defined]
    args = ["finance", "analyse", str(tmp_path / "g.csv"), "--format", "amlworld", "--out", str(tmp_path / "out"),
            "--typology", "cycle,structuring", "--home", home, "--quiet"]

    def run(*extra: str) -> tuple[str, dict[str, list[objects.Stored]]]:
        res = runner.invoke(main, [*args, *extra])
        assert res.exit_code == 0, res.output
        ids = [json.loads(line)["id"] for line in (tmp_path / "out" / "alerts.jsonl").read_text().splitlines()]
        assert ids
        return res.output, {i: objects.versions(node.store, i) for i in ids}  # type: ignore[attr-defined]

    first, held = run()
    assert " 0 unchanged" in first
    second, again = run()
    assert again.keys() == held.keys()
    n_objects = int(first.split(" alert objects stored")[0].rsplit(" ", 1)[-1])
    assert n_objects > 2 * len(held)
    assert f"0 alert objects stored, {n_objects} unchanged" in second
    for i, versions in again.items():
        assert len(versions) == 1 and versions[0].raw == held[i][0].raw
    _, changed = run("--set", "cycle.amount_tolerance=0.3")  # parameters are part of the evidence
    cycles = [i for i, v in changed.items() if v[-1].obj["typology"] == "cycle"]
    assert cycles
    for i in cycles:
        old, new = changed[i]
        assert new.obj["created"] == old.obj["created"] and new.obj["modified"] > old.obj["modified"]
        assert new.obj["explanation"]["parameters"]["amount_tolerance"] == 0.3
    assert all(len(v) == 1 for i, v in changed.items() if i not in cycles)
