"""Shared fixtures: real node homes on a real SQLite file or a real PostgreSQL database.

PostgreSQL comes from GROTIUS_TEST_POSTGRES (a server URL; each test gets a database of
its own). Without it those tests skip with a reason, unless GROTIUS_REQUIRE_POSTGRES is
set (CI), where a missing server fails the run.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Iterator

import pytest

from grotius.node import Node, init

from browser import browser_page  # noqa: F401  (headless Chromium for the browser tests)

PG_URL = os.environ.get("GROTIUS_TEST_POSTGRES", "")
REQUIRE_PG = bool(os.environ.get("GROTIUS_REQUIRE_POSTGRES"))


_TEMPLATE: list[str] = []


def _pg_template() -> str:
    """A database with every migration applied, made once per test process: copying it
    is much cheaper than migrating each test's database from scratch."""
    if _TEMPLATE:
        return _TEMPLATE[0]
    import psycopg

    from grotius.store import open_store

    name = f"grotius_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    store = open_store(PG_URL.rsplit("/", 1)[0] + "/" + name)
    store.close()
    _TEMPLATE.append(name)
    return name


def _drop_template() -> None:
    if _TEMPLATE:
        import psycopg

        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{_TEMPLATE[0]}" WITH (FORCE)')


def pytest_sessionfinish(session: pytest.Session) -> None:
    _drop_template()


def _pg_database() -> Iterator[str]:
    if not PG_URL:
        if REQUIRE_PG:
            pytest.fail("GROTIUS_REQUIRE_POSTGRES is set but GROTIUS_TEST_POSTGRES is not")
        pytest.skip("no PostgreSQL: set GROTIUS_TEST_POSTGRES=postgresql://... to run the PostgreSQL tests")
    import psycopg

    name = "grotius_test_" + uuid.uuid4().hex[:12]
    try:
        template = _pg_template()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    except psycopg.OperationalError as e:
        if REQUIRE_PG:
            raise
        pytest.skip(f"PostgreSQL at GROTIUS_TEST_POSTGRES not reachable: {e}")
    base = PG_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each engine."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from _pg_database()


@pytest.fixture
def make_node(db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Factory for initialised nodes on the parametrised engine (several per test allowed;
    on PostgreSQL only the first shares the fixture database, later ones get their own)."""
    made: list[Node] = []
    extra: list[Iterator[str]] = []

    def factory(org: str = "NL-POL", **kwargs: object) -> Node:
        url = db_url
        if made:
            if db_url.startswith("sqlite"):
                url = f"sqlite:///{tmp_path / (org + '-' + str(len(made)) + '.db')}"
            else:
                gen = _pg_database()
                url = next(gen)
                extra.append(gen)
        home = tmp_path / f"home-{org}-{len(made)}"
        node = init(home, org, database_url=url, **kwargs)  # type: ignore[arg-type]
        made.append(node)
        return node

    monkeypatch.delenv("GROTIUS_DATABASE_URL", raising=False)
    yield factory
    for n in made:
        n.close()
    for gen in extra:
        for _ in gen:
            pass


@pytest.fixture
def node(make_node: object) -> Node:
    return make_node()  # type: ignore[operator]


# -- web: a node served over real HTTP (reused by TAXII, correlation, matching tests) ----


@pytest.fixture
def live_server() -> Iterator[object]:
    """Factory ``live_server(node, app=None) -> base_url``: serves the node's web app on
    127.0.0.1 at a free port until the test ends."""
    from livenode import start_live_server

    servers = []

    def factory(node: Node, app: object | None = None) -> str:
        srv = start_live_server(node, app)
        servers.append(srv)
        return srv.base_url

    yield factory
    for srv in servers:
        srv.stop()
