"""The one list of tests allowed to be skipped in CI (``CI=true``), each with its reason.

In CI any other skip fails the run (hooks in tests/conftest.py): a test that quietly stops
running is a test lost. A skip is allowed when its node id matches a pattern below (fnmatch,
relative to the repository) and its reason is exactly the one listed. Outside CI, skips stay skips.
"""

from __future__ import annotations

import os

import pytest

from tests.rig.database import is_postgres

NEEDS_POSTGRES = (
    "needs PostgreSQL (set COOPUB_TEST_DATABASE_URL): row locks and several `coopub worker` "
    "commands (tests/test_processes.py runs worker processes on both databases); SQLite's "
    "serialised transactions would deadlock a test that holds row locks"
)

POSTGRES_CHECK = "checks PostgreSQL's own answer; runs on the PostgreSQL run of the suite"

BROWSER_ONCE = (
    "the browser tests run once, on the SQLite run: the pages do not depend on the database "
    "(their in-process tests run on both)"
)

PEER_ONCE = (
    "runs once, on the PostgreSQL run: what the Fedify peer reads and sends does not depend on "
    "coopub's database (tests/test_interop_fedify.py and the coopub-to-coopub end-to-end tests "
    "run the served queue on both)"
)

E2E_ONCE = (
    "runs once, on the PostgreSQL run: the same served queue and inbox as the end-to-end tests "
    "that run on both databases (tests/test_federation_e2e.py, tests/test_bookings_e2e.py), "
    "here carrying posts or a directory's relay"
)

ALLOWED: dict[str, str] = {
    # The browser tests (Chromium against `coopub serve`), on the PostgreSQL run.
    "tests/test_browser.py::*": BROWSER_ONCE,
    "tests/test_browser_bookings.py::*": BROWSER_ONCE,
    "tests/test_browser_places.py::*": BROWSER_ONCE,
    "tests/test_browser_join.py::*": BROWSER_ONCE,
    "tests/test_browser_alerts.py::*": BROWSER_ONCE,
    "tests/test_browser_a11y.py::*": BROWSER_ONCE,
    # Slow end-to-end files that test nothing new on a second database: skipped on the SQLite run.
    "tests/test_fedify_feed.py::*": PEER_ONCE,
    "tests/test_fedify_interactions.py::*": PEER_ONCE,
    "tests/test_fedify_offer_posts.py::*": PEER_ONCE,
    "tests/test_bookings_fedify.py::*": PEER_ONCE,
    "tests/test_posts_e2e.py::*": E2E_ONCE,
    "tests/test_directory_relay_e2e.py::*": E2E_ONCE,
    "tests/test_accounts_e2e.py::*": E2E_ONCE,
    "tests/test_account_delete_fedify.py::*": PEER_ONCE,
    "tests/test_reports_e2e.py::*": E2E_ONCE,
    "tests/test_reports_fedify.py::*": PEER_ONCE,
    "tests/test_moves_e2e.py::*": E2E_ONCE,
    "tests/test_account_moderation_e2e.py::*": E2E_ONCE,
    "tests/test_moves_fedify.py::*": PEER_ONCE,
    "tests/test_moderation_fedify.py::*": PEER_ONCE,
    # The multi-process queue tests, on the SQLite run (they do run on the PostgreSQL one).
    "tests/test_workers_pg.py::*": NEEDS_POSTGRES,
    "tests/test_worker_crash.py::*": NEEDS_POSTGRES,
    # `coopub worker --processes 2` (tests/test_processes.py serves both databases) and
    # PostgreSQL's LISTEN/NOTIFY wake-up.
    "tests/test_processes.py::test_worker_command_runs_and_stops_its_processes": E2E_ONCE,
    "tests/test_processes.py::test_a_poke_in_one_process_wakes_a_worker_listening_in_another": (
        POSTGRES_CHECK
    ),
    # asyncpg's pool gives a connection back without its reset query (models/db.keep_session).
    "tests/test_database_settings.py::test_a_released_connection_is_not_reset_with_a_round_trip": (
        POSTGRES_CHECK
    ),
    # LZ4 for the JSON documents (migration 0020): a PostgreSQL column setting.
    "tests/test_database_settings.py::test_documents_are_compressed_with_lz4": POSTGRES_CHECK,
    # The plan of the nearness scan, index-only on PostgreSQL's GiST (migration 0016).
    "tests/test_search_indexes.py::test_the_place_indexes_answer_without_reading_the_table": (
        POSTGRES_CHECK
    ),
    # A write that ends after a later one changes the data version (the snapshot, not xmax).
    "tests/test_page_cache.py::test_a_write_that_ends_after_a_later_one_changes_the_data_version": (
        POSTGRES_CHECK
    ),
    # A database missing on a live PostgreSQL server (its message names `createdb`).
    "tests/test_cli.py::test_missing_postgresql_database": POSTGRES_CHECK,
}


def once_on_postgres(reason: str) -> pytest.MarkDecorator:
    """The mark of a file listed above with ``reason``: skipped on the SQLite run."""
    return pytest.mark.skipif(not is_postgres(), reason=reason)


def in_ci() -> bool:
    """CI services (GitHub Actions, GitLab CI, Woodpecker, ...) set ``CI=true``."""
    return os.environ.get("CI") == "true"
