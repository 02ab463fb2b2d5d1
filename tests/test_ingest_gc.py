"""The cyclic collector around a large ingest: paused while it runs, then enabled again
with what survived moved to the oldest generation; frozen objects of others stay frozen."""

from __future__ import annotations

import gc
from typing import Any, Iterator

import orjson
import pytest

from grotius import checkpool, ingest as ingest_mod
from grotius.ingest import ingest, read
from grotius.stix.synthetic import bundle


@pytest.fixture
def small_large(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Inputs of 40 objects count as large, checked in this process."""
    monkeypatch.setattr(checkpool, "PARALLEL_MIN", 40)
    monkeypatch.setattr(ingest_mod, "GC_PAUSE_BYTES", 1000)
    monkeypatch.setenv("GROTIUS_INGEST_WORKERS", "0")
    assert gc.isenabled() and gc.get_freeze_count() == 0
    yield
    gc.enable()


def test_large_ingest_pauses_the_collector_and_leaves_it_as_it_was(make_node: Any, small_large: None) -> None:
    data = orjson.dumps(bundle(120, seed=3))
    node = make_node()
    seen: list[bool] = []
    ingest_mod.HOOKS.append(lambda tx, node, stored: seen.append(gc.isenabled()))
    try:
        items = read(data)
        assert gc.isenabled() and gc.get_freeze_count() == 0
        s = ingest(node, items)
    finally:
        ingest_mod.HOOKS.pop()
    assert s.rejected == 0 and s.stored == 120
    assert seen and not any(seen)  # paused while storing
    assert gc.isenabled() and gc.get_freeze_count() == 0
    # what the paused ingest made and kept went to the oldest generation, not left for
    # the younger ones to walk again
    made = s.results[-1]
    assert gc.is_tracked(made)
    assert any(o is made for o in gc.get_objects(generation=2))


def test_others_frozen_objects_stay_frozen(make_node: Any, small_large: None) -> None:
    node = make_node()
    sentinel: list[Any] = [object()]
    gc.freeze()
    try:
        assert not any(o is sentinel for o in gc.get_objects())  # frozen objects are not listed
        s = ingest(node, read(orjson.dumps(bundle(60, seed=4))))
        assert s.stored == 60 and gc.isenabled()
        assert gc.get_freeze_count() > 0
        assert not any(o is sentinel for o in gc.get_objects())
    finally:
        gc.unfreeze()
    assert any(o is sentinel for o in gc.get_objects())


def test_small_ingest_leaves_the_collector_alone(make_node: Any) -> None:
    gc.collect()
    s = ingest(make_node(), bundle(5, seed=5)["objects"])
    assert s.stored == 5 and gc.isenabled() and gc.get_freeze_count() == 0
