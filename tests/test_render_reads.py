"""What the offer page and the search page read, made cheaper without changing what they show:
favourites and boosts counted in one grouped query, replies read without their ``document``,
the moderated accounts read in one query, the cached formatting of times and amounts equal to
Babel's own, and the search page's labels (looked up once per page) and links (quoted faster)
equal to what the helpers make."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from jinja2.runtime import Context

from activitypub.urls import path_for
from federation.context import Federation
from federation.services.accounts import create_actor
from federation.services.limited import Moderated, moderated
from federation.services.replies import reaction_counts, replies_of, shown_replies
from instance.forms.display import (
    kind_label,
    local_time,
    purpose_label,
    status_label,
    vehicle_label,
)
from instance.i18n import translations
from instance.interactions_view import interactions_of, reply_view
from instance.number_format import money
from instance.templating import _path_for, env, list_labels
from models.actors import ActorKind, LocalActor, RemoteActor
from models.offers import OfferKind, OfferStatus, Purpose
from models.posts import Post, PostKind, Reaction, ReactionKind, Visibility
from tests.conftest import TEST_DOMAIN
from tests.rig.canned import remote_actor

BASE = f"https://{TEST_DOMAIN}"
NOW = datetime.now(UTC)
OFFER = f"{BASE}/offers/one"
OTHER = f"{BASE}/offers/two"


async def _react(n: int, kind: ReactionKind, target: str) -> None:
    await Reaction.create(
        ap_id=f"https://peer.example/acts/{kind}/{target[-3:]}/{n}",
        kind=kind,
        actor_uri=f"https://peer.example/u/{n}",
        object_uri=target,
        created_at=NOW,
    )


async def _reply(n: int, target: str, visibility: Visibility = Visibility.PUBLIC) -> Post:
    return await Post.create(
        ap_id=f"https://peer.example/notes/{target[-3:]}/{n}",
        author_uri="https://peer.example/u/zoe",
        author_name="Zoé",
        author_handle="@zoe@peer.example",
        kind=PostKind.NOTE,
        visibility=visibility,
        summary="cw" if n == 2 else "",
        content=f"<p>réponse {n} <script>x()</script></p>",
        language="fr",
        in_reply_to=target,
        attachments=[{"url": "https://peer.example/a.png", "media_type": "image/png"}],
        document={"id": f"https://peer.example/notes/{n}", "type": "Note"},
        published_at=NOW + timedelta(minutes=n),
        updated_at=NOW,
    )


async def test_reactions_counted_by_kind_in_one_query(db: None) -> None:
    assert await reaction_counts(OFFER) == {ReactionKind.LIKE: 0, ReactionKind.BOOST: 0}
    for n in range(3):
        await _react(n, ReactionKind.LIKE, OFFER)
    await _react(9, ReactionKind.BOOST, OFFER)
    await _react(5, ReactionKind.BOOST, OTHER)
    assert await reaction_counts(OFFER) == {ReactionKind.LIKE: 3, ReactionKind.BOOST: 1}
    assert await reaction_counts(OTHER) == {ReactionKind.LIKE: 0, ReactionKind.BOOST: 1}
    shown = await interactions_of(OFFER)
    assert (shown["likes"], shown["boosts"]) == (3, 1)


async def test_replies_shown_without_document_as_before(db: None) -> None:
    for n in (3, 1, 2):
        await _reply(n, OFFER)
    await _reply(4, OFFER, Visibility.FOLLOWERS)
    await _reply(5, OTHER)
    whole = await replies_of(OFFER)
    partial = await shown_replies(OFFER)
    assert [p.id for p in partial] == [p.id for p in whole] and len(partial) == 3
    assert [reply_view(p) for p in partial] == [reply_view(p) for p in whole]
    assert (await interactions_of(OFFER))["replies"] == [reply_view(p) for p in whole]
    first = await shown_replies(OFFER, limit=2)
    assert [p.id for p in first] == [p.id for p in whole[:2]]


async def test_moderated_accounts_read_in_one_query(fed: Federation, coop: LocalActor) -> None:
    assert await moderated() == Moderated([], [], [])
    quiet = await create_actor(ActorKind.MEMBER, "quiet", coop=coop)
    gone = await create_actor(ActorKind.MEMBER, "gone", coop=coop)
    both = await create_actor(ActorKind.MEMBER, "both", coop=coop)
    await create_actor(ActorKind.MEMBER, "fine", coop=coop)
    await LocalActor.filter(id=quiet.id).update(silenced_at=NOW)
    await LocalActor.filter(id=gone.id).update(suspended_at=NOW)
    await LocalActor.filter(id=both.id).update(silenced_at=NOW, suspended_at=NOW)
    zoe, _ = await remote_actor("zoe", "social.example")
    await remote_actor("yann", "social.example")
    await RemoteActor.filter(id=zoe.id).update(silenced_at=NOW)

    found = await moderated()

    assert found.silenced_remote == [zoe.ap_id]
    assert sorted(found.silenced_local) == sorted([quiet.id, both.id])
    assert sorted(found.suspended_local) == sorted([gone.id, both.id])


def test_cached_times_are_babels() -> None:
    iso = "2026-12-01T08:00:00+00:00"
    for args in ((iso, "Europe/Paris", "fr"), (iso, "Europe/Paris", "en"), (iso, None, "en")):
        assert local_time(*args) == local_time.__wrapped__(*args) == local_time(*args)
    assert local_time(iso, "Europe/Paris", "fr") == "mar. 1 déc. 2026, 09:00"
    assert local_time(iso, "America/New_York", "en") == "Tue 1 Dec 2026, 03:00"
    assert local_time(None, "Europe/Paris", "fr") == "" == local_time("", None, "en")


def test_cached_amounts_are_babels() -> None:
    cases = [
        (Decimal(750) / 100, "EUR", "fr"),
        (7.5, "EUR", "fr"),
        (7, "EUR", "en"),
        (Decimal("7.50"), "EUR", "en"),
        (Decimal("1.005"), "JPY", "fr"),
        (12, "XYZ", "fr"),
    ]
    for args in cases:
        assert money(*args) == money.__wrapped__(*args) == money(*args)
    assert money(Decimal(750) / 100, "EUR", "fr") == "7,50\xa0€"
    assert money(7.5, "EUR", "en") == "€7.50" == money(Decimal("7.50"), "EUR", "en")


def test_the_templates_path_for_quotes_as_path_for() -> None:
    """The templates' ``path_for`` quotes a query's keys and values as ``query_string``."""
    rng = random.Random(14)
    values: list[object] = ["https://a.example/o/1?x=1&y=2#f", "é à/b c+d", "", "%41", 12, None]
    values += ["日本語", "!$&'()*+,;=:@\\^`[]{}|\n\x00\x7f~_.-/", b"https://x/\xc3\xa9", 2.5]
    for _ in range(2000):
        size = rng.randrange(12)
        values.append(
            "".join(chr(rng.choice((rng.randrange(128), 233, 0x65E5))) for _ in range(size))
        )
    for value in values:
        for query in ({"offer": value}, {"next": "/a b", "q": value}):
            assert _path_for("new_booking", query=query) == path_for("new_booking", query=query)
    assert _path_for("search", query={}) == path_for("search") == _path_for("search")
    assert _path_for("offer", uuid="x") == path_for("offer", uuid="x")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_list_labels_are_the_helpers(lang: str) -> None:
    """The labels a list looks up are what the label helpers return, unknown values too."""
    gettext = translations(lang).gettext
    ctx = Context(env, {"_": gettext, "lang": lang}, "test", {})
    labels = list_labels(lang)
    for kind in OfferKind:
        assert labels.kind[kind.value] == kind_label(ctx, kind.value)
        for purpose in Purpose:
            short = purpose_label(ctx, kind.value, purpose.value, True)
            assert labels.short_purpose[purpose.value] == short
    for status in OfferStatus:
        assert labels.status[status.value] == status_label(ctx, status.value)
    for vehicle in ("bike", "cargo_bike", "van", "hovercraft", "Search", ""):
        assert labels.vehicle[vehicle] == vehicle_label(ctx, vehicle)
    assert labels.vehicle["hovercraft"] == "hovercraft" and "hovercraft" not in labels.vehicle
    if lang == "fr":
        assert labels.kind["ride"] != "Ride" and labels.vehicle["Search"] == gettext("Search")
