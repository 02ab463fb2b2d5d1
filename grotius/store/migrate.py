"""Schema migrations, tracked per product area so areas evolve independently.

Each area keeps ``MIGRATIONS: list[str]`` in ``grotius/<area>/schema.py``; a migration is
applied once, in order, inside one transaction with its bookkeeping row, so an upgrade
that fails leaves the node as it was. A migration that only one engine needs is a dict
from dialect to script (a missing dialect: nothing to do there, but the step counts).
"""

from __future__ import annotations

import importlib
from typing import Sequence

from ..exc import ConfigError
from .engine import Store

AREAS: tuple[str, ...] = (
    "store",
    "sharing",
    "correlate",
    "matching",
    "finance",
)


def without_rowid(table: str, columns: str, key: str, indexes: Sequence[str] = ()) -> dict[str, str]:
    """A migration rebuilding ``table`` on SQLite as a WITHOUT ROWID table keyed by
    ``key`` (``columns`` as in its CREATE TABLE, in the same order; ``indexes``: the
    CREATE INDEX statements it had). A rowid table with a composite primary key is two
    B-trees, the rows and an index on the key, both written per row; WITHOUT ROWID the
    key is the table. PostgreSQL has no rowid: nothing to do there."""
    script = (
        f"CREATE TABLE {table}_new ({columns}, PRIMARY KEY ({key})) WITHOUT ROWID;\n"
        f"INSERT INTO {table}_new SELECT * FROM {table};\n"
        f"DROP TABLE {table};\n"
        f"ALTER TABLE {table}_new RENAME TO {table}"
    )
    return {"sqlite": ";\n".join([script, *indexes])}


def _migrations(area: str, dialect: str) -> list[str]:
    mod = importlib.import_module(f"grotius.{area}.schema")
    return [m if isinstance(m, str) else m.get(dialect, "") for m in getattr(mod, "MIGRATIONS")]


def migrate(store: Store) -> list[tuple[str, int]]:
    """Bring the database up to date; returns the (area, number) pairs applied."""
    with store.transaction() as tx:
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(area TEXT NOT NULL, number INTEGER NOT NULL, PRIMARY KEY (area, number))"
        )
    applied: list[tuple[str, int]] = []
    for area in AREAS:
        done = {r[0] for r in store.query("SELECT number FROM schema_migrations WHERE area = ?", (area,))}
        steps = _migrations(area, store.dialect)
        if done and max(done) > len(steps):
            raise ConfigError(
                f"database schema for {area!r} is newer ({max(done)}) than this Grotius "
                f"({len(steps)}): upgrade Grotius before opening this node",
                area=area,
            )
        for number, script in enumerate(steps, start=1):
            if number in done:
                continue
            with store.transaction() as tx:
                for stmt in store.ddl(script).split(";\n"):
                    if stmt.strip():
                        tx.execute(stmt)
                tx.execute(
                    "INSERT INTO schema_migrations (area, number) VALUES (?, ?)", (area, number)
                )
            applied.append((area, number))
    return applied
