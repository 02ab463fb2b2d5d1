"""Which values are flagged: the MISP warninglists the node has enabled, plus its own
exclusion lists (table ``correlate_exclusions``). A flagged value stays in the index but
raises no lead unless the caller asks for flagged matches."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from grotius.correlate import warninglists
from grotius.correlate.types import registry
from grotius.exc import InvalidInput, NotFound

if TYPE_CHECKING:
    from grotius.node import Node

LOCAL_PREFIX = "local:"


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "grotius"


_SETTING = "GROTIUS_WARNINGLISTS"
# os.environ's own store and the setting's key in it: misp_names asks per value, and
# os.environ.get (encoding the name, a KeyError when unset) cost more than the lookup of
# a hash. Reading the store sees every change made through os.environ, as get does.
_ENV_STORE: dict | None = getattr(os.environ, "_data", None)
_ENV_KEY = os.environ.encodekey(_SETTING) if _ENV_STORE is not None and hasattr(os.environ, "encodekey") else None


def misp_enabled() -> bool:
    # GROTIUS_WARNINGLISTS=off skips the MISP data (tests of other areas, tiny nodes);
    # the node's own exclusions still apply.
    if _ENV_KEY is not None:
        if _ENV_STORE.get(_ENV_KEY) is None:  # type: ignore[union-attr]
            return True
    return os.environ.get(_SETTING, "on").lower() not in ("off", "0", "no")


def misp_names(kind: str, value: str) -> tuple[str, ...] | None:
    """Names of the MISP lists a clean value is on, whether or not a node disabled them;
    None where this process does not use the MISP data. A pure function of the value, so
    the ingest worker computes it (grotius.checkpool) and the storing process need not
    load the lists at all."""
    if not misp_enabled():
        return None
    return tuple(_misp_lists().lookup(kind, value))


_misp: warninglists.Warninglists | None = None


def _misp_lists() -> warninglists.Warninglists:
    # opened once per process; resolving the cache directory per value cost more than
    # the lookup
    global _misp
    if _misp is None:
        _misp = warninglists.misp(cache_dir())
    return _misp


class Flagger:
    def __init__(self, node: "Node") -> None:
        store = node.store
        self._use_misp = misp_enabled()
        self.disabled = {r[0] for r in store.query("SELECT name FROM correlate_lists WHERE enabled = 0")}
        lists: dict[str, dict[str, Any]] = {}
        for name, kind, value in store.query("SELECT list, kind, value FROM correlate_exclusions"):
            fam = registry.family(kind)
            wtype = "cidr" if fam == "ip" else "hostname" if kind == "domain" else "string"
            entry = lists.setdefault(f"{name}\x00{wtype}", {"name": LOCAL_PREFIX + name, "type": wtype, "list": [], "version": 0, "description": ""})
            entry["list"].append(value)
        self.local = warninglists.Warninglists(list(lists.values()), source="node exclusions") if lists else None

    @property
    def misp(self) -> warninglists.Warninglists | None:
        # opened on first use: a large ingest gets the MISP names from its worker
        return _misp_lists() if self._use_misp else None

    def flags(self, kind: str, value: str, names: Sequence[str] | None = None) -> list[str]:
        """Flags of a clean value; ``names`` are its MISP list names when already known
        (from :func:`misp_names`)."""
        out: list[str] = []
        if self._use_misp:
            if names is None:
                names = self.misp.lookup(kind, value)  # type: ignore[union-attr]
            out.extend(n for n in names if n not in self.disabled)
        if self.local is not None:
            out.extend(self.local.lookup(kind, value))
        return out


def flagger(node: "Node") -> Flagger:
    f = getattr(node, "_correlate_flagger", None)
    if f is None:
        f = Flagger(node)
        node._correlate_flagger = f  # type: ignore[attr-defined]
    return f


def _reset(node: "Node") -> None:
    if hasattr(node, "_correlate_flagger"):
        del node._correlate_flagger  # type: ignore[attr-defined]


def add_exclusion(node: "Node", value: str, *, list_name: str = "default", kind: str | None = None, reason: str = "") -> tuple[str, str]:
    """Exclude a value (an address, a CIDR range, a domain and its subdomains, ...)."""
    if kind is None:
        found = registry.detect_clean(value)
        if not found:
            raise InvalidInput(f"cannot tell what kind of value {value!r} is: pass --kind", value=value)
        kind, clean = found
    else:
        clean = registry.clean(kind, value)
    with node.store.transaction() as tx:
        tx.execute(
            "INSERT INTO correlate_exclusions (list, kind, value, reason, created) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT DO NOTHING",
            (list_name, kind, clean, reason, int(time.time())),
        )
    _reset(node)
    return kind, clean


def remove_exclusion(node: "Node", value: str, *, list_name: str = "default", kind: str | None = None) -> tuple[str, str]:
    found = (kind, registry.clean(kind, value)) if kind else registry.detect_clean(value)
    if not found:
        raise InvalidInput(f"cannot tell what kind of value {value!r} is: pass --kind", value=value)
    with node.store.transaction() as tx:
        n = tx.execute("DELETE FROM correlate_exclusions WHERE list = ? AND kind = ? AND value = ?", (list_name, found[0], found[1]))
    if not n:
        raise NotFound(f"{found[1]} is not on exclusion list {list_name!r}", value=found[1], list=list_name)
    _reset(node)
    return found[0], found[1]


def set_list_enabled(node: "Node", name: str, enabled: bool) -> None:
    if misp_enabled():
        names = {i.name for i in warninglists.misp(cache_dir()).info}
        if name not in names:
            raise NotFound(f"no MISP warninglist named {name!r}", name=name)
    with node.store.transaction() as tx:
        tx.execute("DELETE FROM correlate_lists WHERE name = ?", (name,))
        if not enabled:
            tx.execute("INSERT INTO correlate_lists (name, enabled) VALUES (?, 0)", (name,))
    _reset(node)


def list_status(node: "Node") -> list[dict[str, Any]]:
    disabled = {r[0] for r in node.store.query("SELECT name FROM correlate_lists WHERE enabled = 0")}
    out = []
    if misp_enabled():
        for i in warninglists.misp(cache_dir()).info:
            out.append({"name": i.name, "type": i.type, "entries": i.entries, "version": i.version,
                        "enabled": i.name not in disabled, "origin": "misp"})
    for name, n in node.store.query("SELECT list, COUNT(*) FROM correlate_exclusions GROUP BY list ORDER BY list"):
        out.append({"name": LOCAL_PREFIX + name, "type": "exclusions", "entries": n, "version": 0, "enabled": True, "origin": "node"})
    return out
