"""What every `grotius` command shares: the --home option, opening the node, and turning
GrotiusError into one line and an exit status instead of a traceback.

Apart from cli.py so an area's command module can be imported on its own: cli.py imports
every area's commands, and an area importing cli.py back would find it half-built.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import click

from .exc import GrotiusError, InvalidInput

if TYPE_CHECKING:
    from .node import Node

home_option = click.option(
    "--home",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="GROTIUS_HOME",
    help="Node home folder (default: $GROTIUS_HOME).",
)


def friendly(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn GrotiusError into a clear message and exit status instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except GrotiusError as e:
            click.echo(f"error: {e}", err=True)
            for line in _listed_errors(e)[:10]:
                click.echo(f"  {line}", err=True)
            sys.exit(2 if isinstance(e, InvalidInput) else 1)

    return wrapper


def _listed_errors(e: GrotiusError) -> list[str]:
    """The per-row or per-object errors an error carries (str(e) leaves them out)."""
    errors = e.detail.get("errors")
    if not isinstance(errors, list):
        return []
    out: list[str] = []
    for err in errors:
        if not isinstance(err, dict):
            out.append(str(err))
        elif err.get("text"):
            out.append(str(err["text"]))
        elif err.get("line") is not None:
            out.append(f"line {err['line']}: {err.get('message')}")
        else:
            out.append(str(err.get("message")))
    return out


def open_node(home: Path | None) -> "Node":
    from .node import Node

    return Node.open(home)
