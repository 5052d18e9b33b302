"""Property-based fuzzing of the inbox (issue 10): captured real payloads, mutated, and random
JSON, signed for real by a known remote actor, POSTed to the inboxes, then processed by the
worker. Whatever arrives: no 5xx, no ERROR log line, no traceback, and no stored item retried
(offline, nothing is transient: an item pending again is hostile input retried).

Bounded for CI (about 1,000 examples here, as many in ``test_fuzz_api.py``) and reproducible
(``derandomize``: the same examples on every run). The longer run is ``bench/fuzz.py``.
"""

from __future__ import annotations

import itertools
import logging

import pytest
from hypothesis import given
from hypothesis import strategies as st

from federation.context import Federation
from tests.rig.fuzz import (
    INBOX_FOCUS,
    INBOXES,
    Result,
    World,
    build_world,
    fuzz,
    log_problems,
    send_activity,
)
from tests.rig.fuzz_inputs import Sample, mutated, random_activities, random_json, spliced

NUMBERS = itertools.count()


@pytest.fixture
async def world(fed: Federation, database_url: str) -> World:
    return await build_world(fed, database_url)


async def check(
    world: World, sample: Sample, inbox: str, caplog: pytest.LogCaptureFixture
) -> Result:
    caplog.clear()
    result = await send_activity(world, sample, next(NUMBERS), inbox)
    problems = result.problems + log_problems(caplog.records)
    assert not problems, (sample.label, sample.ops, sample.body()[:300], problems)
    return result


@fuzz(600)
@given(data=st.data(), inbox=st.sampled_from(INBOXES))
async def test_captured_payloads_mutated(
    world: World, caplog: pytest.LogCaptureFixture, data: st.DataObject, inbox: str
) -> None:
    caplog.set_level(logging.INFO)
    sample = data.draw(mutated(world.seeds, protect=("actor",), focus=INBOX_FOCUS))
    result = await check(world, sample, inbox, caplog)
    assert result.status in (202, 400, 401, 413), result


@fuzz(150)
@given(data=st.data())
async def test_damaged_bytes(
    world: World, caplog: pytest.LogCaptureFixture, data: st.DataObject
) -> None:
    caplog.set_level(logging.INFO)
    result = await check(world, data.draw(spliced(world.seeds)), "/inbox", caplog)
    assert result.status in (202, 400, 401, 413), result


@fuzz(250)
@given(data=st.data(), inbox=st.sampled_from(INBOXES))
async def test_random_json(
    world: World, caplog: pytest.LogCaptureFixture, data: st.DataObject, inbox: str
) -> None:
    caplog.set_level(logging.INFO)
    sample = data.draw(random_activities(world.zoe.ap_id) | random_json())
    result = await check(world, sample, inbox, caplog)
    assert result.status in (202, 400, 401, 413), result


async def test_the_seeds_themselves_are_taken(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The fuzzing starts from activities that work: each one unmutated is accepted (202) and
    processed without a problem, so mutations explore from real paths."""
    caplog.set_level(logging.INFO)
    for name, doc in world.seeds.items():
        result = await check(world, Sample(name, dict(doc), seed=name), "/inbox", caplog)
        assert result.status == 202, (name, result)
