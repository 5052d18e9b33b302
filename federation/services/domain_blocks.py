"""Domain blocks as the admins make them (``/admin/blocks``, ``coopub domain``): add, change,
remove, list; and, on suspension, everything of the domain purged.

Suspending a domain removes what this instance keeps of it: its cached actors, their offers,
notes, replies, favourites and boosts, the notifications they caused, every follow with them in
either direction (no ``Undo`` or ``Reject`` is sent: nothing is sent to a suspended domain),
and the bookings with them are cancelled here (seats of our offers given back). What was queued
for it is marked failed. The protocol layer (``federation/blocks.py``) then refuses whatever
comes from it and sends nothing to it. Unblocking restores federation, not what was purged.

The same purge serves the suspension of one remote account (``account_moderation``), with the
account's ``Scope`` instead of the domain's: its row is kept, flagged.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from tortoise.expressions import Q

from activitypub.urls import host_of
from federation import blocks
from federation.actors import forget_key_owners
from federation.context import Federation
from federation.delivery import SUSPENDED_ERROR
from federation.services.bookings_capacity import give_back
from federation.services.offers import publish_offer_change
from models.activities import InboxItem, InboxState
from models.actors import RemoteActor
from models.bookings import Booking, BookingState
from models.delivery import Delivery, DeliveryState
from models.errors import Conflict, Malformed, NotFound
from models.follows import Follow
from models.moderation import BlockSeverity, DomainBlock
from models.notifications import Notification
from models.offers import Offer
from models.posts import Post, Reaction

log = logging.getLogger(__name__)

MAX_COMMENT = 1000
LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
CHUNK = 500
"""Ids per ``IN (…)``: well under every driver's limit on parameters."""
SUSPENDED_REASON = "The other party's server is suspended here"


class InvalidDomain(Malformed):
    public_message = "That is not a domain name"


class OwnDomain(Conflict):
    public_message = "This instance's own domain cannot be blocked"


@dataclass(frozen=True)
class Purged:
    actors: int = 0
    offers: int = 0
    posts: int = 0
    reactions: int = 0
    notifications: int = 0
    follows: int = 0
    bookings: int = 0
    deliveries: int = 0


def normalize_domain(text: str) -> str:
    """``https://Bad.Example/@x`` or ``*.bad.example.`` → ``bad.example``; a port is kept, an
    internationalised name IDNA-encoded; ``InvalidDomain`` for anything else."""
    value = text.strip().lower()
    if "://" in value:
        try:
            value = urlsplit(value).netloc
        except ValueError as exc:
            raise InvalidDomain(f"unparseable {text[:100]!r}") from exc
    value = value.split("/", 1)[0].rpartition("@")[2].removeprefix("*.")
    host, port = blocks.split_authority(value)
    host = host.rstrip(".")
    if port is not None and not (port.isascii() and 0 < int(port) <= 65535):
        raise InvalidDomain(f"bad port in {text[:100]!r}")
    suffix = f":{port}" if port else ""
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return host + suffix
    try:
        ascii_host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise InvalidDomain(f"not a host name: {text[:100]!r}") from exc
    labels = ascii_host.split(".")
    if not ascii_host or len(ascii_host) > 253 or not all(LABEL.match(x) for x in labels):
        raise InvalidDomain(f"not a host name: {text[:100]!r}")
    return ascii_host + suffix


def obfuscated(domain: str) -> str:
    """The domain partly starred for the public list, as Mastodon does: its first and last
    quarter and its dots shown (``bad.example.org`` → ``bad.*******.org``)."""
    length = len(domain)
    visible = length // 4
    return "".join(
        c if i <= visible or i >= length - visible or c == "." else "*"
        for i, c in enumerate(domain)
    )


def _clip(text: str | None) -> str:
    return (text or "").strip()[:MAX_COMMENT]


async def block_domain(
    fed: Federation,
    domain: str,
    severity: BlockSeverity,
    *,
    public_comment: str = "",
    private_comment: str = "",
    reject_media: bool = False,
    reject_reports: bool = False,
    obfuscate: bool = False,
) -> tuple[DomainBlock, Purged | None]:
    """Block ``domain`` (or change its block); a suspension purges it at once."""
    name = normalize_domain(domain)
    if blocks.covers(name, fed.urls.domain.lower()):
        raise OwnDomain(f"{name} covers {fed.urls.domain}")
    fields = {
        "severity": severity,
        "public_comment": _clip(public_comment),
        "private_comment": _clip(private_comment),
        "reject_media": reject_media,
        "reject_reports": reject_reports,
        "obfuscate": obfuscate,
    }
    block, created = await DomainBlock.get_or_create(domain=name, defaults=fields)
    if not created:
        await block.update_from_dict(fields).save()
    blocks.invalidate()
    purged = await purge_domain(fed, name) if severity == BlockSeverity.SUSPEND else None
    log.info(
        "domain blocked",
        extra={"domain": name, "severity": severity.value, "purged": purged and vars(purged)},
    )
    return block, purged


async def unblock_domain(domain: str) -> None:
    """Remove the block: federation resumes (what was purged does not come back)."""
    name = normalize_domain(domain)
    if not await DomainBlock.filter(domain=name).delete():
        raise NotFound(f"no block of {name}", "This domain is not blocked")
    blocks.invalidate()
    log.info("domain unblocked", extra={"domain": name})


async def list_blocks() -> list[DomainBlock]:
    return await DomainBlock.all().order_by("domain")


def _on(column: str, domain: str) -> Q:
    """Rows whose authority column is ``domain`` or one of its subdomains."""
    found = blocks.authority_q(column, [domain])
    assert found is not None  # one domain: never an empty filter
    return found


def _chunks(values: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


@dataclass(frozen=True)
class Scope:
    """Whose content a purge removes: a suspended domain's (its actors go too) or one
    suspended account's (its row is kept, so that a refetch does not forget the suspension)."""

    actors: Q
    """On ``RemoteActor``."""
    offers: Q
    """On ``Offer`` (remote copies only are ever removed)."""
    deliveries: Q
    """On ``Delivery``: what was queued for them is marked failed."""
    covers: Callable[[str], bool]
    """Whether an actor id (a booking's other party) is in scope."""
    keep_actors: bool = False


def _covers_domain(domain: str) -> Callable[[str], bool]:
    def covers(uri: str) -> bool:
        try:
            return blocks.covers(domain, host_of(uri))
        except Malformed:
            return False

    return covers


def domain_scope(domain: str) -> Scope:
    return Scope(
        actors=_on("domain", domain),
        offers=_on("instance_domain", domain),
        deliveries=_on("host", domain),
        covers=_covers_domain(domain),
    )


def actor_scope(actor: RemoteActor) -> Scope:
    """One remote account: its copies, follows and reactions; deliveries to its own inbox
    (a shared inbox serves others too)."""
    return Scope(
        actors=Q(id=actor.id),
        offers=Q(author_uri=actor.ap_id),
        deliveries=Q(inbox=actor.inbox),
        covers=lambda uri: uri == actor.ap_id,
        keep_actors=True,
    )


async def _cancel_bookings(fed: Federation, covers: Callable[[str], bool]) -> int:
    """Open bookings whose other party is in scope: cancelled here, nothing sent; seats of our
    offers given back (and their followers told)."""
    open_ = await Booking.filter(
        Q(booker_id__isnull=True) | Q(author_id__isnull=True),
        state__in=(BookingState.REQUESTED, BookingState.ACCEPTED),
    )
    count = 0
    for booking in open_:
        remote = booking.booker_uri if booking.booker_id is None else booking.author_uri
        if not covers(remote):
            continue
        changed = await Booking.filter(id=booking.id, state=booking.state).update(
            state=BookingState.CANCELLED,
            reason=SUSPENDED_REASON,
            private={},
            updated_at=datetime.now(UTC),
        )
        if not changed:
            continue
        count += 1
        ours = booking.author_id is not None and booking.offer_id is not None
        if booking.state == BookingState.ACCEPTED and ours and booking.offer_id is not None:
            given = await give_back(booking.offer_id, booking)
            if given:
                await publish_offer_change(fed, booking.offer_id)
    return count


async def purge_domain(fed: Federation, domain: str) -> Purged:
    """Remove what this instance keeps of ``domain`` and its subdomains (see the module)."""
    return await purge(fed, domain_scope(domain))


async def purge(fed: Federation, scope: Scope) -> Purged:
    """Remove what this instance keeps of the actors in ``scope`` (see the module)."""
    bookings = await _cancel_bookings(fed, scope.covers)
    actors = await RemoteActor.filter(scope.actors)
    uris = [a.ap_id for a in actors]
    ids = [a.id for a in actors]
    posts = reactions = notifications = follows = 0
    for part in _chunks(uris):
        posts += await Post.filter(author_uri__in=part, local_uuid__isnull=True).delete()
        reactions += await Reaction.filter(actor_uri__in=part).delete()
        notifications += await Notification.filter(actor_uri__in=part).delete()
        follows += await Follow.filter(Q(follower_uri__in=part) | Q(target_uri__in=part)).delete()
        await InboxItem.filter(actor_uri__in=part, state=InboxState.PENDING).update(
            state=InboxState.IGNORED, locked_until=None
        )
    copies = Offer.filter(scope.offers, local_uuid__isnull=True)
    offers = await copies.count()  # counted first: SQLite counts the bookings set null too
    await copies.delete()
    if not scope.keep_actors:
        for id_part in range(0, len(ids), CHUNK):
            await RemoteActor.filter(id__in=ids[id_part : id_part + CHUNK]).delete()
        forget_key_owners()
    deliveries = await Delivery.filter(
        scope.deliveries,
        state__in=(DeliveryState.PENDING, DeliveryState.SKIPPED),
    ).update(state=DeliveryState.FAILED, last_error=SUSPENDED_ERROR, locked_until=None)
    removed = 0 if scope.keep_actors else len(ids)
    return Purged(removed, offers, posts, reactions, notifications, follows, bookings, deliveries)
