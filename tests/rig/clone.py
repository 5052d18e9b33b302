"""A copy of the repository holding exactly what ``git clone`` would, uncommitted work included.

The files are those git knows of or would add (``git ls-files --cached --others
--exclude-standard``): no .venv, no node_modules, no caches, nothing from outside the repository.
Tests run pytest in such a copy to prove the suite needs nothing else.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import tests

ROOT = Path(tests.__file__).resolve().parent.parent
"""The repository: the folder holding the ``tests`` package."""


def repository_files() -> list[str]:
    """Paths (relative to the repository) of the files a clone of the working tree would have."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout, or git is not installed")
    out = subprocess.run(
        [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    return sorted({name for name in out.decode().split("\0") if name})


def git_clone(dest: Path) -> Path:
    """A real ``git clone`` of the repository's committed state (HEAD) into ``dest``: what a
    user gets, so a file never added to git is missing here exactly as it would be for them."""
    git = shutil.which("git")
    if git is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout, or git is not installed")
    subprocess.run(
        [git, "clone", "--quiet", "--no-hardlinks", str(ROOT), str(dest)],
        capture_output=True,
        check=True,
    )
    return dest


def clone_to(dest: Path) -> Path:
    """Copy the repository's files into ``dest`` (created); returns ``dest``."""
    for name in repository_files():
        source = ROOT / name
        if not source.is_file() and not source.is_symlink():
            continue  # deleted in the working tree, not yet in git
        target = dest / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target, follow_symlinks=False)
    return dest


def run_pytest(
    clone: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """``python -m pytest`` with this interpreter in ``clone``: the clone's packages come first
    on sys.path (its working directory), ahead of the editable install of the repository."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=clone,
        env=os.environ.copy() if env is None else env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
