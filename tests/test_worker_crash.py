"""kill -9 of a worker during a 2,000-delivery fan-out, on PostgreSQL with two worker processes.

The scenario (tests/rig/crash.py) catches worker A holding a batch with requests in flight, kills
it with SIGKILL and restarts it. Every inbox must then get the activity, at least once: only the
rows A held may arrive twice, and those A had already sent must (A could not record them). A's
lease must have been short (a renewed lease of ``lease_seconds``, not the five minutes of old),
read from ``locked_until`` just before the kill, never from a clock around the run: how long the
drain takes is measured by bench/worker_crash.py, not asserted here.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from federation.context import Federation
from models.actors import LocalActor
from models.delivery import DeliveryState
from tests.rig.crash import run_crash
from tests.rig.database import is_postgres
from tests.skips import NEEDS_POSTGRES

pytestmark = pytest.mark.skipif(not is_postgres(), reason=NEEDS_POSTGRES)  # see tests/skips.py

INBOXES = 2000
SETTINGS = {
    # Short, so that the killed worker's rows come back within seconds.
    "lease_seconds": 5.0,
    "lease_renew_seconds": 1.0,
    "worker_poll_seconds": 0.1,
    "worker_batch_size": 50,
    "per_host_concurrency": 16,
    # Requests held by the receiver while the worker is caught must not time out.
    "request_timeout_seconds": 120.0,
}


async def test_a_killed_worker_s_rows_are_delivered_by_the_others(
    fed: Federation, member: LocalActor, database_url: str, tmp_path: Path
) -> None:
    run = await run_crash(fed, member, database_url, tmp_path, inboxes=INBOXES, federation=SETTINGS)

    # Every inbox got the activity; the queue holds nothing else.
    assert set(run.received) == set(run.inboxes) and len(run.inboxes) == INBOXES
    assert len(run.rows) == INBOXES
    assert {r.state for r in run.rows} == {DeliveryState.DELIVERED}, [
        r.last_error for r in run.rows if r.state != DeliveryState.DELIVERED
    ][:5]

    # The killed worker was caught mid-batch, some of its requests already received.
    held = {path for path, _ in run.held_by_killed.values()}
    assert held and run.sent_before_kill, "the worker held nothing in flight when killed"
    assert run.sent_before_kill <= held
    # At least once: only what the killed worker held can arrive twice (what it had sent but
    # not recorded goes again; a row whose answer came back just before the kill may already be
    # recorded, so not every row sent before the kill is repeated), and never more than twice.
    duplicated = {path for path, count in run.received.items() if count > 1}
    assert duplicated <= held
    assert max(run.received.values()) <= 2

    # Its rows were taken again: by another claim (token), not waited out.
    # (A row it recorded just before the kill keeps its token and arrived once.)
    by_id = {r.id: r for r in run.rows}
    retaken = 0
    for row_id, (path, _) in run.held_by_killed.items():
        token = by_id[row_id].claim_token
        assert token is not None
        if token.startswith(f"{run.killed_pid}."):
            assert run.received[path] == 1, path
        else:
            retaken += 1
    assert retaken, "none of the killed worker's rows was taken again"

    # Its lease was the short, renewed one: at most lease_seconds past the moment it was read.
    assert run.read_at is not None
    lease = timedelta(seconds=SETTINGS["lease_seconds"])
    for _path, locked_until in run.held_by_killed.values():
        assert locked_until - run.read_at <= lease < timedelta(minutes=2)

    # The surviving and the restarted workers stopped cleanly; no worker logged an error.
    assert all('msg="worker stopped"' in log for log in run.logs[1:]), run.logs[1:]
    assert not any("level=error" in log for log in run.logs), [
        line for log in run.logs for line in log.splitlines() if "level=error" in line
    ][:5]
