"""Entity resolution: Grotius' Fellegi-Sunter linker beside Splink 5 on DuckDB.

    .venv/bin/python benchmarks/er.py                 # 1,000,000 x 1,000,000
    .venv/bin/python benchmarks/er.py --n 100000 --skip-peer

Synthetic people (first name, surname, date of birth, city; names drawn with Zipf
frequencies), half of the right side being corrupted copies of left records (typos,
missing values, day/month swaps, moves, swapped name order). Both tools get the same
four blocking rules, the same compared fields, u from 1e6 random pairs, m by EM, and a
0.5 match-probability threshold. Reported: wall time, peak memory of the process tree,
precision, recall and F1 against the generated truth.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _measure import measure, report_cpu  # noqa: E402

from grotius.matching.resolve import Field, Linker, f1  # noqa: E402

SYLLABLES = (
    "an ber chri da el fi ga hel in jo ka lu mar ni ol pe ra sa to ul vi wa ya zo ste mi ri na le ko "
    "ta ge ro se di ma ha ne ti bo tho wen gus fre li do ru mo xa ce"
).split()
RULES = [["first_name", "surname"], ["surname", "dob"], ["first_name", "dob"], ["dob", "city"]]


def vocabulary(rng: np.random.Generator, size: int, lo: int, hi: int) -> np.ndarray:
    words: set[str] = set()
    while len(words) < size:
        k = rng.integers(lo, hi + 1)
        words.add("".join(rng.choice(SYLLABLES, k)))
    return np.array(sorted(words), dtype=object)


def zipf_choice(rng: np.random.Generator, vocab: np.ndarray, n: int, a: float = 1.05) -> np.ndarray:
    w = 1 / np.arange(1, len(vocab) + 1) ** a
    return vocab[rng.choice(len(vocab), n, p=w / w.sum())]


def typo(rng: np.random.Generator, s: str) -> str:
    if len(s) < 2:
        return s
    i = int(rng.integers(0, len(s)))
    op = rng.integers(0, 3)
    c = chr(97 + int(rng.integers(0, 26)))
    if op == 0:
        return s[:i] + c + s[i + 1 :]
    if op == 1:
        return s[:i] + s[i + 1 :]
    return s[:i] + c + s[i:]


def people(n: int, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, set[tuple[int, int]]]:
    rng = np.random.default_rng(seed)
    first, last, cities = vocabulary(rng, 5000, 2, 3), vocabulary(rng, 60000, 2, 4), vocabulary(rng, 3000, 2, 3)
    days = rng.integers(0, 365 * 65, 2 * n)
    dob = pd.to_datetime("1940-01-01") + pd.to_timedelta(days, unit="D")
    base = pd.DataFrame(
        {
            "first_name": zipf_choice(rng, first, 2 * n),
            "surname": zipf_choice(rng, last, 2 * n, 0.9),
            "dob": dob.strftime("%Y%m%d").to_numpy(dtype=object),
            "city": zipf_choice(rng, cities, 2 * n),
        }
    )
    left = base.iloc[:n].reset_index(drop=True)
    linked = n // 2
    copies = left.iloc[:linked].copy()
    for col, p_typo, p_missing in (("first_name", 0.15, 0.03), ("surname", 0.15, 0.03), ("city", 0.05, 0.05)):
        values = copies[col].to_numpy(dtype=object)
        hit = np.flatnonzero(rng.random(linked) < p_typo)
        values[hit] = [typo(rng, v) for v in values[hit]]
        values[rng.random(linked) < p_missing] = None
        copies[col] = values
    moved = rng.random(linked) < 0.1
    copies.loc[moved, "city"] = zipf_choice(rng, cities, int(moved.sum()))
    d = copies["dob"].to_numpy(dtype=object)
    swap = np.flatnonzero(rng.random(linked) < 0.04)
    d[swap] = [x[:4] + x[6:8] + x[4:6] if int(x[6:8]) <= 12 else x for x in d[swap]]
    digit = np.flatnonzero(rng.random(linked) < 0.06)
    d[digit] = [x[:7] + str(int(rng.integers(0, 10))) for x in d[digit]]
    d[rng.random(linked) < 0.02] = None
    copies["dob"] = d
    order = rng.random(linked) < 0.02
    copies.loc[order, ["first_name", "surname"]] = copies.loc[order, ["surname", "first_name"]].to_numpy()
    right = pd.concat([copies, base.iloc[n : n + n - linked]], ignore_index=True)
    perm = rng.permutation(n)
    right = right.iloc[perm].reset_index(drop=True)
    where = np.empty(n, dtype=np.int64)
    where[perm] = np.arange(n)
    truth = {(i, int(where[i])) for i in range(linked)}
    return left, right, truth


def run_grotius(left: pd.DataFrame, right: pd.DataFrame, one_to_one: bool = False) -> set[tuple[int, int]]:
    fields = [
        Field("first_name", "name", tf=True, swap_with="surname"),
        Field("surname", "name", tf=True, swap_with="first_name"),
        Field("dob", "date"),
        Field("city", "string", tf=True),
    ]
    out = Linker(fields, RULES, u_sample=1_000_000, max_block=50_000, one_to_one=one_to_one).link(left, right)
    return set(zip(out["left"].tolist(), out["right"].tolist()))


def run_splink(left: pd.DataFrame, right: pd.DataFrame, memory_limit: str | None = None) -> set[tuple[int, int]]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker as SplinkLinker, SettingsCreator, block_on

    db = DuckDBAPI()
    if memory_limit:  # DuckDB's default is 80 % of RAM; a shared machine may need less
        db._con.execute(f"SET memory_limit = '{memory_limit}'")
    l2, r2 = left.copy(), right.copy()
    l2["unique_id"] = np.arange(len(l2))
    r2["unique_id"] = np.arange(len(r2))
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y%m%d"),
            cl.ExactMatch("city").configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[block_on(*r) for r in RULES],
    )
    linker = SplinkLinker([db.register(l2, table_name="l"), db.register(r2, table_name="r")], settings, log_level="WARNING")
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("first_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    pred = linker.inference.predict(threshold_match_probability=0.5).as_pandas_dataframe()
    left_is_l = pred["source_dataset_l"].astype(str).str.contains("l")
    a = np.where(left_is_l, pred["unique_id_l"], pred["unique_id_r"])
    b = np.where(left_is_l, pred["unique_id_r"], pred["unique_id_l"])
    return set(zip(a.tolist(), b.tolist()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--skip-peer", action="store_true", help="do not run Splink")
    ap.add_argument("--splink-memory-limit", help="DuckDB memory_limit for Splink, e.g. 12GB")
    ap.add_argument("--one-to-one", action="store_true", help="Grotius also reports one-to-one assignment")
    args = ap.parse_args()
    left, right, truth = people(args.n)
    print(f"{args.n:,} x {args.n:,} records, {len(truth):,} true links")
    found, wall, peak = measure(lambda: run_grotius(left, right))
    s = f1(found, truth)
    print(f"grotius : {wall:7.1f} s  peak {peak / 2**30:5.2f} GiB  P {s['precision']:.4f} R {s['recall']:.4f} F1 {s['f1']:.4f}")
    report_cpu("grotius")
    if args.one_to_one:
        found1, wall1, peak1 = measure(lambda: run_grotius(left, right, one_to_one=True))
        s1 = f1(found1, truth)
        print(f"grotius 1:1 : {wall1:7.1f} s  peak {peak1 / 2**30:5.2f} GiB  P {s1['precision']:.4f} R {s1['recall']:.4f} F1 {s1['f1']:.4f}")
    if args.skip_peer:
        return
    sfound, swall, speak = measure(lambda: run_splink(left, right, args.splink_memory_limit))
    ss = f1(sfound, truth)
    print(f"splink  : {swall:7.1f} s  peak {speak / 2**30:5.2f} GiB  P {ss['precision']:.4f} R {ss['recall']:.4f} F1 {ss['f1']:.4f}")
    report_cpu("splink")
    print(f"ratio (splink / grotius): time {swall / wall:.2f}x, memory {speak / peak:.2f}x")


if __name__ == "__main__":
    main()
