"""The long fuzzing run: the inbox and the API fed COUNT hostile examples, and a table of what
was tried, how many times, and what happened.

    python bench/fuzz.py [--count 20000] [--seed 1] [--database-url URL]

The same strategies and checks as ``tests/test_fuzz_inbox.py`` and ``tests/test_fuzz_api.py``
(``tests/rig/fuzz.py``, ``tests/rig/fuzz_inputs.py``), without stopping at the first failure:
every example is counted, failures are listed at the end with what was sent. COUNT is split:
half to the inbox (signed for real, then processed by the worker), half to the API and the
pages' query strings. Without --database-url the database is a temporary SQLite file; with a
postgres:// URL, a fresh database is made on that server and dropped at the end.

A failure is a 5xx, an ERROR log line or a traceback, or an inbox item retried. The exit
status is 1 when there was any.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from federation.context import Federation, SiteInfo  # noqa: E402
from federation.services.accounts import ensure_instance_actor  # noqa: E402
from federation.services.handlers import inbox_handlers  # noqa: E402
from federation.settings import FederationSettings  # noqa: E402
from models.db import close_db, open_db  # noqa: E402
from tests.rig import database  # noqa: E402
from tests.rig.fuzz import (  # noqa: E402
    API_OFFERS,
    INBOX_FOCUS,
    INBOXES,
    Result,
    Tally,
    World,
    book,
    booking_seeds,
    build_world,
    call_api,
    send_activity,
)
from tests.rig.fuzz_inputs import (  # noqa: E402
    Sample,
    mutated,
    query_params,
    random_activities,
    random_json,
    spliced,
)

LISTS = ["/api/v1/offers", "/api/v1/dispatch", "/api/v1/bookings", "/search", "/dispatch"]


class Problems(logging.Handler):
    """ERROR lines and tracebacks logged during one example."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.found: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.exc_info:
            self.found.append(f"{record.levelname} {record.name}: {record.getMessage()}")


Send = Callable[[Any], Awaitable[Result]]


def campaigns(world: World) -> list[tuple[int, st.SearchStrategy[Any], Send]]:
    """(share of the count, what to draw, how to send it): the inbox half, the API half."""
    numbers = iter(range(10**9))

    def to_inbox(pair: tuple[Sample, str]) -> Awaitable[Result]:
        pair[0].label = f"inbox: {pair[0].label}"
        return send_activity(world, pair[0], next(numbers), pair[1])

    def offer(pair: tuple[Sample, bool]) -> Awaitable[Result]:
        sample, put = pair
        path = f"/api/v1/offers/{world.ride['id']}" if put else "/api/v1/offers"
        label = f"API offer: {sample.label}"
        body = sample.body()
        return call_api(
            world, label, "PUT" if put else "POST", path, headers=world.alice, body=body
        )

    def booking(pair: tuple[Sample, bool]) -> Awaitable[Result]:
        pair[0].label = f"API booking: {pair[0].label}"
        return book(world, pair[0], pair[1])

    def query(pair: tuple[str, dict[str, str]]) -> Awaitable[Result]:
        label = "API and pages: query string"
        return call_api(world, label, "GET", pair[0], headers=world.alice, params=pair[1])

    inboxes = st.sampled_from(INBOXES)
    mutated_inbox = mutated(world.seeds, protect=("actor",), focus=INBOX_FOCUS)
    return [
        (30, st.tuples(mutated_inbox, inboxes), to_inbox),
        (5, st.tuples(spliced(world.seeds), inboxes), to_inbox),
        (15, st.tuples(random_activities(world.zoe.ap_id) | random_json(), inboxes), to_inbox),
        (20, st.tuples(mutated(API_OFFERS), st.booleans()), offer),
        (15, st.tuples(mutated(booking_seeds(world)), st.booleans()), booking),
        (15, st.tuples(st.sampled_from(LISTS), query_params()), query),
    ]


def run(
    loop: asyncio.AbstractEventLoop,
    count: int,
    strategy: st.SearchStrategy[Any],
    send: Callable[[Any], Awaitable[Result]],
    tally: Tally,
    problems: Problems,
    number: int,
) -> None:
    @seed(number)
    @settings(
        max_examples=count,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def one(example: Any) -> None:
        problems.found.clear()
        result = loop.run_until_complete(send(example))
        tally.add(result, list(problems.found))

    one()


async def start(url: str) -> World:
    await open_db(url, run_migrations=True)
    fed = Federation.create(
        FederationSettings(allow_private_addresses=True),
        "https://coop.test",
        SiteInfo("Fuzz coop", "bench/fuzz.py", ("fr", "en")),
        handlers=inbox_handlers(),
    )
    await ensure_instance_actor("coop.test", "Fuzz coop")
    return await build_world(fed, url)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--database-url", default="sqlite")
    args = parser.parse_args()
    os.environ["COOPUB_TEST_DATABASE_URL"] = args.database_url
    problems = Problems()  # the only handler: the table is the output
    logging.getLogger().addHandler(problems)
    logging.getLogger().setLevel(logging.INFO)
    loop = asyncio.new_event_loop()
    url = loop.run_until_complete(database.fresh_database_url("fuzz"))
    world = loop.run_until_complete(start(url))
    tally = Tally()
    began = time.monotonic()
    for share, strategy, send in campaigns(world):
        run(loop, args.count * share // 100, strategy, send, tally, problems, args.seed)
    elapsed = time.monotonic() - began
    loop.run_until_complete(world.fed.aclose())
    loop.run_until_complete(close_db())
    loop.run_until_complete(database.drop_created())
    if url.startswith("sqlite://"):  # the temporary folder fresh_database_url made
        shutil.rmtree(Path(url.removeprefix("sqlite://")).parent, ignore_errors=True)
    print_table(tally, args, elapsed)
    return 1 if tally.failures else 0


def print_table(tally: Tally, args: argparse.Namespace, elapsed: float) -> None:
    total = sum(sum(v for k, v in c.items() if k.isdigit()) for c in tally.statuses.values())
    engine = "PostgreSQL" if args.database_url.startswith("postgres") else "SQLite"
    print(f"# bench/fuzz.py --count {args.count} --seed {args.seed} ({engine})")
    print(f"{total} examples in {elapsed:.0f} s, {len(tally.failures)} failure(s)\n")
    print("| what was tried | examples | HTTP answers | inbox items | failures |")
    print("|---|---|---|---|---|")
    for label, seen in sorted(tally.statuses.items()):
        answers = {k: v for k, v in seen.items() if k.isdigit()}
        items = {k.removeprefix("item "): v for k, v in seen.items() if k.startswith("item ")}
        print(
            f"| {label} | {sum(answers.values())} | {_counts(answers)} | "
            f"{_counts(items) or '—'} | {seen.get('FAILED', 0)} |"
        )
    for label, found in tally.failures[:20]:
        print(f"\nFAILED {label}:")
        for line in found[:5]:
            print(f"  {line}")


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counts.items()))


if __name__ == "__main__":
    sys.exit(main())
