"""Without the finance-ml extra the model tests skip, but under GROTIUS_REQUIRE_FINANCE_ML
(set by .ci/run) they fail: a CI image that lost scikit-learn must not pass by skipping."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent


@pytest.mark.parametrize("required", [False, True])
def test_missing_scikit_learn_skips_or_fails(tmp_path: Path, required: bool) -> None:
    # a scikit-learn that cannot be imported, ahead of the installed one on the path
    (tmp_path / "sklearn").mkdir()
    (tmp_path / "sklearn" / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'sklearn'\", name='sklearn')\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("GROTIUS_REQUIRE_")}
    env["PYTHONPATH"] = os.pathsep.join([str(tmp_path), str(TESTS)])
    if required:
        env["GROTIUS_REQUIRE_FINANCE_ML"] = "1"
    r = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", "-p", "no:xdist",
         str(TESTS / "test_finance_model.py"), str(TESTS / "test_finance_accounts.py")],
        cwd=TESTS.parent, env=env, capture_output=True, text=True, timeout=300,
    )
    out = r.stdout + r.stderr
    if required:
        assert r.returncode == pytest.ExitCode.INTERRUPTED, out  # errors while collecting
        assert out.count("GROTIUS_REQUIRE_FINANCE_ML is set but sklearn is missing") >= 2, out
    else:
        assert r.returncode == pytest.ExitCode.NO_TESTS_COLLECTED, out  # both modules skipped whole
        assert "2 skipped" in out and "grotius[finance-ml] (scikit-learn)" in out, out
