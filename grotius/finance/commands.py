"""`grotius finance ...`: analyse transaction data, generate test networks, evaluate, export."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ..cli_common import friendly
from ..exc import InvalidInput
from .formats import FORMATS
from .params import DETECTOR_NAMES, Params

if TYPE_CHECKING:
    from .pipeline import Result


class _Progress:
    """rich progress on stderr: one bar over the detectors, a counter while importing."""

    def __init__(self, quiet: bool) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.progress = None if quiet else Progress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(), console=Console(stderr=True), transient=False,
        )
        self.task: Any = None

    def __enter__(self) -> "_Progress":
        if self.progress:
            self.progress.__enter__()
            self.task = self.progress.add_task("import", total=None)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress:
            self.progress.__exit__(*exc)

    def __call__(self, step: str, done: int, total: int) -> None:
        if not self.progress:
            return
        if step == "import":
            self.progress.update(self.task, description=f"import ({done:,} rows)" if done else "import")
        else:
            self.progress.update(self.task, description=step, completed=done, total=total)


@click.group("finance")
def finance() -> None:
    """Money-laundering typologies in transaction networks."""


def _params(sets: tuple[str, ...], typologies: tuple[str, ...]) -> Params:
    params = Params()
    for s in sets:
        params.set(s)
    chosen: list[str] = []
    for t in typologies:
        for x in t.split(","):
            x = x.strip().replace("-", "_")
            if x and x not in DETECTOR_NAMES:
                raise InvalidInput(f"--typology {x!r}: expected some of {', '.join(DETECTOR_NAMES)}", property="typology")
            if x:
                chosen.append(x)
    params.typologies = tuple(chosen)
    return params


@finance.command("analyse")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True, help="Layout of PATH.")
@click.option("--engine", type=click.Choice(["duckdb", "spark"]), default="duckdb", show_default=True)
@click.option("--spark-master", default=None, help="Spark master URL (default local[2] or $GROTIUS_SPARK_MASTER).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for alerts.jsonl, accounts.csv, transactions.csv, summary.json.")
@click.option("--set", "sets", multiple=True, metavar="DETECTOR.PARAM=VALUE",
              help="Change a detector parameter, e.g. fan_in.min_counterparties=8 or cycle.window=16d.")
@click.option("--typology", "typologies", multiple=True, help="Run only these typologies (comma list, repeatable); the 'associates' expansion runs only when named.")
@click.option("--skip-invalid", is_flag=True, help="Leave out malformed rows (counted and listed) instead of stopping.")
@click.option("--labels", type=click.Path(exists=True, path_type=Path),
              help="AMLSim nodes.csv (or folder) to report account recall/precision against.")
@click.option("--truth", type=click.Path(exists=True, path_type=Path),
              help="truth.json from `grotius finance generate` to report recall/precision per typology.")
@click.option("--train", is_flag=True, help="Train and evaluate a scoring model: per account with --labels "
              "(out-of-fold scores in DIR/account_scores.csv), else per transaction (needs labels in the data).")
@click.option("--account-model", "account_model", type=click.Path(path_type=Path), default=None,
              help="Score every account with DIR/account_model.joblib saved by an earlier --labels --train run "
              "(a pickle: only a file you trained yourself); writes DIR/account_scores.csv.")
@click.option("--home", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Also store the alerts as STIX objects in this node (only when given: $GROTIUS_HOME "
              "does not, since stored alerts are shared under the node's agreements).")
@click.option("--tlp", default=None, help="TLP of stored alerts (default: the node's default).")
@click.option("--quiet", is_flag=True, help="No progress display.")
@friendly
def analyse_cmd(path: Path, fmt: str, engine: str, spark_master: str | None, out_dir: Path, sets: tuple[str, ...],
                typologies: tuple[str, ...], skip_invalid: bool, labels: Path | None, truth: Path | None, train: bool,
                account_model: Path | None, home: Path | None, tlp: str | None, quiet: bool) -> None:
    """Find laundering typologies in PATH and write DIR/alerts.jsonl (one alert per line)."""
    from .pipeline import analyse

    params = _params(sets, typologies)
    account_labels = None
    if labels is not None:
        from .formats import read_amlsim_accounts

        account_labels = read_amlsim_accounts(labels)
    options: dict[str, Any] = {"master": spark_master} if engine == "spark" and spark_master else {}
    with _Progress(quiet) as prog:
        result = analyse(path, fmt, out_dir, engine=engine, params=params, skip_invalid=skip_invalid,
                         progress=prog, engine_options=options, train=train, account_labels=account_labels,
                         account_model=account_model, truth=truth)
    _report(result, out_dir)
    if home is not None:
        from .store import store_alerts

        stored = store_alerts(home, result.alerts, tlp=tlp)
        click.echo(f"node at {home}: {stored.stored} alert objects stored, {stored.unchanged} unchanged", err=True)


def _report(result: "Result", out_dir: Path) -> None:
    """What the run found and how it did, on stderr (the files hold the same and more)."""
    rep, ev = result.report, result.evaluation
    click.echo(f"{rep.rows_read:,} rows read, {rep.rows_accepted:,} accepted, {rep.rows_rejected:,} rejected", err=True)
    for err in rep.errors[:10]:
        click.echo(f"  line {err['line']}: {err['message']}", err=True)
    summary = result.summary()
    click.echo(f"{len(result.alerts):,} alerts ({', '.join(f'{k} {v}' for k, v in sorted(summary['alerts_per_typology'].items()))}) "
               f"-> {out_dir / 'alerts.jsonl'}", err=True)
    for typ, m in ev.get("typologies", {}).items():
        click.echo(f"  {typ:15} recall {m['recall']}  precision {m['precision']}  ({m['found']}/{m['instances']} found, {m['alerts']} alerts)", err=True)
    if "accounts" in ev:
        click.echo(f"  accounts: recall {ev['accounts']['recall']}  precision {ev['accounts']['precision']}", err=True)
    if result.model:
        m = result.model
        click.echo(f"  model: minority-class F1 {m['test']['f1']:.4f} (validation {m['validation']['f1']:.4f}), "
                   f"precision {m['test']['precision']:.4f}, recall {m['test']['recall']:.4f}", err=True)
    if result.account_model:
        am = result.account_model
        click.echo(f"  account model (out of fold): average precision {am['average_precision']:.4f}", err=True)
        for target, op in am["operating_points"].items():
            click.echo(f"    {target}: " + (f"precision {op['precision']:.4f}, recall {op['recall']:.4f}, "
                                            f"{op['flagged']:,} flagged, threshold {op['threshold']:.6g}" if op else "not reached"), err=True)
        click.echo(f"  per-account scores and drivers -> {out_dir / 'account_scores.csv'}", err=True)
        click.echo(f"  model trained on all labelled accounts -> {out_dir / 'account_model.joblib'}", err=True)
    if result.account_scoring:
        sc = result.account_scoring
        click.echo(f"  {sc['accounts']:,} accounts scored with {sc['model_file']}", err=True)
        for target, op in sc["operating_points"].items():
            click.echo(f"    {target}: " + (f"{op['flagged']:,} flagged at threshold {op['threshold']:.6g}" if op
                                            else "not reached in training: no threshold"), err=True)
        click.echo(f"  per-account scores and drivers -> {out_dir / 'account_scores.csv'}", err=True)
        if "account_scoring" in ev:
            held_out = ev["account_scoring"]
            click.echo(f"  against --labels: average precision {held_out['average_precision']}", err=True)
            for target in sc["operating_points"]:
                if target in held_out:
                    click.echo(f"    {target}: precision {held_out[target]['precision']:.4f}, recall {held_out[target]['recall']:.4f}", err=True)


@finance.command("generate")
@click.option("--out", "out", type=click.Path(path_type=Path), required=True,
              help="AMLworld: a .csv file; AMLSim: a folder. truth.json is written beside it.")
@click.option("--layout", type=click.Choice(["amlworld", "amlsim"]), default="amlworld", show_default=True)
@click.option("--accounts", default=2000, show_default=True, help="Background accounts.")
@click.option("--transactions", default=20000, show_default=True, help="Background transactions.")
@click.option("--per-typology", default=10, show_default=True, help="Planted instances of each typology.")
@click.option("--days", default=30, show_default=True)
@click.option("--seed", default=1, show_default=True)
@friendly
def generate_cmd(out: Path, layout: str, accounts: int, transactions: int, per_typology: int, days: int, seed: int) -> None:
    """Write a synthetic transaction network with planted, labelled typologies."""
    from .generate import generate, write_amlsim, write_amlworld, write_truth

    net = generate(accounts=accounts, transactions=transactions, per_typology=per_typology, days=days, seed=seed)
    if layout == "amlworld":
        write_amlworld(net, out)
        write_truth(net, out.with_name(out.stem + ".truth.json"))
        truth = out.with_name(out.stem + ".truth.json")
    else:
        ids = write_amlsim(net, out)
        truth = out / "truth.json"
        write_truth(net, truth, ids)
    click.echo(f"{len(net.transactions):,} transactions, {len(net.instances)} planted instances -> {out} (truth: {truth})", err=True)


@finance.command("export")
@click.argument("alerts", type=click.Path(exists=True, path_type=Path))
@click.option("--to", "target", type=click.Choice(["stix", "ftm"]), required=True)
@click.option("--tlp", default="amber", show_default=True)
@click.option("--out", "out", type=click.File("w"), default="-")
@friendly
def export_cmd(alerts: Path, target: str, tlp: str, out: Any) -> None:
    """Turn DIR/alerts.jsonl into a STIX 2.1 bundle or FollowTheMoney entities (JSON lines)."""
    from .export import alerts_to_ftm, alerts_to_stix_bundle
    from .pipeline import read_alerts

    items = read_alerts(alerts)
    if target == "stix":
        out.write(json.dumps(alerts_to_stix_bundle(items, tlp=tlp), indent=1) + "\n")
    else:
        for ent in alerts_to_ftm(items):
            out.write(json.dumps(ent, ensure_ascii=False) + "\n")


@finance.command("svg")
@click.argument("alerts", type=click.Path(exists=True, path_type=Path))
@click.argument("alert_id")
@click.option("--out", "out", type=click.File("w"), default="-")
@friendly
def svg_cmd(alerts: Path, alert_id: str, out: Any) -> None:
    """Draw one alert's evidence graph (accounts as nodes, payments as time-labelled edges)."""
    from ..exc import NotFound
    from .pipeline import read_alerts
    from .svg import evidence_svg

    for a in read_alerts(alerts):
        if a.id == alert_id or a.id.endswith(alert_id):
            out.write(evidence_svg(a))
            return
    raise NotFound(f"no alert {alert_id!r} in {alerts}")
