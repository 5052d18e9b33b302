"""The instance directory: joining one (instance side) and running one (directory side).

A host joins by having its instance actor follow the directory actor. The directory checks the
candidate (NodeInfo 2.1 speaks ActivityPub, the instance actor's key verified the Follow, the
domains match, ChatonsInfos when published), admits it (open mode) or waits for an operator
(manual mode), and then relays the public offers of every admitted instance to all the others
with ``Announce``, so a new instance sees the network's offers without following anyone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from activitypub.apobject import APObject
from activitypub.chatonsinfos import ChatonsInfo, chatons_info, decode_properties, parse_properties
from activitypub.convert import iso
from activitypub.urls import DIRECTORY_USERNAME, PUBLIC, host_of
from federation.context import Federation
from federation.delivery import publish
from federation.services.accounts import create_actor
from federation.services.follows import decide, follow, unfollow
from models.actors import ActorKind, LocalActor, RemoteActor
from models.directory import DirectoryEntry, EntryState
from models.errors import CoopubError, Malformed, NotFound
from models.follows import Follow, FollowState
from models.offers import Offer, OfferStatus

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]
NODEINFO_21 = "http://nodeinfo.diaspora.software/ns/schema/2.1"
APPLICATION_REL = "https://www.w3.org/ns/activitystreams#Application"
INSTANCE_TYPES = frozenset({"Application", "Service"})


# --- instance side -------------------------------------------------------------------------


def directory_actor_url(url: str) -> str:
    """``https://directory.example`` → its directory actor, ``…/directory``."""
    parts = urlsplit(url.strip().rstrip("/"))
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise Malformed(f"not a URL: {url!r}", "Give the directory's address, https://…")
    path = parts.path or ""
    return f"{parts.scheme}://{parts.netloc}{path if path else '/directory'}"


async def join(fed: Federation, url: str) -> Follow:
    return await follow(fed, await fed.instance_actor(), directory_actor_url(url))


async def leave(fed: Federation, url: str) -> None:
    await unfollow(fed, await fed.instance_actor(), directory_actor_url(url))


async def memberships(fed: Federation) -> list[Follow]:
    """The directories this instance asked to join, with their answer."""
    return await Follow.filter(local_follower=await fed.instance_actor()).order_by("id")


async def joined_inboxes(fed: Federation) -> list[str]:
    """Where this instance sends its public offers for the directories to relay."""
    rows = await Follow.filter(
        local_follower__kind=ActorKind.INSTANCE, state=FollowState.ACCEPTED
    ).prefetch_related("remote_target")
    return sorted({r.remote_target.delivery_inbox for r in rows if r.remote_target})


# --- directory side: the actor and admission --------------------------------------------


async def ensure_directory_actor(name: str, description: str) -> LocalActor:
    existing = await LocalActor.get_or_none(kind=ActorKind.DIRECTORY)
    if existing:
        return existing
    return await create_actor(
        ActorKind.DIRECTORY,
        DIRECTORY_USERNAME,
        name=name or "Directory",
        summary=description,
        locked=True,
    )


async def directory_actor() -> LocalActor:
    actor = await LocalActor.get_or_none(kind=ActorKind.DIRECTORY)
    if actor is None:
        raise NotFound("directory mode is off", "This instance runs no directory")
    return actor


async def _nodeinfo(fed: Federation, domain: str, scheme: str) -> tuple[dict[str, Any], str | None]:
    signer = await fed.instance_signer()
    _, links = await fed.http.get_json(
        f"{scheme}://{domain}/.well-known/nodeinfo", signer=signer, accept="application/json"
    )
    hrefs = {
        link.get("rel"): link.get("href")
        for link in (links.get("links") or [] if isinstance(links, dict) else [])
        if isinstance(link, dict)
    }
    href = hrefs.get(NODEINFO_21)
    if not isinstance(href, str) or host_of(href) != domain:
        raise Malformed(f"{domain}: no NodeInfo 2.1 on its own host")
    _, document = await fed.http.get_json(href, signer=signer, accept="application/json")
    if not isinstance(document, dict):
        raise Malformed(f"{domain}: NodeInfo is not an object")
    app = hrefs.get(APPLICATION_REL)
    return document, app if isinstance(app, str) else None


async def _chatonsinfos(fed: Federation, domain: str, scheme: str) -> ChatonsInfo | None:
    files: dict[str, dict[str, str] | None] = {}
    for name in ("organization", "service"):
        url = f"{scheme}://{domain}/.well-known/chatonsinfos/{name}.properties"
        try:
            files[name] = parse_properties(
                decode_properties(await fed.http.get_text(url, signer=None))
            )
        except CoopubError:
            files[name] = None
    if not any(files.values()):
        return None
    return chatons_info(files["organization"], files["service"])


async def check_candidate(
    fed: Federation, actor: RemoteActor
) -> tuple[dict[str, Any], dict[str, Any]]:
    """What the directory checked, and the listing fields it learned."""
    scheme = urlsplit(actor.ap_id).scheme
    checks: dict[str, Any] = {"key_verified": True, "instance_actor": actor.type in INSTANCE_TYPES}
    fields: dict[str, Any] = {
        "url": f"{scheme}://{actor.domain}",
        "name": actor.name or actor.domain,
    }
    try:
        info, app = await _nodeinfo(fed, actor.domain, scheme)
        protocols = info.get("protocols") or []
        checks["nodeinfo"] = True
        checks["activitypub"] = "activitypub" in protocols
        checks["domain_match"] = app in (None, actor.ap_id) and host_of(actor.ap_id) == actor.domain
        software = info.get("software") or {}
        meta = info.get("metadata") or {}
        fields.update(
            software_name=str(software.get("name") or "")[:100],
            software_version=str(software.get("version") or "")[:100],
            open_registrations=bool(info.get("openRegistrations")),
            name=str(meta.get("nodeName") or fields["name"])[:200],
            description=str(meta.get("nodeDescription") or "")[:2000],
            kinds=[k for k in meta.get("offerKinds") or [] if isinstance(k, str)][:10],
        )
    except CoopubError as exc:
        checks.update(nodeinfo=False, activitypub=False, domain_match=False, error=str(exc))
    chatons = await _chatonsinfos(fed, actor.domain, scheme)
    checks["chatonsinfos"] = chatons is not None
    if chatons is not None:
        fields.update(
            chatons_member=chatons.chatons_member,
            country_code=chatons.country_code,
            city=chatons.city,
            latitude=chatons.latitude,
            longitude=chatons.longitude,
        )
        if chatons.organization_name:
            fields["name"] = chatons.organization_name[:200]
        if chatons.organization_description:
            fields["description"] = chatons.organization_description[:2000]
        if chatons.open_registrations is not None:
            fields["open_registrations"] = chatons.open_registrations
    return checks, fields


def passed(checks: dict[str, Any]) -> bool:
    return all(
        checks.get(k)
        for k in ("key_verified", "instance_actor", "nodeinfo", "activitypub", "domain_match")
    )


async def on_join(
    fed: Federation, act: APObject, signer: RemoteActor, directory: LocalActor
) -> None:
    """A Follow of the directory actor: a candidate. Checked at once; admitted in open mode.

    Another directory's actor following ours mirrors our (public) listing: accepted, not listed.
    """
    if act.id is None:
        raise NotFound("Follow without an id")
    mirror = urlsplit(signer.ap_id).path == "/directory" and signer.type == "Service"
    await Follow.update_or_create(
        defaults={
            "ap_id": act.id,
            "remote_follower": signer,
            "local_target": directory,
            "state": FollowState.ACCEPTED if mirror else FollowState.PENDING,
        },
        follower_uri=signer.ap_id,
        target_uri=fed.urls.actor(directory),
    )
    if mirror:
        await decide(fed, directory, signer.ap_id, accept=True)
        log.info("mirrored by another directory", extra={"directory": signer.ap_id})
        return
    checks, fields = await check_candidate(fed, signer)
    entry, _ = await DirectoryEntry.update_or_create(
        defaults={
            **fields,
            "actor_uri": signer.ap_id,
            "inbox": signer.delivery_inbox,
            "checks": checks,
            "follow_ap_id": act.id,
            "checked_at": datetime.now(UTC),
            "last_seen_at": datetime.now(UTC),
        },
        domain=signer.domain,
        source=None,
    )
    if entry.state == EntryState.ADMITTED:
        await decide(fed, directory, signer.ap_id, accept=True)  # a repeated join
        return
    log.info("directory candidate", extra={"domain": entry.domain, "checks": checks})
    if not passed(checks):
        await _set_state(fed, entry, EntryState.REJECTED)
    elif fed.directory.admission == "open":
        await admit(fed, entry.domain)


async def _entry(domain: str) -> DirectoryEntry:
    entry = await DirectoryEntry.get_or_none(domain=domain.lower(), source=None)
    if entry is None:
        raise NotFound(f"no candidate {domain}", f"No instance {domain} asked to join")
    return entry


async def _set_state(fed: Federation, entry: DirectoryEntry, state: EntryState) -> None:
    entry.state = state
    await entry.save(update_fields=["state"])
    directory = await directory_actor()
    await decide(fed, directory, entry.actor_uri, accept=state == EntryState.ADMITTED)
    log.info("directory decision", extra={"domain": entry.domain, "state": state.value})


async def admit(fed: Federation, domain: str, progress: Progress | None = None) -> int:
    """Admit an instance, then backfill it with the open offers already known here."""
    entry = await _entry(domain)
    await _set_state(fed, entry, EntryState.ADMITTED)
    return await backfill_entry(fed, entry, progress)


async def reject(fed: Federation, domain: str) -> None:
    await _set_state(fed, await _entry(domain), EntryState.REJECTED)


async def admitted_inboxes(except_domain: str | None = None) -> list[str]:
    rows = await DirectoryEntry.filter(
        state=EntryState.ADMITTED, source=None, inbox__not_isnull=True
    )
    return sorted({r.inbox for r in rows if r.domain != except_domain and r.inbox})


def _announce(fed: Federation, directory: LocalActor, object_id: str) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": fed.urls.new_activity_id(),
        "type": "Announce",
        "actor": fed.urls.actor(directory),
        "object": object_id,
        "to": [PUBLIC],
        "cc": [fed.urls.followers(directory)],
        "published": iso(datetime.now(UTC)),
    }


async def backfill_entry(
    fed: Federation, entry: DirectoryEntry, progress: Progress | None = None
) -> int:
    """Announce every open, unexpired offer known here to a newly admitted instance."""
    if not entry.inbox:
        return 0
    directory = await directory_actor()
    offers = (
        await Offer.filter(
            status__in=[OfferStatus.OPEN, OfferStatus.FULL], expires_at__gt=datetime.now(UTC)
        )
        .exclude(instance_domain=entry.domain)
        .order_by("starts_at")
        .values_list("ap_id", flat=True)
    )
    for done, ap_id in enumerate(offers, start=1):
        await publish(fed, directory, _announce(fed, directory, ap_id), [entry.inbox])
        if progress:
            progress(done, len(offers))
    log.info("directory backfill", extra={"domain": entry.domain, "offers": len(offers)})
    return len(offers)


async def relay(fed: Federation, offer_id: str, origin: RemoteActor) -> bool:
    """Announce an offer (created, changed or deleted at its origin) to every other admitted
    instance. Receivers fetch it from its origin, never trusting the relay for its content."""
    if not fed.directory.enabled:
        return False
    entry = await DirectoryEntry.get_or_none(
        domain=origin.domain, state=EntryState.ADMITTED, source=None
    )
    if entry is None:
        return False
    offer = await Offer.get_or_none(ap_id=offer_id)
    if offer is not None and str(offer.kind) not in (entry.kinds or []):
        entry.kinds = sorted({*(entry.kinds or []), str(offer.kind)})  # kinds offered, listed
        await entry.save(update_fields=["kinds"])
    directory = await directory_actor()
    inboxes = await admitted_inboxes(except_domain=origin.domain)
    if inboxes:
        await publish(fed, directory, _announce(fed, directory, offer_id), inboxes)
    return True


# --- upkeep and listing ------------------------------------------------------------------


async def refresh_entries(fed: Federation) -> int:
    """Recheck admitted entries older than ``refresh_hours``; mark or drop the unreachable."""
    now = datetime.now(UTC)
    settings = fed.directory
    due = await DirectoryEntry.filter(
        source=None,
        state=EntryState.ADMITTED,
        checked_at__lt=now - timedelta(hours=settings.refresh_hours),
    ).limit(20)
    for entry in due:
        actor = await RemoteActor.get_or_none(ap_id=entry.actor_uri)
        if actor is None:
            await entry.delete()
            continue
        checks, fields = await check_candidate(fed, actor)
        entry.checked_at = now
        if checks.get("nodeinfo"):
            for key, value in fields.items():
                setattr(entry, key, value)
            entry.checks, entry.last_seen_at = checks, now
            entry.failing_since, entry.unreachable = None, False
        else:
            entry.failing_since = entry.failing_since or now
            down = now - entry.failing_since
            if down >= timedelta(days=settings.remove_days):
                log.warning("directory entry removed", extra={"domain": entry.domain})
                await entry.delete()
                continue
            entry.unreachable = down >= timedelta(days=settings.unreachable_days)
        await entry.save()
    return len(due)


def entry_to_json(fed: Federation, entry: DirectoryEntry) -> dict[str, Any]:
    return {
        "type": "Service",
        "id": entry.actor_uri,
        "name": entry.name,
        "url": entry.url,
        "summary": entry.description,
        "domain": entry.domain,
        "location": (
            {
                "type": "Place",
                "name": entry.city or "",
                "latitude": entry.latitude,
                "longitude": entry.longitude,
                "country": entry.country_code,
            }
            if entry.latitude is not None or entry.country_code
            else None
        ),
        "kinds": entry.kinds,
        "openRegistrations": entry.open_registrations,
        "chatonsMember": entry.chatons_member,
        "software": {"name": entry.software_name, "version": entry.software_version},
        "lastSeen": entry.last_seen_at.isoformat() if entry.last_seen_at else None,
        "unreachable": entry.unreachable,
        "source": entry.source or fed.urls.actor_for(ActorKind.DIRECTORY, DIRECTORY_USERNAME),
    }


async def listing(
    *,
    kind: str | None = None,
    country: str | None = None,
    chatons: bool | None = None,
    open_registrations: bool | None = None,
) -> list[DirectoryEntry]:
    query = DirectoryEntry.filter(state=EntryState.ADMITTED)
    if country:
        query = query.filter(country_code=country.upper()[:2])
    if chatons is not None:
        query = query.filter(chatons_member=chatons)
    if open_registrations is not None:
        query = query.filter(open_registrations=open_registrations)
    entries = await query.order_by("name", "domain")
    if kind:
        entries = [e for e in entries if kind in (e.kinds or [])]
    return entries


def listing_document(
    fed: Federation, entries: list[DirectoryEntry], listing_url: str
) -> dict[str, Any]:
    return {
        "@context": [
            "https://www.w3.org/ns/activitystreams",
            {
                "coopub": "https://w3id.org/coopub/ns#",
                "kinds": "coopub:kinds",
                "openRegistrations": "coopub:openRegistrations",
                "chatonsMember": "coopub:chatonsMember",
                "software": "coopub:software",
                "lastSeen": "coopub:lastSeen",
                "source": {"@id": "coopub:source", "@type": "@id"},
                "domain": "coopub:domain",
                "country": "coopub:country",
                "unreachable": "coopub:unreachable",
            },
        ],
        "id": listing_url,
        "type": "OrderedCollection",
        "name": fed.directory.name or "Directory",
        "summary": fed.directory.description,
        "attributedTo": fed.urls.actor_for(ActorKind.DIRECTORY, DIRECTORY_USERNAME),
        "totalItems": len(entries),
        "orderedItems": [entry_to_json(fed, e) for e in entries],
    }


# --- mirroring another directory --------------------------------------------------------


async def mirror(fed: Federation, url: str) -> Follow:
    """Our directory actor follows another directory; its listing is merged at each upkeep."""
    return await follow(fed, await directory_actor(), directory_actor_url(url))


def _web_url(value: Any, domain: str) -> str:
    """A listed instance's address, as a link we can render: http(s) on that domain only."""
    url = value if isinstance(value, str) else ""
    if url.startswith(("https://", "http://")) and host_of(url) == domain.lower():
        return url[:500]
    return f"https://{domain}"


async def merge_mirrors(fed: Federation) -> int:
    """Merge the listings of mirrored directories, marking each entry with its source.

    Entries whose source is this directory, or whose domain is listed here first-hand, are
    skipped: two directories mirroring each other do not bounce entries back and forth.
    """
    if not fed.directory.enabled:
        return 0
    directory = await directory_actor()
    own = fed.urls.actor(directory)
    merged = 0
    follows = await Follow.filter(
        local_follower=directory, state=FollowState.ACCEPTED
    ).prefetch_related("remote_target")
    for record in follows:
        source = record.target_uri
        try:
            _, doc = await fed.http.get_json(
                f"{source}/instances", signer=await fed.instance_signer()
            )
        except CoopubError as exc:
            log.info("mirror fetch failed", extra={"directory": source, "error": str(exc)})
            continue
        items = doc.get("orderedItems") if isinstance(doc, dict) else None
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, dict) or not isinstance(item.get("domain"), str):
                continue
            origin = item.get("source") or source
            if origin == own or await DirectoryEntry.exists(domain=item["domain"], source=None):
                continue
            location = item.get("location") if isinstance(item.get("location"), dict) else {}
            software = item.get("software") if isinstance(item.get("software"), dict) else {}
            await DirectoryEntry.update_or_create(
                defaults={
                    "actor_uri": str(item.get("id") or ""),
                    "state": EntryState.ADMITTED,
                    "name": str(item.get("name") or "")[:200],
                    "url": _web_url(item.get("url"), item["domain"]),
                    "description": str(item.get("summary") or "")[:2000],
                    "kinds": [k for k in item.get("kinds") or [] if isinstance(k, str)][:10],
                    "open_registrations": item.get("openRegistrations"),
                    "chatons_member": bool(item.get("chatonsMember")),
                    "software_name": str(software.get("name") or "")[:100],
                    "software_version": str(software.get("version") or "")[:100],
                    "country_code": (location.get("country") or None),
                    "city": location.get("name") or None,
                    "latitude": location.get("latitude"),
                    "longitude": location.get("longitude"),
                    "last_seen_at": datetime.now(UTC),
                },
                domain=item["domain"][:253],
                source=str(origin)[:500],
            )
            merged += 1
    return merged
