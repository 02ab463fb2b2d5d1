"""Typed node configuration, read from ``<home>/node.toml``; fails loudly on a missing value."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .exc import ConfigError
from .stix import markings

CONFIG_FILE = "node.toml"


@dataclass(frozen=True)
class Config:
    home: Path
    org: str
    identity_id: str
    secret: str
    default_tlp: str = "amber"
    database_url: str = ""
    #: communities this node belongs to (GREEN is shared only inside a common community)
    communities: tuple[str, ...] = field(default_factory=tuple)

    @property
    def db_url(self) -> str:
        """Environment beats the file so one home can be pointed at PostgreSQL."""
        env = os.environ.get("GROTIUS_DATABASE_URL", "")
        if env:
            return env
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home / 'grotius.db'}"

    @classmethod
    def load(cls, home: Path) -> "Config":
        path = home / CONFIG_FILE
        if not path.exists():
            raise ConfigError(
                f"no Grotius node at {home}: {CONFIG_FILE} is missing "
                "(create one with `grotius init --home DIR --org NAME`)",
                path=str(path),
            )
        try:
            data = tomllib.loads(path.read_text("utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
            raise ConfigError(f"{path} is not valid TOML: {e}", path=str(path)) from None
        node = data.get("node")
        if not isinstance(node, dict):
            raise ConfigError(f"{path} has no [node] table", path=str(path))
        known = {f.name for f in fields(cls)} - {"home"}
        unknown = set(node) - known
        if unknown:
            raise ConfigError(
                f"{path}: unknown setting(s) {', '.join(sorted(unknown))}", path=str(path)
            )
        for required in ("org", "identity_id", "secret"):
            if not isinstance(node.get(required), str) or not node[required]:
                raise ConfigError(f"{path}: [node] {required} is missing", path=str(path))
        kwargs: dict[str, Any] = dict(node)
        kwargs["default_tlp"] = markings.level(str(node.get("default_tlp", "amber")))
        kwargs["communities"] = tuple(node.get("communities", ()))
        return cls(home=home, **kwargs)

    def dump(self) -> str:
        def q(s: str) -> str:
            return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'

        lines = ["[node]"]
        lines.append(f"org = {q(self.org)}")
        lines.append(f"identity_id = {q(self.identity_id)}")
        lines.append(f"secret = {q(self.secret)}")
        lines.append(f"default_tlp = {q(self.default_tlp)}")
        if self.database_url:
            lines.append(f"database_url = {q(self.database_url)}")
        lines.append("communities = [" + ", ".join(q(c) for c in self.communities) + "]")
        return "\n".join(lines) + "\n"


def home_from(value: str | Path | None) -> Path:
    if value:
        return Path(value).expanduser().resolve()
    env = os.environ.get("GROTIUS_HOME")
    if env:
        return Path(env).expanduser().resolve()
    raise ConfigError("no node selected: pass --home DIR or set GROTIUS_HOME")
