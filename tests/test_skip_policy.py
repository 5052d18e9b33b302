"""The CI skip policy (list in tests/skips.py, hooks in tests/conftest.py), run for real: pytest
in a clone of the repository on probe test files, with and without ``CI=true``.

The clone's tests/skips.py gets a probe list appended; the hooks are the repository's own.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.rig.clone import ROOT, clone_to, run_pytest
from tests.skips import ALLOWED, NEEDS_POSTGRES

PROBE = """
import pytest


def test_runs():
    pass


def test_listed():
    pytest.skip("listed reason")


def test_listed_name_other_reason():
    pytest.skip("another reason")


@pytest.mark.skipif(True, reason="nobody listed me")
def test_unlisted_mark():
    pass


@pytest.mark.xfail(reason="expected to fail", strict=True)
def test_expected_failure():
    raise AssertionError
"""
PROBE_MODULE = 'import pytest\n\npytest.skip("whole module", allow_module_level=True)\n'
PROBE_LIST = '\nALLOWED = {"tests/test_probe.py::test_listed*": "listed reason"}\n'
HEADER = "skipped in CI, not listed in tests/skips.py"


@pytest.fixture(scope="module")
def clone(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = clone_to(tmp_path_factory.mktemp("policy") / "coopub")
    (root / "tests" / "test_probe.py").write_text(PROBE)
    (root / "tests" / "test_probe_module.py").write_text(PROBE_MODULE)
    with (root / "tests" / "skips.py").open("a") as skips:
        skips.write(PROBE_LIST)
    return root


def probe(clone: Path, ci: bool, *tests: str) -> tuple[int, list[str], str]:
    """Exit status, the lines of the unexpected-skips section, and the whole output."""
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    result: subprocess.CompletedProcess[str] = run_pytest(
        clone, "-q", *(tests or ("tests/test_probe.py", "tests/test_probe_module.py")), env=env
    )
    output = result.stdout + result.stderr
    lines = result.stdout.splitlines()
    flagged: list[str] = []
    if any(HEADER in line for line in lines):
        start = next(i for i, line in enumerate(lines) if HEADER in line) + 1
        flagged = [line for line in lines[start:] if line.startswith("tests/")]
    return result.returncode, flagged, output


def test_in_ci_an_unlisted_skip_fails_the_run(clone: Path) -> None:
    status, flagged, output = probe(clone, True)
    assert status == pytest.ExitCode.TESTS_FAILED, output
    assert sorted(flagged) == [
        "tests/test_probe.py::test_listed_name_other_reason: another reason",
        "tests/test_probe.py::test_unlisted_mark: nobody listed me",
        "tests/test_probe_module.py: whole module",
    ], output
    assert "FAILED: 3 unexpected skip(s) in CI" in output


def test_in_ci_a_listed_skip_passes(clone: Path) -> None:
    status, flagged, output = probe(
        clone,
        True,
        "tests/test_probe.py::test_runs",
        "tests/test_probe.py::test_listed",
        "tests/test_probe.py::test_expected_failure",
    )
    assert status == pytest.ExitCode.OK, output
    assert flagged == []
    assert re.search(r"1 passed, 1 skipped, 1 xfailed", output), output


def test_outside_ci_skips_stay_skips(clone: Path) -> None:
    status, flagged, output = probe(clone, False)
    assert status == pytest.ExitCode.OK, output
    assert flagged == []
    assert HEADER not in output
    assert re.search(r"1 passed, 4 skipped, 1 xfailed", output), output


def test_the_real_list_names_existing_files_and_the_reasons_used() -> None:
    for pattern, reason in ALLOWED.items():
        assert (ROOT / pattern.split("::")[0]).is_file(), pattern
        assert reason
    assert ALLOWED["tests/test_workers_pg.py::*"] == NEEDS_POSTGRES
    assert "reason=NEEDS_POSTGRES" in (ROOT / "tests" / "test_workers_pg.py").read_text()
