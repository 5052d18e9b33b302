"""The one list of tests allowed to be skipped in CI (``CI=true``), each with its reason.

In CI any other skip fails the run (hooks in tests/conftest.py): a test that quietly stops
running is a test lost. A skip is allowed when its node id matches a pattern below (fnmatch,
relative to the repository) and its reason is exactly the one listed. Outside CI, skips stay skips.
"""

from __future__ import annotations

import os

NEEDS_POSTGRES = (
    "needs PostgreSQL (set COOPUB_TEST_DATABASE_URL): SQLite runs one worker process by design, "
    "and its serialised transactions would deadlock a test that holds row locks"
)

POSTGRES_CHECK = "checks PostgreSQL's own answer; runs on the PostgreSQL run of the suite"

ALLOWED: dict[str, str] = {
    # The multi-process queue tests, on the SQLite run (they do run on the PostgreSQL one).
    "tests/test_workers_pg.py::*": NEEDS_POSTGRES,
    # A database missing on a live PostgreSQL server (its message names `createdb`).
    "tests/test_cli.py::test_missing_postgresql_database": POSTGRES_CHECK,
}


def in_ci() -> bool:
    """CI services (GitHub Actions, GitLab CI, Woodpecker, ...) set ``CI=true``."""
    return os.environ.get("CI") == "true"
