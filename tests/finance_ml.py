"""The finance-ml extra (scikit-learn, scipy) for the tests that train or score: without it
they skip with a reason, unless GROTIUS_REQUIRE_FINANCE_ML is set (CI), where that is a
failure, so a CI image that lost the extra cannot pass by skipping them."""

from __future__ import annotations

import importlib
import os

import pytest


def require(module: str, reason: str) -> None:
    """Import ``module`` or skip (fail under GROTIUS_REQUIRE_FINANCE_ML); at module level too."""
    try:
        importlib.import_module(module)
    except ImportError:
        if os.environ.get("GROTIUS_REQUIRE_FINANCE_ML"):
            pytest.fail(f"GROTIUS_REQUIRE_FINANCE_ML is set but {module} is missing: {reason}", pytrace=False)
        pytest.skip(reason, allow_module_level=True)
