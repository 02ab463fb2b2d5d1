"""Multi-row inserts behave the same on both engines (PostgreSQL takes them by COPY)."""

from __future__ import annotations

from typing import Iterator

import pytest

from grotius.store.engine import COPY_MIN_ROWS, Store

PLAIN = "INSERT INTO t_many (k, v, n) VALUES (?, ?, ?)"
SKIP_DUPES = "INSERT INTO t_many (k, v, n) VALUES (?, ?, ?) ON CONFLICT DO NOTHING"

# text COPY escapes tabs, newlines, backslashes and \N: each must come back as it went in
AWKWARD = ["tab\there", "line\nbreak\r\n", "back\\slash", "\\N", "", "quote ' \"", "ünïcødé ✓ 你好", "x" * 5000]


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    s = Store(db_url)
    with s.transaction() as tx:
        tx.execute(s.ddl("CREATE TABLE t_many (k {bigint} NOT NULL PRIMARY KEY, v TEXT, n {bigint})"))
    yield s
    s.close()


def rows_of(store: Store) -> list[tuple]:
    return [tuple(r) for r in store.query("SELECT k, v, n FROM t_many ORDER BY k")]


def batch(start: int, n: int) -> list[tuple[int, str | None, int | None]]:
    return [(k, AWKWARD[k % len(AWKWARD)] if k % 9 else None, (k * 2**40) if k % 5 else None)
            for k in range(start, start + n)]


def test_plain_rows_come_back_exactly(store: Store) -> None:
    rows = batch(0, COPY_MIN_ROWS * 4)
    with store.transaction() as tx:
        tx.executemany(PLAIN, rows)
        tx.executemany(PLAIN, (r for r in batch(1000, 3)))  # a generator, and under the COPY threshold
    assert rows_of(store) == rows + batch(1000, 3)


def test_skipping_duplicates_keeps_what_was_held(store: Store) -> None:
    with store.transaction() as tx:
        tx.executemany(PLAIN, [(k, "held", 1) for k in range(0, 100, 2)])
    fresh = batch(0, 100)
    with store.transaction() as tx:
        # duplicates of held rows and within the batch; twice to the same table in one transaction
        tx.executemany(SKIP_DUPES, fresh + fresh[:10])
        tx.executemany(SKIP_DUPES, batch(100, 50) + [(0, "late", 0)])
    got = dict((k, (v, n)) for k, v, n in rows_of(store))
    assert len(got) == 150
    assert all(got[k] == ("held", 1) for k in range(0, 100, 2))
    assert all(got[k] == (v, n) for k, v, n in fresh + batch(100, 50) if k % 2 or k >= 100)


def test_a_failing_batch_rolls_back_and_leaves_stored_rows(store: Store) -> None:
    before = batch(0, 40)
    with store.transaction() as tx:
        tx.executemany(PLAIN, before)
    with pytest.raises(Exception), store.transaction() as tx:
        tx.executemany(SKIP_DUPES, batch(500, 40))
        tx.executemany(PLAIN, batch(1000, 40) + [(5, "duplicate key", 0)])
    assert rows_of(store) == before
    # the connection and any staging state are usable after the rollback
    with store.transaction() as tx:
        tx.executemany(SKIP_DUPES, batch(30, 40))
    assert rows_of(store) == before + batch(40, 30)


def test_other_statements_are_not_rewritten(store: Store) -> None:
    with store.transaction() as tx:
        tx.executemany("INSERT INTO t_many (k, v, n) VALUES (?, lower(?), ?)",
                       [(k, "UPPER", k) for k in range(COPY_MIN_ROWS * 2)])
    assert {v for _, v, _ in rows_of(store)} == {"upper"}
    if store.dialect == "postgresql":
        assert store.copy_plan(PLAIN) is not None and store.copy_plan(SKIP_DUPES) is not None
        assert store.copy_plan("INSERT INTO t_many (k, v, n) VALUES (?, lower(?), ?)") is None
        assert store.copy_plan("INSERT INTO t_many (k, v) VALUES (?, ?, ?)") is None
