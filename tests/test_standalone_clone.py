"""A clone of the repository stands on its own.

The tests that read captured payloads run in a real ``git clone`` of the committed repository,
with nothing beside it; and no test or script names a path outside the repository.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from tests.rig.clone import ROOT, git_clone, repository_files, run_pytest

THIS = "tests/test_standalone_clone.py"
READS_FIXTURES = re.compile(r'\bFIXTURES\b|"fixtures"')
# Written in pieces so that this file, scanned like the others, does not match itself.
LEAKS = ("../" + "shared", "/work/" + "shared", "parent." + "parent.parent")
IMPORTED = ("activitypub", "federation", "instance", "models", "tests.conftest")


def fixture_readers() -> list[str]:
    """The test files that read tests/fixtures (through ``FIXTURES`` or a "fixtures" path)."""
    return sorted(
        name
        for name in repository_files()
        if re.fullmatch(r"tests/test_\w+\.py", name)
        and name != THIS
        and (ROOT / name).is_file()
        and READS_FIXTURES.search((ROOT / name).read_text(encoding="utf-8"))
    )


def test_fixture_readers_are_found() -> None:
    assert {"tests/test_fixtures.py", "tests/test_chatonsinfos.py"} <= set(fixture_readers())


def test_clone_alone_passes_the_fixture_tests(tmp_path: Path) -> None:
    lonely = tmp_path / "lonely"
    clone = git_clone(lonely / "coopub")
    assert [p.name for p in lonely.iterdir()] == ["coopub"]
    assert not (clone.parent / "shared").exists()
    assert not (clone / ".venv").exists()
    assert (clone / "tests" / "fixtures" / "README.md").is_file()

    # The clone's packages are the ones imported (same interpreter, cwd, environment as below),
    # not the editable install of the original; and its FIXTURES is its own folder.
    probe = subprocess.run(
        [
            sys.executable,
            "-c",
            "import importlib, json, sys; "
            f"mods = {{m: importlib.import_module(m).__file__ for m in {IMPORTED!r}}}; "
            "mods['FIXTURES'] = str(sys.modules['tests.conftest'].FIXTURES); "
            "print(json.dumps(mods))",
        ],
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    where = json.loads(probe.stdout.strip().splitlines()[-1])
    for name, path in where.items():
        assert Path(path).resolve().is_relative_to(clone.resolve()), (name, path)
    assert Path(where["FIXTURES"]) == clone / "tests" / "fixtures"

    readers = fixture_readers()
    result = run_pytest(clone, "-q", *readers)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-6000:]
    summary = result.stdout.strip().splitlines()[-1]
    passed = re.search(r"(\d+) passed", summary)
    assert passed and int(passed.group(1)) > 0, summary
    assert not re.search(r"\b(failed|error|errors|skipped)\b", summary), summary


def test_no_test_or_script_names_a_path_outside_the_repository() -> None:
    offenders = []
    for name in repository_files():
        path = ROOT / name
        if not name.startswith(("tests/", "scripts/")) or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # not text
        offenders += [
            f"{name}:{number}: {line.strip()}"
            for number, line in enumerate(text.splitlines(), 1)
            if any(leak in line for leak in LEAKS)
        ]
    assert offenders == []
