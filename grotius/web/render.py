"""Server-rendered pages: one Jinja2 environment per app, with the helpers every page uses.

Areas render their pages through ``page(request, "template.html", {...})``; their own
templates live in ``grotius/<area>/templates/`` and may extend ``base.html``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from ..stix import grading, markings
from . import auth
from .describe import us_to_iso

HERE = Path(__file__).parent


@dataclass(frozen=True)
class NavItem:
    """One entry of the navigation bar; ``order`` sorts entries (core pages use 10-30)."""

    label: str
    path: str
    order: int = 100


def make_env(search_path: list[Path]) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(p) for p in search_path]),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["us"] = us_to_iso
    env.filters["pretty"] = lambda v: json.dumps(v, indent=2, ensure_ascii=False, sort_keys=False)
    env.filters["short_ts"] = lambda s: (s or "")[:19].replace("T", " ")
    env.filters["tlp_name"] = lambda lvl: "TLP:" + str(lvl).upper()
    env.globals["TLP_LEVELS"] = markings.LEVELS
    env.globals["TLP_COLOURS"] = markings.COLOURS
    env.globals["RELIABILITY"] = grading.RELIABILITY
    env.globals["CREDIBILITY"] = grading.CREDIBILITY
    env.globals["CSRF_FIELD"] = auth.CSRF_FIELD
    return env


def page(
    request: Request, name: str, context: dict[str, Any] | None = None, *, status: int = 200,
    principal: auth.Principal | None = None,
) -> HTMLResponse:
    app = request.app
    env: jinja2.Environment = app.state.templates
    if principal is None:
        try:
            principal = auth.resolve(request)
        except Exception:  # a page about a failed login still renders
            principal = None
    path = request.url.path
    nav = [
        {"label": n.label, "path": n.path,
         "active": path == n.path or (n.path != "/" and path.startswith(n.path + "/"))
         or (n.path != "/" and path == n.path)}
        for n in sorted(app.state.nav, key=lambda n: (n.order, n.label))
    ]
    ctx = {
        "request": request,
        "principal": principal,
        "csrf": principal.csrf if principal else None,
        "nav": nav,
        "org": app.state.node.config.org,
        "path": path,
    }
    ctx.update(context or {})
    return HTMLResponse(env.get_template(name).render(ctx), status_code=status)
