"""Schema migrations, tracked per product area so areas evolve independently.

Each area keeps ``MIGRATIONS: list[str]`` in ``grotius/<area>/schema.py``; a migration is
applied once, in order, inside one transaction with its bookkeeping row, so an upgrade
that fails leaves the node as it was.
"""

from __future__ import annotations

import importlib

from ..exc import ConfigError
from .engine import Store

AREAS: tuple[str, ...] = (
    "store",
    "sharing",
    "correlate",
    "matching",
    "finance",
    "maritime",
    "assessment",
)


def _migrations(area: str) -> list[str]:
    mod = importlib.import_module(f"grotius.{area}.schema")
    return list(getattr(mod, "MIGRATIONS"))


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
        steps = _migrations(area)
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
