"""Outgoing delivery against a real loopback server: signing, retries, give-up, host health.

Every test publishes through ``federation.delivery.publish`` and sends with ``deliver_due``: the
real HTTP client, signer and address policy talk to ``tests.rig.remote.RemoteServer``. Time is
never slept through; a row is made due by moving its ``next_attempt_at`` in the database.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from importlib.metadata import version
from typing import Any

import pytest

from federation.context import Federation
from federation.delivery import deliver_due, host_answered, publish
from models.activities import Activity
from models.actors import LocalActor
from models.delivery import Delivery, DeliveryState, Host
from models.errors import SignatureInvalid
from tests.conftest import TEST_DOMAIN
from tests.rig.federations import federation_with
from tests.rig.notes import create_note
from tests.rig.remote import RemoteServer, Reply, closed_port

AS2 = "application/activity+json"


def _now() -> datetime:
    return datetime.now(UTC)


async def _publish(
    fed: Federation, actor: LocalActor, inboxes: Iterable[str]
) -> tuple[Activity, dict[str, Any]]:
    payload = create_note(fed, actor)
    return await publish(fed, actor, payload, inboxes), payload


async def _row(activity: Activity, inbox: str) -> Delivery:
    return await Delivery.get(activity_id=activity.id, inbox=inbox)


async def _make_due(*rows: Delivery) -> None:
    await Delivery.filter(id__in=[r.id for r in rows]).update(
        next_attempt_at=_now() - timedelta(seconds=1)
    )


def _assert_retry_in(row: Delivery, before: datetime, after: datetime, low: float, high: float):
    """``next_attempt_at`` lies ``low``..``high`` seconds after the attempt (which took place
    between ``before`` and ``after``)."""
    assert before + timedelta(seconds=low) <= row.next_attempt_at, row.next_attempt_at - before
    assert row.next_attempt_at <= after + timedelta(seconds=high), row.next_attempt_at - after


# --- publish ------------------------------------------------------------------------------


async def test_publish_one_row_per_distinct_remote_inbox(
    fed: Federation, member: LocalActor, coop: LocalActor, remote: RemoteServer
) -> None:
    inboxes = [
        remote.url("/users/zoe/inbox"),
        remote.url("/inbox"),
        remote.url("/users/zoe/inbox"),  # duplicate
        remote.url("/inbox"),  # duplicate
        fed.urls.inbox(coop),  # ours: never delivered over HTTP
        fed.urls.shared_inbox,
        "",
    ]
    activity, payload = await _publish(fed, member, inboxes)
    rows = await Delivery.filter(activity_id=activity.id).order_by("inbox")
    assert [r.inbox for r in rows] == [remote.url("/inbox"), remote.url("/users/zoe/inbox")]
    assert {r.host for r in rows} == {remote.host}
    assert all(r.state == DeliveryState.PENDING and r.attempts == 0 for r in rows)
    assert all(r.next_attempt_at <= _now() for r in rows)
    recent = _now() - timedelta(minutes=1)
    assert all(recent < r.created_at == r.next_attempt_at for r in rows)  # written as one
    assert all(r.locked_until is None and r.claim_token is None for r in rows)
    stored = await Activity.get(id=activity.id)
    assert stored.payload == payload and stored.public and stored.type == "Create"
    assert remote.requests == []  # publishing never sends


async def test_publish_with_only_local_inboxes_queues_nothing(
    fed: Federation, member: LocalActor, coop: LocalActor
) -> None:
    activity, _ = await _publish(fed, member, [fed.urls.inbox(coop)])
    assert await Delivery.filter(activity_id=activity.id).count() == 0
    assert await deliver_due(fed) == 0


# --- a successful delivery -----------------------------------------------------------------


async def test_delivery_is_signed_and_verifiable(
    fed: Federation, member: LocalActor, coop: LocalActor, remote: RemoteServer
) -> None:
    inbox = remote.url("/users/zoe/inbox")
    activity, payload = await _publish(fed, member, [inbox])
    assert await deliver_due(fed) == 1
    assert await deliver_due(fed) == 0  # nothing left

    [post] = remote.posts
    assert post.path == "/users/zoe/inbox"
    assert post.json() == payload
    assert post.headers["content-type"] == AS2
    assert post.headers["host"] == remote.host
    assert post.headers["user-agent"] == f"coopub/{version('coopub')} (+https://{TEST_DOMAIN}/)"
    expected_digest = "SHA-256=" + base64.b64encode(hashlib.sha256(post.body).digest()).decode()
    assert post.headers["digest"] == expected_digest

    parsed = remote.verify_last_signature(member.public_key_pem, method="POST")
    assert parsed.scheme == "cavage"
    assert parsed.key_id == fed.urls.key_id(member) == f"https://{TEST_DOMAIN}/u/alice#main-key"
    assert parsed.algorithm == "rsa-sha256"
    assert parsed.covered == ("(request-target)", "host", "date", "digest")
    assert 'headers="(request-target) host date digest"' in post.headers["signature"]
    # The check is real: another key, or another body, does not verify.
    with pytest.raises(SignatureInvalid):
        remote.verify(post, coop.public_key_pem)
    with pytest.raises(SignatureInvalid, match="digest"):
        remote.verify(
            replace(post, body=post.body.replace(b"Note", b"Page")), member.public_key_pem
        )

    row = await _row(activity, inbox)
    assert row.state == DeliveryState.DELIVERED
    assert row.attempts == 1 and row.last_status == 202 and row.last_error is None
    assert row.delivered_at is not None and row.locked_until is None


async def test_each_actor_signs_its_own_deliveries(
    fed: Federation, member: LocalActor, coop: LocalActor, remote: RemoteServer
) -> None:
    await _publish(fed, member, [remote.url("/a")])
    await _publish(fed, coop, [remote.url("/b")])
    assert await deliver_due(fed) == 2
    remote.verify_last_signature(member.public_key_pem, path="/a")
    remote.verify_last_signature(coop.public_key_pem, path="/b")
    assert remote.verify_last_signature(coop.public_key_pem, path="/b").key_id == (
        f"https://{TEST_DOMAIN}/c/velos#main-key"
    )


# --- retries --------------------------------------------------------------------------------


async def test_5xx_is_retried_with_backoff_then_delivered(
    fed: Federation, member: LocalActor, remote: RemoteServer
) -> None:
    inbox = remote.script_inbox("/inbox", [(500, {}, "oops"), (503, {})])  # then 202
    activity, _ = await _publish(fed, member, [inbox])

    before = _now()
    await deliver_due(fed)
    row = await _row(activity, inbox)
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.PENDING, 1, 500)
    assert row.last_error == "oops" and row.locked_until is None
    _assert_retry_in(row, before, _now(), 30, 60)  # base 60 s, jitter [50 %, 100 %]
    host = await Host.get(domain=remote.host)
    assert host.failing_since is not None and not host.unreachable
    assert await deliver_due(fed) == 0  # not due yet: nothing sent
    assert len(remote.posts) == 1

    await _make_due(row)
    before = _now()
    await deliver_due(fed)
    row = await _row(activity, inbox)
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.PENDING, 2, 503)
    _assert_retry_in(row, before, _now(), 60, 120)  # doubled

    await _make_due(row)
    await deliver_due(fed)
    row = await _row(activity, inbox)
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.DELIVERED, 3, 202)
    assert len(remote.posts) == 3
    assert {p.json()["id"] for p in remote.posts} == {activity.ap_id}
    host = await Host.get(domain=remote.host)
    assert host.failing_since is None and host.last_success_at is not None


@pytest.mark.parametrize(
    ("status", "retry_after", "seconds"),
    [
        (429, "120", 120),
        (503, "3600", 3600),
        (429, "HTTP-DATE+900", 900),
    ],
)
async def test_retry_after_is_honoured(
    fed: Federation,
    member: LocalActor,
    remote: RemoteServer,
    status: int,
    retry_after: str,
    seconds: int,
) -> None:
    if retry_after.startswith("HTTP-DATE"):
        retry_after = format_datetime(_now() + timedelta(seconds=seconds), usegmt=True)
    inbox = remote.script_inbox("/inbox", [(status, {"Retry-After": retry_after})])
    activity, _ = await _publish(fed, member, [inbox])
    before = _now()
    await deliver_due(fed)
    row = await _row(activity, inbox)
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.PENDING, 1, status)
    # Retry-After beats the first backoff (30-60 s); an HTTP date loses its sub-second part.
    _assert_retry_in(row, before, _now(), seconds - 2, seconds + 1)


async def test_unparseable_retry_after_falls_back_to_backoff(
    fed: Federation, member: LocalActor, remote: RemoteServer
) -> None:
    # "²" passes str.isdigit() but not float(): it must not break the worker's pass.
    inbox = remote.script_inbox("/inbox", [(503, {"Retry-After": "²"})])
    activity, _ = await _publish(fed, member, [inbox])
    before = _now()
    assert await deliver_due(fed) == 1
    row = await _row(activity, inbox)
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.PENDING, 1, 503)
    assert row.locked_until is None
    _assert_retry_in(row, before, _now(), 30, 60)


@pytest.mark.parametrize("status", [400, 403, 404, 410, 422])
async def test_final_4xx_fails_at_once(
    fed: Federation, member: LocalActor, remote: RemoteServer, status: int
) -> None:
    inbox = remote.script_inbox("/inbox", [(status, {}, "no thanks")])
    activity, _ = await _publish(fed, member, [inbox])
    await deliver_due(fed)
    row = await _row(activity, inbox)
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.FAILED, 1, status)
    assert row.last_error == "no thanks" and row.delivered_at is None
    await _make_due(row)
    assert await deliver_due(fed) == 0  # final: never tried again
    assert len(remote.posts) == 1
    # It answered, so the host is not failing.
    host = await Host.get_or_none(domain=remote.host)
    assert host is None or host.failing_since is None


@pytest.mark.parametrize("status", [401, 408])
async def test_401_and_408_are_retried(
    fed: Federation, member: LocalActor, remote: RemoteServer, status: int
) -> None:
    inbox = remote.script_inbox("/inbox", [(status, {})])
    activity, _ = await _publish(fed, member, [inbox])
    before = _now()
    await deliver_due(fed)
    row = await _row(activity, inbox)
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.PENDING, 1, status)
    _assert_retry_in(row, before, _now(), 30, 60)
    await _make_due(row)
    await deliver_due(fed)
    assert (await _row(activity, inbox)).state == DeliveryState.DELIVERED


@pytest.mark.parametrize(("age_hours", "state"), [(71, DeliveryState.PENDING), (73, "failed")])
async def test_gives_up_after_72_hours(
    fed: Federation, member: LocalActor, remote: RemoteServer, age_hours: int, state: str
) -> None:
    assert fed.settings.give_up_after_hours == 72
    inbox = remote.script_inbox("/inbox", [(500, {})])
    activity, _ = await _publish(fed, member, [inbox])
    row = await _row(activity, inbox)
    await Delivery.filter(id=row.id).update(created_at=_now() - timedelta(hours=age_hours))
    await _make_due(row)
    await deliver_due(fed)
    row = await _row(activity, inbox)
    assert row.state == state
    assert row.attempts == 1 and row.last_status == 500
    assert len(remote.posts) == 1


async def test_retry_after_beyond_give_up_fails(
    fed: Federation, member: LocalActor, remote: RemoteServer
) -> None:
    inbox = remote.script_inbox("/inbox", [(429, {"Retry-After": str(2 * 3600)})])
    activity, _ = await _publish(fed, member, [inbox])
    row = await _row(activity, inbox)
    await Delivery.filter(id=row.id).update(created_at=_now() - timedelta(hours=71))
    await deliver_due(fed)
    row = await _row(activity, inbox)
    assert (row.state, row.last_status) == (DeliveryState.FAILED, 429)


# --- network failures -------------------------------------------------------------------------


async def test_connection_refused_is_retried(fed: Federation, member: LocalActor) -> None:
    with closed_port() as port:
        inbox = f"http://127.0.0.1:{port}/inbox"
        activity, _ = await _publish(fed, member, [inbox])
        before = _now()
        assert await deliver_due(fed) == 1
        row = await _row(activity, inbox)
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.PENDING, 1, None)
    assert row.last_error and "ConnectError" in row.last_error
    _assert_retry_in(row, before, _now(), 30, 60)
    host = await Host.get(domain=f"127.0.0.1:{port}")
    assert host.failing_since is not None and host.last_failure_at is not None


async def test_timeout_is_retried_and_counts_as_a_host_failure(
    fed: Federation, member: LocalActor, remote: RemoteServer
) -> None:
    inbox = remote.script_inbox("/inbox", [Reply(202, delay=0.6)])
    async with federation_with(request_timeout_seconds=0.2) as impatient:
        activity, _ = await _publish(impatient, member, [inbox])
        await deliver_due(impatient)
    row = await _row(activity, inbox)
    assert (row.state, row.attempts, row.last_status) == (DeliveryState.PENDING, 1, 408)
    assert row.last_error and "timeout" in row.last_error
    # A timeout is no answer: the host's failure streak starts (and is not reset).
    host = await Host.get(domain=remote.host)
    assert host.failing_since is not None and host.last_success_at is None


# --- host health ------------------------------------------------------------------------------


async def test_host_failing_for_a_week_is_marked_unreachable_then_skipped(
    fed: Federation, member: LocalActor, remote: RemoteServer
) -> None:
    await Host.create(domain=remote.host, failing_since=_now() - timedelta(days=8))
    inbox = remote.script_inbox("/inbox", [(500, {})])
    first, _ = await _publish(fed, member, [inbox])
    await deliver_due(fed)
    assert (await _row(first, inbox)).state == DeliveryState.PENDING
    host = await Host.get(domain=remote.host)
    assert host.unreachable
    assert len(remote.posts) == 1

    # Further deliveries to that host, new or retried, are skipped without a request.
    second, _ = await _publish(fed, member, [inbox, remote.url("/users/zoe/inbox")])
    await _make_due(await _row(first, inbox))
    assert await deliver_due(fed) == 3
    for activity, target, attempts in (
        (first, inbox, 1),  # the 500; skipping sends nothing, so is no attempt
        (second, inbox, 0),
        (second, remote.url("/users/zoe/inbox"), 0),
    ):
        row = await _row(activity, target)
        assert row.state == DeliveryState.SKIPPED
        assert row.last_error == "host marked unreachable"
        assert row.attempts == attempts
    assert len(remote.posts) == 1

    # The host speaks to us again (a verified incoming request): it is reachable again, and
    # what was skipped meanwhile is queued again, due at once.
    await host_answered(remote.host, fed)
    host = await Host.get(domain=remote.host)
    assert not host.unreachable and host.failing_since is None
    third, _ = await _publish(fed, member, [inbox])
    assert await deliver_due(fed) == 4
    assert (await _row(third, inbox)).state == DeliveryState.DELIVERED
    assert len(remote.posts) == 5
    assert await Delivery.filter(state=DeliveryState.DELIVERED).count() == 4
    assert {p.json()["id"] for p in remote.posts[1:]} == {first.ap_id, second.ap_id, third.ap_id}


async def test_a_host_failing_for_less_than_a_week_is_still_tried(
    fed: Federation, member: LocalActor, remote: RemoteServer
) -> None:
    await Host.create(domain=remote.host, failing_since=_now() - timedelta(days=6))
    inbox = remote.script_inbox("/inbox", [(502, {})])
    await _publish(fed, member, [inbox])
    await deliver_due(fed)
    host = await Host.get(domain=remote.host)
    assert not host.unreachable and host.failing_since < _now() - timedelta(days=5)
    second, _ = await _publish(fed, member, [remote.url("/other")])
    await deliver_due(fed)
    assert (await _row(second, remote.url("/other"))).state == DeliveryState.DELIVERED
    assert len(remote.posts) == 2


async def test_a_successful_answer_clears_the_failure_streak(
    fed: Federation, member: LocalActor, remote: RemoteServer
) -> None:
    await Host.create(
        domain=remote.host,
        failing_since=_now() - timedelta(days=3),
        last_failure_at=_now() - timedelta(hours=1),
    )
    activity, _ = await _publish(fed, member, [remote.url("/inbox")])
    await deliver_due(fed)
    assert (await _row(activity, remote.url("/inbox"))).state == DeliveryState.DELIVERED
    host = await Host.get(domain=remote.host)
    assert host.failing_since is None and not host.unreachable
    assert host.last_success_at is not None


# --- address policy and concurrency -------------------------------------------------------------


async def test_private_addresses_are_refused_without_a_request(
    fed: Federation, member: LocalActor, remote: RemoteServer
) -> None:
    inboxes = [remote.url("/inbox"), f"http://localhost:{remote.port}/inbox"]
    async with federation_with(allow_private_addresses=False) as strict:
        activity, _ = await _publish(strict, member, inboxes)
        assert await deliver_due(strict) == 2
    for inbox in inboxes:
        row = await _row(activity, inbox)
        assert (row.state, row.attempts, row.last_status) == (DeliveryState.FAILED, 1, None)
        assert row.last_error and "non-public address" in row.last_error
    assert remote.requests == []


async def test_per_host_concurrency_is_limited(
    fed: Federation, member: LocalActor, remote: RemoteServer
) -> None:
    remote.delay = 0.15
    inboxes = [remote.url(f"/users/u{i}/inbox") for i in range(6)]
    async with federation_with(per_host_concurrency=2) as limited:
        activity, _ = await _publish(limited, member, inboxes)
        assert await deliver_due(limited) == 6
    assert remote.max_in_flight == 2  # overlapping, but never more than two at once
    states = await Delivery.filter(activity_id=activity.id).values_list("state", flat=True)
    assert set(states) == {DeliveryState.DELIVERED}


async def test_an_unreachable_host_is_probed_once_a_day(
    fed: Federation, member: LocalActor, remote: RemoteServer
) -> None:
    """Skipping forever would lose a host that only receives from us: one delivery a day is
    still tried, and an answer brings the host back."""
    two_days_ago = _now() - timedelta(days=2)
    await Host.create(
        domain=remote.host,
        failing_since=_now() - timedelta(days=9),
        last_failure_at=two_days_ago,
        unreachable=True,
    )
    inbox = remote.script_inbox("/inbox", [(202, {})])
    targets = (inbox, remote.url("/users/zoe/inbox"))
    activity, _ = await _publish(fed, member, targets)
    assert await deliver_due(fed) == 2
    assert len(remote.posts) == 1  # one probe only
    probe = await _row(activity, remote.url(remote.posts[0].path))
    assert (probe.state, probe.attempts) == (DeliveryState.DELIVERED, 1)
    host = await Host.get(domain=remote.host)
    assert not host.unreachable and host.failing_since is None
    # The probe brought the host back: the row skipped beside it is due again, and sent.
    other = await _row(activity, next(i for i in targets if i != probe.inbox))
    assert other.state == DeliveryState.PENDING and other.next_attempt_at <= _now()
    assert other.attempts == 0  # skipping sent nothing: not an attempt
    assert await deliver_due(fed) == 1
    assert (await _row(activity, other.inbox)).state == DeliveryState.DELIVERED
    assert len(remote.posts) == 2

    # a probe that fails waits another day
    await Host.filter(domain=remote.host).update(
        unreachable=True, failing_since=_now() - timedelta(days=9), last_failure_at=two_days_ago
    )
    remote.script_inbox("/inbox", [(503, {})])
    await _publish(fed, member, [inbox])
    await deliver_due(fed)
    later, _ = await _publish(fed, member, [inbox])
    await deliver_due(fed)
    assert len(remote.posts) == 3
    assert (await _row(later, inbox)).state == DeliveryState.SKIPPED
    assert (await Host.get(domain=remote.host)).unreachable


# --- resend after recovery ----------------------------------------------------------------------


async def test_skipped_deliveries_are_sent_once_the_host_is_back(
    fed: Federation, member: LocalActor, remote: RemoteServer
) -> None:
    """Skipping is not dropping: what was skipped while the host was unreachable is sent when a
    probe gets through, unless it is older than ``give_up_after_hours`` (then it fails)."""
    await Host.create(
        domain=remote.host,
        failing_since=_now() - timedelta(days=9),
        last_failure_at=_now() - timedelta(hours=1),  # probed an hour ago: no probe now
        unreachable=True,
    )
    await Host.create(
        domain="gone.example",
        failing_since=_now() - timedelta(days=30),
        last_failure_at=_now(),
        unreachable=True,
    )
    inbox, other = remote.url("/inbox"), remote.url("/users/zoe/inbox")
    recent, _ = await _publish(fed, member, [inbox, other, "https://gone.example/inbox"])
    old, _ = await _publish(fed, member, [inbox])
    await Delivery.filter(activity_id=old.id).update(created_at=_now() - timedelta(hours=73))
    assert await deliver_due(fed) == 4
    assert set(await Delivery.all().values_list("state", flat=True)) == {DeliveryState.SKIPPED}
    assert remote.posts == []

    # A day later the host is probed with the next delivery, and answers.
    await Host.filter(domain=remote.host).update(last_failure_at=_now() - timedelta(days=2))
    probe, _ = await _publish(fed, member, [inbox])
    assert await deliver_due(fed) == 1
    assert [p.json()["id"] for p in remote.posts] == [probe.ap_id]
    assert not (await Host.get(domain=remote.host)).unreachable
    for target in (inbox, other):
        row = await _row(recent, target)
        assert row.state == DeliveryState.PENDING and row.next_attempt_at <= _now()
    assert (await _row(old, inbox)).state == DeliveryState.FAILED  # too old to be worth sending
    gone = await _row(recent, "https://gone.example/inbox")
    assert gone.state == DeliveryState.SKIPPED  # another host: still skipped

    assert await deliver_due(fed) == 2
    assert sorted(p.path for p in remote.posts[1:]) == ["/inbox", "/users/zoe/inbox"]
    assert {p.json()["id"] for p in remote.posts[1:]} == {recent.ap_id}
    assert (await _row(recent, inbox)).state == DeliveryState.DELIVERED
    assert (await _row(recent, other)).state == DeliveryState.DELIVERED
    assert await deliver_due(fed) == 0
    assert old.ap_id not in {p.json()["id"] for p in remote.posts}


async def test_an_incoming_request_brings_skipped_deliveries_back(
    fed: Federation, member: LocalActor, remote: RemoteServer
) -> None:
    await Host.create(
        domain=remote.host,
        failing_since=_now() - timedelta(days=9),
        last_failure_at=_now(),
        unreachable=True,
    )
    activity, payload = await _publish(fed, member, [remote.url("/inbox")])
    await deliver_due(fed)
    assert (await _row(activity, remote.url("/inbox"))).state == DeliveryState.SKIPPED
    fed.wake.clear()
    await host_answered(remote.host, fed)
    assert fed.wake.is_set()  # the in-process worker starts at once
    await host_answered(remote.host, fed)  # said twice: requeued once
    assert await deliver_due(fed) == 1
    assert [p.json() for p in remote.posts] == [payload]
    assert (await _row(activity, remote.url("/inbox"))).state == DeliveryState.DELIVERED
