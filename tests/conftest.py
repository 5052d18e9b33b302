"""The one test rig: a fresh database (SQLite or PostgreSQL), canned actors and keys, an app.

``COOPUB_TEST_DATABASE_URL`` selects the database: ``sqlite`` (default, a temporary file) or a
``postgres://`` URL whose database is emptied at the start of the session.

In CI (``CI=true``) a skipped test fails the run unless tests/skips.py lists it with its reason.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from fnmatch import fnmatchcase
from pathlib import Path

import httpx
import pytest
from tortoise import connections

from federation.actors import forget_key_owners
from federation.context import Federation, SiteInfo
from federation.services import accounts
from federation.services.accounts import create_actor, ensure_instance_actor
from federation.services.handlers import inbox_handlers
from federation.settings import FederationSettings
from instance import passwords
from instance.app import create_app
from instance.config import parse_config
from models.actors import ActorKind, LocalActor
from models.db import close_db, open_db
from tests.rig import fast_crypto
from tests.rig.database import drop_created, fresh_database_url
from tests.rig.remote import RemoteServer
from tests.skips import ALLOWED, in_ci

pytest_plugins = ["tests.rig.web_clients"]  # app, alice, bob, as_alice, as_bob, anonymous

FIXTURES = Path(__file__).resolve().parent / "fixtures"  # captured payloads, see its README
TEST_DOMAIN = "coop.test"
TABLES = (
    "moderation_action",
    "report",
    "domain_block",
    "alert_match",
    "saved_search",
    "password_reset",
    "membership_request",
    "signup_request",
    "invitation",
    "feed_token",
    "notification",
    "reaction",
    "post",
    "media",
    "booking_message",
    "booking",
    "delivery",
    "activity",
    "inbox_item",
    "follow",
    "remote_actor",
    "offer",
    "api_token",
    "directory_entry",
    "local_actor",
    "host",
    "worker_heartbeat",
    "login_failure",
)


def pytest_report_header() -> str:
    return f"database: {os.environ.get('COOPUB_TEST_DATABASE_URL', 'sqlite')}"


# --- skip policy (tests/skips.py) ---------------------------------------------------------------

SKIPPED: list[tuple[str, str]] = []
"""(node id, reason) of every skip this session, from collection and from test runs."""


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:  # (path, line, "Skipped: reason")
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr)


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.skipped:  # a module-level skip
        SKIPPED.append((report.nodeid, _skip_reason(report)))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        SKIPPED.append((report.nodeid, _skip_reason(report)))


def listed(nodeid: str, reason: str) -> bool:
    return any(fnmatchcase(nodeid, pattern) and reason == why for pattern, why in ALLOWED.items())


def unexpected_skips() -> list[tuple[str, str]]:
    return [(nodeid, reason) for nodeid, reason in SKIPPED if not listed(nodeid, reason)]


def pytest_sessionfinish(session: pytest.Session) -> None:
    if in_ci() and unexpected_skips() and session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not in_ci() or not (unexpected := unexpected_skips()):
        return
    terminalreporter.section("skipped in CI, not listed in tests/skips.py", sep="!", red=True)
    for nodeid, reason in unexpected:
        terminalreporter.line(f"{nodeid}: {reason}", red=True)
    terminalreporter.line(f"FAILED: {len(unexpected)} unexpected skip(s) in CI", red=True)


@pytest.fixture(scope="session", autouse=True)
def _fast_crypto() -> Iterator[None]:
    """RSA pairs from a pool and cheap Argon2 parameters in process (tests/rig/fast_crypto)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(accounts, "generate_rsa_keypair", fast_crypto.pooled_keypairs())
        patch.setattr(passwords, "_hasher", fast_crypto.TEST_HASHER)
        yield


@pytest.fixture(scope="session")
async def database_url() -> str:
    return await fresh_database_url("unit")


@pytest.fixture(scope="session")
async def _database(database_url: str) -> AsyncIterator[str]:
    await open_db(database_url, run_migrations=True)
    yield database_url
    await close_db()


@pytest.fixture(scope="session", autouse=True)
async def _drop_test_databases() -> AsyncIterator[None]:
    yield
    await drop_created()


@pytest.fixture
async def db(_database: str) -> AsyncIterator[None]:
    """An empty schema for each test (and no key owner held from the last one's rows)."""
    forget_key_owners()
    conn = connections.get("default")
    await conn.execute_script("DELETE FROM local_actor WHERE coop_id IS NOT NULL")  # RESTRICT
    for table in TABLES:
        await conn.execute_script(f"DELETE FROM {table}")
    yield


@pytest.fixture
def settings() -> FederationSettings:
    return FederationSettings(allow_private_addresses=True, worker_poll_seconds=0.05)


@pytest.fixture
async def fed(db: None, settings: FederationSettings) -> AsyncIterator[Federation]:
    federation = Federation.create(
        settings,
        f"https://{TEST_DOMAIN}",
        SiteInfo("Test coop", "For tests", ("fr", "en")),
        handlers=inbox_handlers(),
    )
    await ensure_instance_actor(TEST_DOMAIN, "Test coop")
    yield federation
    await federation.aclose()


@pytest.fixture
async def coop(fed: Federation) -> LocalActor:
    return await create_actor(ActorKind.COOP, "velos", name="Vélos")


@pytest.fixture
async def member(fed: Federation, coop: LocalActor) -> LocalActor:
    return await create_actor(ActorKind.MEMBER, "alice", name="Alice", coop=coop)


@pytest.fixture
async def client(fed: Federation, database_url: str) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client for single-route tests (federation tests use real servers)."""
    config = parse_config(
        {
            "instance": {"domain": TEST_DOMAIN, "secret_key": "test"},
            "database": {"url": database_url},
        }
    )
    app = create_app(config, run_worker=False, fed=fed)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=f"https://{TEST_DOMAIN}") as c:
        yield c


@pytest.fixture
async def remote() -> AsyncIterator[RemoteServer]:
    """A real HTTP server on loopback standing in for a remote instance (canned documents,
    scripted inbox answers, every request recorded)."""
    async with RemoteServer() as server:
        yield server
