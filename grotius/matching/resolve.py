"""Probabilistic record linkage (Fellegi-Sunter) with weights learned from the data.

Records are columns of strings (a pandas DataFrame per side). The pipeline is vectorised
end to end so that a million records per side link in about a minute on two cores:

1. blocking: each rule is a list of key columns; pairs that agree on all keys of at
   least one rule become candidates (a hash join on integer codes, then a union);
2. comparison: each field gives a level per pair (missing, disagree, similar, close,
   exact) from equality of integer codes and rapidfuzz similarities computed in C on
   all cores;
3. estimation: u probabilities from random pairs, m probabilities and the match share
   by expectation maximisation over the distinct comparison vectors (there are a few
   hundred, whatever the number of pairs), with term-frequency adjustment of exact
   agreement on fields where a common value means less (names);
4. decision: the posterior match probability; optionally one-to-one assignment.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from grotius.exc import InvalidInput

Kind = Literal["name", "string", "code", "date", "exact"]
MISSING = -1


@dataclass(frozen=True)
class Field:
    """A compared column. ``kind`` selects the comparison levels:

    - ``name``/``string``: exact 3, Jaro-Winkler >= 0.92 2, >= 0.80 1, else 0;
    - ``code`` (identifiers, numbers): exact 2, one edit apart 1, else 0;
    - ``date`` (YYYYMMDD): exact 2, one edit or day and month swapped 1, else 0;
    - ``exact``: 1 or 0.

    ``tf`` adjusts exact agreement by the value's frequency (a common surname agreeing
    is weaker evidence than a rare one).
    """

    name: str
    kind: Kind = "string"
    tf: bool = False
    #: another column of the other side also tried (given name against surname, for swaps)
    swap_with: str | None = None

    @property
    def levels(self) -> int:
        return {"name": 4, "string": 4, "code": 3, "date": 3, "exact": 2}[self.kind]


@dataclass
class Model:
    fields: list[Field]
    m: list[np.ndarray]
    u: list[np.ndarray]
    prior: float

    def describe(self) -> list[dict[str, object]]:
        return [
            {
                "field": f.name,
                "m": [round(float(x), 5) for x in m],
                "u": [round(float(x), 6) for x in u],
                "weight": [round(float(np.log2(max(a, 1e-12) / max(b, 1e-12))), 2) for a, b in zip(m, u)],
            }
            for f, m, u in zip(self.fields, self.m, self.u)
        ]


@dataclass
class Candidates:
    left: np.ndarray  # int64 row positions
    right: np.ndarray
    #: bit i set when blocking rule i produced the pair
    rules: np.ndarray | None = None


class Columns:
    """Per-column work shared by blocking, comparison, sampling and term frequencies:
    the cleaned values, integer codes common to both sides, and the strings."""

    def __init__(self, left: pd.DataFrame, right: pd.DataFrame) -> None:
        self.left, self.right = left, right
        self._codes: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        self._strings: dict[tuple[str, str], np.ndarray] = {}

    def codes(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        if name not in self._codes:
            self._codes[name] = _codes(_column(self.left, name), _column(self.right, name))
        return self._codes[name]

    def swapped_codes(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Codes of the left dates with day and month swapped, against the right dates."""
        key = "\x00swapped:" + name
        if key not in self._codes:
            text = _column(self.left, name).astype("string")
            swapped = (text.str[:4] + text.str[6:8] + text.str[4:6]).astype(object)
            self._codes[key] = _codes(swapped.where(swapped.notna(), None), _column(self.right, name))
        return self._codes[key]

    def strings(self, side: str, name: str) -> np.ndarray:
        key = (side, name)
        if key not in self._strings:
            df = self.left if side == "left" else self.right
            self._strings[key] = _column(df, name).fillna("").astype(str).to_numpy(dtype=object)
        return self._strings[key]


def _column(df: pd.DataFrame, name: str) -> pd.Series:
    if name not in df.columns:
        raise InvalidInput(f"no column {name!r} in the records", property=name, columns=list(df.columns))
    s = df[name]
    return s.where(s.notna() & (s != ""), None)


def _codes(left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Shared integer codes for two columns; missing is -1."""
    codes, _ = pd.factorize(pd.concat([left, right], ignore_index=True), use_na_sentinel=True)
    return codes[: len(left)], codes[len(left) :]


def block(
    left: pd.DataFrame | Columns,
    right: pd.DataFrame | None,
    rules: Sequence[Sequence[str]],
    max_block: int = 5_000,
) -> Candidates:
    """Union of the pairs agreeing on every key of some rule.

    Keys shared by more than ``max_block`` pairs are skipped: a block that large (a
    placeholder date, a very common name) adds cost, not evidence.
    """
    cols = left if isinstance(left, Columns) else Columns(left, right)
    left, right = cols.left, cols.right
    found: list[np.ndarray] = []
    n_right = len(right)
    for rule in rules:
        lk = np.zeros(len(left), dtype=np.int64)
        rk = np.zeros(len(right), dtype=np.int64)
        lmiss = np.zeros(len(left), dtype=bool)
        rmiss = np.zeros(len(right), dtype=bool)
        bound = 1
        for key in rule:
            lc, rc = cols.codes(key)
            lmiss |= lc < 0
            rmiss |= rc < 0
            width = int(max(lc.max(initial=0), rc.max(initial=0))) + 1
            if bound * width >= 2**62:  # renumber the combined key before it overflows
                both, _ = pd.factorize(np.concatenate([lk, rk]))
                lk, rk, bound = both[: len(lk)].astype(np.int64), both[len(lk) :].astype(np.int64), int(both.max()) + 1
            lk = lk * width + lc
            rk = rk * width + rc
            bound *= width
        li = np.flatnonzero(~lmiss)
        ri = np.flatnonzero(~rmiss)
        ldf = pd.DataFrame({"k": lk[~lmiss], "l": li})
        rdf = pd.DataFrame({"k": rk[~rmiss], "r": ri})
        lsize = ldf["k"].map(ldf["k"].value_counts())
        rsize_counts = rdf["k"].value_counts()
        ok = (lsize * ldf["k"].map(rsize_counts).fillna(0)) <= max_block
        pairs = ldf[ok.to_numpy()].merge(rdf, on="k")
        found.append(pairs["l"].to_numpy(np.int64) * n_right + pairs["r"].to_numpy(np.int64))
    if not found:
        return Candidates(np.empty(0, np.int64), np.empty(0, np.int64))
    keys = np.concatenate(found)
    bits = np.concatenate([np.full(len(f), 1 << i, dtype=np.int64) for i, f in enumerate(found)])
    order = np.argsort(keys, kind="stable")
    keys, bits = keys[order], bits[order]
    starts = np.flatnonzero(np.concatenate(([True], keys[1:] != keys[:-1]))) if len(keys) else np.empty(0, np.int64)
    rule_bits = np.bitwise_or.reduceat(bits, starts) if len(keys) else bits
    keys = keys[starts]
    return Candidates(keys // n_right, keys % n_right, rule_bits)


def _similarity(a: list[str], b: list[str], scorer: Callable[..., float]) -> np.ndarray:
    # below the lowest level the exact value does not matter: let rapidfuzz stop early
    return process.cpdist(a, b, scorer=scorer, score_cutoff=0.8, workers=-1, dtype=np.float32)


def compare(
    left: pd.DataFrame | Columns, right: pd.DataFrame | None, pairs: Candidates, fields: Sequence[Field]
) -> np.ndarray:
    """Comparison levels, one row per candidate pair, one int8 column per field."""
    cols = left if isinstance(left, Columns) else Columns(left, right)
    out = np.empty((len(pairs.left), len(fields)), dtype=np.int8)
    for j, f in enumerate(fields):
        lc, rc = cols.codes(f.name)
        a, b = lc[pairs.left], rc[pairs.right]
        missing = (a < 0) | (b < 0)
        exact = (a == b) & ~missing
        level = np.zeros(len(a), dtype=np.int8)
        rest = np.flatnonzero(~exact & ~missing)
        ls = cols.strings("left", f.name)[pairs.left[rest]].tolist()
        rs = cols.strings("right", f.name)[pairs.right[rest]].tolist()
        if f.kind in ("name", "string"):
            sim = _similarity(ls, rs, JaroWinkler.normalized_similarity)
            if f.swap_with is not None:
                other = cols.strings("right", f.swap_with)[pairs.right[rest]].tolist()
                sim = np.maximum(sim, _similarity(ls, other, JaroWinkler.normalized_similarity))
            level[rest] = np.where(sim >= 0.92, 2, np.where(sim >= 0.8, 1, 0))
            level[exact] = 3
        elif f.kind in ("code", "date"):
            dist = process.cpdist(ls, rs, scorer=Levenshtein.distance, score_cutoff=2, workers=-1, dtype=np.int32)
            close = dist <= 1
            if f.kind == "date":
                # day and month swapped: yyyyddmm on the left equals yyyymmdd on the right
                sl, sr = cols.swapped_codes(f.name)
                a2 = sl[pairs.left[rest]]
                close |= (a2 == sr[pairs.right[rest]]) & (a2 >= 0)
            level[rest] = close.astype(np.int8)
            level[exact] = 2
        else:
            level[exact] = 1
        level[missing] = MISSING
        out[:, j] = level
    return out


def random_pairs(n_left: int, n_right: int, count: int, seed: int = 0) -> Candidates:
    rng = np.random.default_rng(seed)
    return Candidates(rng.integers(0, n_left, count), rng.integers(0, n_right, count))


def _probabilities(gamma: np.ndarray, weights: np.ndarray, fields: Sequence[Field]) -> list[np.ndarray]:
    out = []
    for j, f in enumerate(fields):
        col = gamma[:, j]
        present = col >= 0
        total = weights[present].sum()
        counts = np.array([weights[present & (col == lv)].sum() for lv in range(f.levels)], dtype=float)
        # a level never seen still gets a small probability so its weight stays finite
        out.append((counts + 1e-6) / (total + 1e-6 * f.levels) if total > 0 else np.full(f.levels, 1 / f.levels))
    return out


def estimate(
    gamma: np.ndarray,
    fields: Sequence[Field],
    u_gamma: np.ndarray,
    population: int | None = None,
    max_iter: int = 100,
    tol: float = 1e-7,
    fixed_m: Sequence[np.ndarray] | None = None,
) -> Model:
    """m and the match share by EM over the candidate pairs; u from random pairs.

    Inside EM the non-match distribution is free too: blocked non-matches agree on
    their blocking keys far more often than random pairs, and a u fixed at the random
    rate would push them into the match class. Scoring then uses the random-pair u,
    which is what a disagreement or agreement costs in the whole population, and a
    prior rescaled from the candidate set to the same population.
    """
    if len(gamma) == 0:
        raise InvalidInput("no candidate pairs to learn from: check the blocking rules")
    u = _probabilities(u_gamma, np.ones(len(u_gamma)), fields)
    patterns, counts = _patterns(gamma, fields)
    # start: agreement is likely among matches, unlikely among non-matches
    m = [np.linspace(0.05, 1.0, f.levels) ** 2 / (np.linspace(0.05, 1.0, f.levels) ** 2).sum() for f in fields]
    if fixed_m is not None:
        m = [np.asarray(x, dtype=float) for x in fixed_m]
    ue = [x.copy() for x in u]
    prior = 0.1
    for _ in range(max_iter):
        lm, lu = _loglik(patterns, m), _loglik(patterns, ue)
        post = 1 / (1 + np.exp(np.clip(lu - lm, -700, 700)) * (1 - prior) / prior)
        new_m = m if fixed_m is not None else _probabilities(patterns, counts * post, fields)
        ue = _probabilities(patterns, counts * (1 - post), fields)
        new_prior = float((counts * post).sum() / counts.sum())
        delta = max(abs(new_prior - prior), *(float(np.abs(a - b).max()) for a, b in zip(new_m, m)))
        m, prior = new_m, min(max(new_prior, 1e-9), 1 - 1e-9)
        if delta < tol:
            break
    if population:
        prior = min(max(prior * len(gamma) / population, 1e-12), 1 - 1e-9)
    return Model(list(fields), m, u, prior)


def train(
    gamma: np.ndarray,
    pairs: Candidates,
    fields: Sequence[Field],
    rules: Sequence[Sequence[str]],
    u_gamma: np.ndarray,
    population: int,
    min_pairs: int = 50,
) -> Model:
    """m per field by EM on the pairs of each blocking rule, leaving out the fields the
    rule blocks on (those agree by construction there and would define the "match"
    class by themselves); averaged over rules. Then the match share by EM with m fixed.

    A blocking column belongs to a field when its name starts with the field's name
    (``surname3`` is a key derived from ``surname``).
    """
    collected: list[list[np.ndarray]] = [[] for _ in fields]
    for i, rule in enumerate(rules):
        sel = ((pairs.rules >> i) & 1).astype(bool) if pairs.rules is not None else np.ones(len(gamma), bool)
        free = [j for j, f in enumerate(fields) if not any(c.startswith(f.name) for c in rule)]
        # one free field alone cannot separate two classes: EM is not identified there
        if int(sel.sum()) < min_pairs or len(free) < 2:
            continue
        sub = estimate(gamma[sel][:, free], [fields[j] for j in free], u_gamma[:, free])
        for k, j in enumerate(free):
            collected[j].append(sub.m[k])
    fallback = None
    m: list[np.ndarray] = []
    for j, got in enumerate(collected):
        if got:
            m.append(np.mean(got, axis=0))
        else:  # blocked on by every rule: learn it from all candidates
            fallback = fallback or estimate(gamma, fields, u_gamma)
            m.append(fallback.m[j])
    model = estimate(gamma, fields, u_gamma, population=population, fixed_m=m)
    return model


def _patterns(gamma: np.ndarray, fields: Sequence[Field]) -> tuple[np.ndarray, np.ndarray]:
    """Distinct comparison vectors and their counts (rows encoded as one integer)."""
    code = np.zeros(len(gamma), dtype=np.int64)
    for j, f in enumerate(fields):
        code = code * (f.levels + 1) + (gamma[:, j].astype(np.int64) + 1)
    s = np.sort(code)
    starts = np.flatnonzero(np.concatenate(([True], s[1:] != s[:-1])))
    counts = np.diff(np.append(starts, len(s))).astype(float)
    distinct = s[starts]
    out = np.empty((len(distinct), len(fields)), dtype=np.int8)
    for j in range(len(fields) - 1, -1, -1):
        base = fields[j].levels + 1
        out[:, j] = distinct % base - 1
        distinct = distinct // base
    return out, counts


def _loglik(gamma: np.ndarray, probs: Sequence[np.ndarray]) -> np.ndarray:
    out = np.zeros(len(gamma))
    for j, p in enumerate(probs):
        col = gamma[:, j]
        present = col >= 0
        out[present] += np.log(p[col[present]])
    return out


def score(
    model: Model,
    gamma: np.ndarray,
    tf_u: Sequence[np.ndarray | None] | None = None,
) -> np.ndarray:
    """Posterior match probability per pair.

    ``tf_u[j]`` (optional) holds, per pair, the frequency of the agreed value of field j:
    an exact agreement then weighs log(m / tf) instead of log(m / u).
    """
    lm, lu = _loglik(gamma, model.m), _loglik(gamma, model.u)
    if tf_u is not None:
        for j, (f, tfu) in enumerate(zip(model.fields, tf_u)):
            if tfu is None:
                continue
            exact = gamma[:, j] == f.levels - 1
            lu[exact] += np.log(np.maximum(tfu[exact], 1e-9)) - np.log(model.u[j][-1])
    logit = lm - lu + np.log(model.prior / (1 - model.prior))
    return 1 / (1 + np.exp(-np.clip(logit, -700, 700)))


def term_frequencies(cols: Columns, pairs: Candidates, f: Field) -> np.ndarray:
    """Per pair: the share of records (both sides) that carry the left value of field f."""
    lc, rc = cols.codes(f.name)
    both = np.concatenate([lc, rc])
    freq = np.bincount(both[both >= 0], minlength=1) / max(1, int((both >= 0).sum()))
    a = lc[pairs.left]
    return np.where(a >= 0, freq[np.maximum(a, 0)], 1.0)


def one_to_one(pairs: Candidates, prob: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy assignment by descending probability: each record in at most one link."""
    keep = np.flatnonzero(prob >= threshold)
    order = keep[np.argsort(-prob[keep], kind="stable")]
    used_l: set[int] = set()
    used_r: set[int] = set()
    chosen = []
    for i in order.tolist():
        a, b = int(pairs.left[i]), int(pairs.right[i])
        if a in used_l or b in used_r:
            continue
        used_l.add(a)
        used_r.add(b)
        chosen.append(i)
    return np.asarray(chosen, dtype=np.int64)


@dataclass
class Linker:
    """Links two record sets: ``fields`` compared, ``rules`` for blocking."""

    fields: list[Field]
    rules: list[list[str]]
    threshold: float = 0.5
    one_to_one: bool = False
    u_sample: int = 1_000_000
    max_block: int = 5_000
    model: Model | None = field(default=None, init=False)

    def link(self, left: pd.DataFrame, right: pd.DataFrame) -> pd.DataFrame:
        cols = Columns(left, right)
        pairs = block(cols, None, self.rules, self.max_block)
        gamma = compare(cols, None, pairs, self.fields)
        sample = random_pairs(len(left), len(right), min(self.u_sample, len(left) * len(right)))
        u_gamma = compare(cols, None, sample, self.fields)
        self.model = train(gamma, pairs, self.fields, self.rules, u_gamma, population=len(left) * len(right))
        tf = [term_frequencies(cols, pairs, f) if f.tf else None for f in self.fields]
        prob = score(self.model, gamma, tf)
        if self.one_to_one:
            idx = one_to_one(pairs, prob, self.threshold)
        else:
            idx = np.flatnonzero(prob >= self.threshold)
        return pd.DataFrame(
            {
                "left": left.index.to_numpy()[pairs.left[idx]],
                "right": right.index.to_numpy()[pairs.right[idx]],
                "probability": prob[idx],
            }
        )


def f1(found: set[tuple[object, object]], truth: set[tuple[object, object]]) -> dict[str, float]:
    tp = len(found & truth)
    precision = tp / len(found) if found else 0.0
    recall = tp / len(truth) if truth else 0.0
    f = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f, "tp": tp, "fp": len(found) - tp, "fn": len(truth) - tp}
