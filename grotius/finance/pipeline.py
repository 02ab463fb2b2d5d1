"""One analysis run: import, detect on an engine, assemble alerts, write results."""

from __future__ import annotations

import csv
import json
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..exc import InvalidInput
from .alerts import Alert, Tx, build_alert, rank_accounts, rank_transactions
from .detectors import DETECTORS, prepare
from .engines import Engine, as_decimal, open_engine
from .formats import ImportReport, to_canonical
from .params import DETECTOR_NAMES, Params, TYPOLOGIES

Progress = Callable[[str, int, int], None]  # (step, done, total)


@dataclass
class Result:
    alerts: list[Alert]
    report: ImportReport
    engine: str
    engine_version: str
    seconds: dict[str, float] = field(default_factory=dict)
    transactions: int = 0
    model: dict[str, Any] | None = None
    account_model: dict[str, Any] | None = None
    account_scores: list[dict[str, Any]] = field(default_factory=list)
    #: the model fitted on all labelled accounts (``account_file.bundle``), saved beside the results
    account_model_file: dict[str, Any] | None = None
    #: scoring with a saved model (``account_file.score_accounts``)
    account_scoring: dict[str, Any] | None = None
    #: what evaluation.json holds: recall and precision against planted instances
    #: (``typologies``) and account labels (``accounts``, ``account_scoring``), and the models
    evaluation: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        per: dict[str, int] = {}
        for a in self.alerts:
            per[a.typology] = per.get(a.typology, 0) + 1
        return {
            "import": self.report.to_dict(),
            "engine": self.engine,
            "engine_version": self.engine_version,
            "transactions": self.transactions,
            "alerts": len(self.alerts),
            "alerts_per_typology": per,
            "seconds": self.seconds,
            **({"model": self.model} if self.model else {}),
            **({"account_model": {k: v for k, v in self.account_model.items() if k != "pr_curve"}}
               if self.account_model else {}),
            **({"account_scoring": self.account_scoring} if self.account_scoring else {}),
        }


def typologies_of(params: Params) -> tuple[str, ...]:
    chosen = params.typologies or TYPOLOGIES
    for t in chosen:
        if t not in DETECTORS:
            raise InvalidInput(f"unknown typology {t!r}; expected some of {', '.join(DETECTOR_NAMES)}",
                               property="typology")
    return tuple(t for t in DETECTOR_NAMES if t in chosen)


def detect(
    engine: Engine, params: Params, progress: Progress | None = None, input_format: str = ""
) -> tuple[list[Alert], dict[str, float]]:
    """Run the detectors on the loaded ``tx`` table and assemble the alerts."""
    chosen = typologies_of(params)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    prepare(engine, params)
    seconds["prepare"] = time.perf_counter() - t0
    for i, typ in enumerate(chosen):
        if progress:
            progress(typ, i, len(chosen))
        t0 = time.perf_counter()
        DETECTORS[typ](engine, params)
        seconds[typ] = time.perf_counter() - t0
    if progress:
        progress("evidence", len(chosen), len(chosen))
    t0 = time.perf_counter()
    union = " UNION ALL ".join(f"SELECT '{t}' AS typ, akey, tx_id FROM m_{t}" for t in chosen)
    rows = engine.fetch(
        "SELECT u.typ, u.akey, t.tx_id, t.seq, t.src, t.dst, t.amount, t.currency, t.amount_received, "
        "t.currency_received, t.ts, t.src_bank, t.dst_bank, t.payment_format "
        f"FROM ({union}) u JOIN tx t ON t.tx_id = u.tx_id"
    )
    groups: dict[tuple[str, str], dict[str, Tx]] = {}
    for r in rows:
        tx = Tx(r[2], int(r[3]), r[4], r[5], as_decimal(r[6]), r[7] or "", as_decimal(r[8]), r[9] or "", int(r[10]),
                r[11] or "", r[12] or "", r[13] or "")
        groups.setdefault((r[0], r[1]), {})[tx.tx_id] = tx
    alerts: dict[str, Alert] = {}
    for (typ, akey), txs in groups.items():
        a = build_alert(typ, list(txs.values()), params, engine.name, engine.version, input_format, key=akey)
        alerts[a.id] = a  # the same evidence found twice is one alert
    out = sorted(alerts.values(), key=lambda a: (-a.score, a.typology, a.id))
    seconds["assemble"] = time.perf_counter() - t0
    return out, seconds


def analyse(
    path: Path,
    fmt: str,
    out_dir: Path | None = None,
    *,
    engine: str | Engine = "duckdb",
    params: Params | None = None,
    skip_invalid: bool = False,
    progress: Progress | None = None,
    engine_options: dict[str, Any] | None = None,
    train: bool = False,
    account_labels: dict[str, int] | None = None,
    account_model: Path | None = None,
    truth: Path | None = None,
) -> Result:
    """With ``train``: account labels train the account score (``account_model.py``);
    labelled transactions, or no account labels, train the transaction score (``model.py``).
    ``account_model``: score every account with a model file saved by such a run.
    ``truth`` (truth.json of ``generate``) and ``account_labels`` are also what the alerts
    and scores are evaluated against (``Result.evaluation``, DIR/evaluation.json)."""
    params = params or Params()
    typologies_of(params)
    instances = read_truth(truth) if truth is not None else None
    saved_model = None
    if account_model is not None:
        if train:
            raise InvalidInput("--account-model applies a trained model; it cannot be combined with --train",
                               property="account_model")
        from .account_file import load

        saved_model = load(account_model)  # before the import: a bad file fails at once
    work = Path(tempfile.mkdtemp(prefix="grotius-finance-"))
    own_engine = isinstance(engine, str)
    eng: Engine | None = None
    try:
        t0 = time.perf_counter()
        if progress:
            progress("import", 0, 1)
        canonical = work / "transactions.csv"
        report = to_canonical(Path(path), fmt, canonical, skip_invalid=skip_invalid,
                              progress=(lambda n: progress("import", n, 0)) if progress else None)
        t_import = time.perf_counter() - t0
        t0 = time.perf_counter()
        eng = open_engine(engine, **(engine_options or {})) if isinstance(engine, str) else engine
        eng.load_transactions(canonical)
        n = eng.count("tx")
        t_load = time.perf_counter() - t0
        alerts, seconds = detect(eng, params, progress, fmt)
        seconds = {"import": t_import, "load": t_load, **seconds}
        result = Result(alerts, report, eng.name, eng.version, {k: round(v, 3) for k, v in seconds.items()}, n)
        if train and account_labels is not None:
            from .account_model import train_accounts

            if progress:
                progress("account model", 0, 1)
            t0 = time.perf_counter()
            result.account_model, result.account_scores, result.account_model_file = train_accounts(
                eng, alerts, account_labels)
            result.seconds["account_model"] = round(time.perf_counter() - t0, 3)
        if saved_model is not None:
            from .account_file import score_accounts

            if progress:
                progress("account scores", 0, 1)
            t0 = time.perf_counter()
            result.account_scoring, result.account_scores = score_accounts(eng, alerts, saved_model)
            result.account_scoring["model_file"] = str(account_model)
            result.seconds["account_scores"] = round(time.perf_counter() - t0, 3)
        if train and (account_labels is None or report.labelled):
            from .model import train_and_evaluate

            if progress:
                progress("model", 0, 1)
            t0 = time.perf_counter()
            result.model = train_and_evaluate(eng, typologies_of(params))
            result.seconds["model"] = round(time.perf_counter() - t0, 3)
        result.evaluation = evaluate(result, instances, account_labels)
        if out_dir is not None:
            write_results(result, Path(out_dir), params)
        return result
    finally:
        if eng is not None and own_engine:
            eng.close()
        shutil.rmtree(work, ignore_errors=True)


def read_truth(path: Path) -> list[dict[str, Any]]:
    """The planted instances listed in a truth.json written by ``generate``."""
    try:
        instances = json.loads(Path(path).read_text(encoding="utf-8"))["instances"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as e:
        raise InvalidInput(f"{path} is not a truth.json from `grotius finance generate` ({e!r})",
                           property="truth") from None
    if not isinstance(instances, list):
        raise InvalidInput(f"{path}: 'instances' is not a list", property="truth")
    return instances


def evaluate(result: Result, instances: list[dict[str, Any]] | None = None,
             account_labels: dict[str, int] | None = None) -> dict[str, Any]:
    """What evaluation.json holds for this run; empty when there was nothing to evaluate."""
    out: dict[str, Any] = {}
    if instances is not None:
        from .evaluate import against_instances

        out["typologies"] = against_instances(result.alerts, instances)
    if account_labels is not None:
        from .evaluate import against_accounts

        out["accounts"] = against_accounts(result.alerts, account_labels)
    if result.model:
        out["model"] = result.model
    if result.account_model:
        out["account_model"] = result.account_model
    if result.account_scoring and account_labels is not None:
        from .account_file import against_labels

        out["account_scoring"] = against_labels(result.account_scores, account_labels,
                                                result.account_scoring["operating_points"])
    return out


def write_results(result: Result, out_dir: Path, params: Params) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    with (out_dir / "alerts.jsonl").open("w", encoding="utf-8") as f:
        for a in result.alerts:
            f.write(json.dumps(a.to_dict(), ensure_ascii=False, sort_keys=False) + "\n")
    with (out_dir / "accounts.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["account", "score", "alerts", "typologies"])
        for acct, score, n, typs in rank_accounts(result.alerts):
            w.writerow([acct, score, n, " ".join(typs)])
    with (out_dir / "transactions.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["transaction", "score", "alerts", "typologies"])
        for tx, score, n, typs in rank_transactions(result.alerts):
            w.writerow([tx, score, n, " ".join(typs)])
    if result.account_scores:
        # training rows: account, score, fold, label, in_alert, drivers; scoring rows put a
        # flagged_<operating point> column per saved threshold in place of fold and label
        columns = list(result.account_scores[0])
        with (out_dir / "account_scores.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(columns)
            for r in sorted(result.account_scores, key=lambda r: (-r["score"], r["account"])):
                # repr keeps every digit, so thresholds in evaluation.json select the same rows
                w.writerow([repr(r[c]) if c == "score" else r[c] for c in columns])
    if result.account_model_file is not None:
        from .account_file import FILE_NAME, save

        save(result.account_model_file, out_dir / FILE_NAME)
    summary = result.summary()
    summary["parameters"] = params.to_dict()
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    if result.evaluation:
        (out_dir / "evaluation.json").write_text(json.dumps(result.evaluation, indent=2) + "\n", encoding="utf-8")


def read_alerts(path: Path) -> list[Alert]:
    p = Path(path)
    if p.is_dir():
        p = p / "alerts.jsonl"
    out = []
    with p.open(encoding="utf-8") as f:
        for i, line in enumerate(f, 1):
            if line.strip():
                try:
                    out.append(Alert.from_dict(json.loads(line)))
                except (json.JSONDecodeError, KeyError, TypeError) as e:
                    raise InvalidInput(f"{p}: line {i}: not an alert ({e})", line=i) from None
    return out
