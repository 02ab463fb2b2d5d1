"""The node's store: STIX object versions in SQLite (embedded) or PostgreSQL (production)."""

from .engine import Store, Tx
from .migrate import migrate
from .objects import Stored


def open_store(url: str, *, upgrade: bool = True) -> Store:
    store = Store(url)
    if upgrade:
        migrate(store)
    return store


__all__ = ["Store", "Tx", "Stored", "migrate", "open_store"]
