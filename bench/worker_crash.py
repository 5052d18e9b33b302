"""Worker crash benchmark: kill -9 one of two workers during a fan-out, time the recovery.

    python bench/worker_crash.py [--database-url postgres://…] [--inboxes 2000]
                                 [--lease 60] [--renew 20] [--no-restart] [--keep]

Runs the scenario of tests/test_worker_crash.py (tests/rig/crash.py) on a fresh PostgreSQL
database with the production settings (a 60 s lease renewed every 20 s unless told otherwise),
then prints how long the queue took to drain after the kill and how many deliveries arrived
twice. A measurement tool, never a test: nothing here asserts a duration.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
import tempfile
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from federation.context import Federation, SiteInfo  # noqa: E402
from federation.services.accounts import create_actor, ensure_instance_actor  # noqa: E402
from federation.settings import FederationSettings  # noqa: E402
from models.actors import ActorKind  # noqa: E402
from models.db import close_db, open_db  # noqa: E402
from tests.rig.crash import CrashRun, run_crash  # noqa: E402

DOMAIN = "coop.bench"


def _admin_dsn(url: str) -> str:
    return urlunsplit(urlsplit(url)._replace(scheme="postgresql", path="/postgres"))


async def _sql(url: str, statement: str) -> None:
    conn = await asyncpg.connect(_admin_dsn(url))
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


def report(run: CrashRun, args: argparse.Namespace) -> None:
    receipts = sum(run.received.values())
    duplicated = sum(1 for count in run.received.values() if count > 1)
    lease_left = (
        max((until - run.read_at).total_seconds() for _, until in run.held_by_killed.values())
        if run.read_at
        else 0.0
    )
    print(
        f"inboxes: {len(run.inboxes)}   lease: {args.lease:g} s, renewed every {args.renew:g} s"
        f"   restart: {'yes' if not args.no_restart else 'no'}"
    )
    print(
        f"killed worker held {len(run.held_by_killed)} rows,"
        f" {len(run.sent_before_kill)} of them already received;"
        f" its lease had {lease_left:.1f} s left"
    )
    print(
        f"receipts: {receipts} for {len(run.received)} inboxes:"
        f" {duplicated} delivered twice (duplicates per crash), none lost"
        if set(run.received) == set(run.inboxes)
        else f"LOST: {len(set(run.inboxes) - set(run.received))} inboxes never received it"
    )
    before, after = run.killed - run.started, run.drained - run.killed
    print(
        f"queued to kill: {before:.1f} s   kill to full drain: {after:.1f} s"
        f"   total: {run.drained - run.started:.1f} s"
    )
    print(f"\ncrash drain={after:.1f} s duplicates={duplicated} ({len(run.inboxes)} inboxes)")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--database-url",
        default="postgres://postgres@127.0.0.1:5432/postgres",
        help="postgres://… (a fresh database is created on that server and dropped at the end)",
    )
    parser.add_argument("--inboxes", type=int, default=2000)
    parser.add_argument("--lease", type=float, default=FederationSettings().lease_seconds)
    parser.add_argument("--renew", type=float, default=FederationSettings().lease_renew_seconds)
    parser.add_argument("--no-restart", action="store_true", help="leave the killed worker dead")
    parser.add_argument("--keep", action="store_true", help="do not drop the database")
    args = parser.parse_args()
    if not args.database_url.startswith(("postgres://", "postgresql://")):
        parser.error("two worker processes need PostgreSQL: --database-url postgres://…")

    name = f"coopub_bench_{uuid.uuid4().hex[:8]}"
    url = urlunsplit(urlsplit(args.database_url)._replace(scheme="postgres", path=f"/{name}"))
    await _sql(args.database_url, f'CREATE DATABASE "{name}"')
    directory = Path(tempfile.mkdtemp(prefix="coopub-crash-"))
    print(f"database: {url}   logs: {directory}")
    settings = FederationSettings(allow_private_addresses=True)
    fed = Federation.create(settings, f"https://{DOMAIN}", SiteInfo("Bench", "", ("en",)))
    try:
        await open_db(url, run_migrations=True)
        await ensure_instance_actor(DOMAIN, "Bench")
        coop = await create_actor(ActorKind.COOP, "velos", name="Vélos")
        member = await create_actor(ActorKind.MEMBER, "alice", name="Alice", coop=coop)
        workers = {"lease_seconds": args.lease, "lease_renew_seconds": args.renew}
        run = await run_crash(
            fed,
            member,
            url,
            directory,
            inboxes=args.inboxes,
            federation=workers,
            restart=not args.no_restart,
        )
        report(run, args)
    finally:
        await fed.aclose()
        await close_db()
        if args.keep:
            print(f"kept: {url} and {directory}")
        else:
            await _sql(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            shutil.rmtree(directory, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
