"""The one place where ActivityStreams JSON and models meet.

Names read ``<source>_to_<target>``. Converters may read models but never write them: the caller
saves. Trust checks happen during conversion (a key's owner must be the actor; a shared inbox is
kept only on the actor's own host), as GoToSocial's typeutils do.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import nh3
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from activitypub.apobject import APObject, first_id, types_of
from activitypub.urls import PUBLIC, PUBLIC_ALIASES, Urls, host_of
from models.actors import ActorKind, LocalActor
from models.errors import Malformed

AS2_CONTEXT = "https://www.w3.org/ns/activitystreams"
SECURITY_CONTEXT = "https://w3id.org/security/v1"
ACTOR_CONTEXT: list[Any] = [
    AS2_CONTEXT,
    SECURITY_CONTEXT,
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "discoverable": "toot:discoverable",
        "indexable": "toot:indexable",
    },
]
ACTOR_TYPES = frozenset({"Person", "Group", "Service", "Application", "Organization"})
AS_TYPE = {
    ActorKind.INSTANCE: "Application",
    ActorKind.COOP: "Group",
    ActorKind.MEMBER: "Person",
    ActorKind.DIRECTORY: "Service",
}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def actor_to_as(actor: LocalActor, urls: Urls) -> dict[str, Any]:
    """The actor document Mastodon, GoToSocial and Fedify expect (see FEDERATION.md)."""
    actor_id = urls.actor(actor)
    doc: dict[str, Any] = {
        "@context": ACTOR_CONTEXT,
        "id": actor_id,
        "type": AS_TYPE[actor.kind],
        "preferredUsername": actor.username,
        "name": actor.name or actor.username,
        "summary": actor.summary,
        "url": actor_id,
        "inbox": urls.inbox(actor),
        "outbox": urls.outbox(actor),
        "followers": urls.followers(actor),
        "following": urls.following(actor),
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "publicKey": {
            "id": urls.key_id(actor),
            "owner": actor_id,
            "publicKeyPem": actor.public_key_pem,
        },
        "manuallyApprovesFollowers": actor.locked or actor.kind == ActorKind.INSTANCE,
        "discoverable": actor.kind != ActorKind.INSTANCE,
        "indexable": False,
        "published": iso(actor.created_at),
    }
    return doc


def _loads_as_public_key(pem: str) -> bool:
    try:
        serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnsupportedAlgorithm):
        return False
    return True


def _pick_key(obj: APObject) -> tuple[str | None, str | None]:
    """The actor's own key: a ``publicKey`` (object or list) whose owner is the actor.

    The key id must be on the actor's host: keys are looked up by id in the cache, so an actor
    claiming another's key id would shadow it. A PEM that does not load raises Malformed rather
    than being cached, which would replace a working key with a dead one (Mastodon's own test
    fixture ``mastodon-update.json`` carries such a key).
    """
    keys = obj.raw.get("publicKey")
    candidates = keys if isinstance(keys, list) else [keys]
    unusable = False
    for key in candidates:
        if not isinstance(key, dict):
            continue
        owner = first_id(key.get("owner")) or obj.id
        pem = key.get("publicKeyPem")
        if owner != obj.id or not isinstance(pem, str) or not pem.strip():
            continue
        key_id = key.get("id") if isinstance(key.get("id"), str) else None
        if key_id is not None and host_of(key_id) != host_of(obj.id or ""):
            continue
        if not _loads_as_public_key(pem):
            unusable = True
            continue
        return key_id, pem
    if unusable:
        raise Malformed(f"actor {obj.id} publishes an unusable public key")
    return None, None


def as_to_remote_actor_fields(raw: Any) -> dict[str, Any]:
    """Fields for a ``RemoteActor`` from a fetched actor document; raises Malformed."""
    obj = APObject(raw)
    actor_id = obj.id
    if not actor_id or not actor_id.startswith(("https://", "http://")):
        raise Malformed("actor without an absolute id")
    actor_type = next((t for t in obj.types if t in ACTOR_TYPES), None)
    if actor_type is None:
        raise Malformed(f"not an actor type: {obj.types}")
    inbox = first_id(obj.raw.get("inbox"))
    if not inbox:
        raise Malformed(f"actor {actor_id} has no inbox")
    domain = host_of(actor_id)
    username = obj.get_str("preferredUsername") or actor_id.rstrip("/").rsplit("/", 1)[-1]
    endpoints = obj.raw.get("endpoints")
    shared = first_id(endpoints.get("sharedInbox")) if isinstance(endpoints, dict) else None
    if shared and host_of(shared) != domain:
        shared = None  # a shared inbox elsewhere could be used to redirect our deliveries
    if host_of(inbox) != domain:
        raise Malformed(f"actor {actor_id} has an inbox on another host")
    key_id, pem = _pick_key(obj)
    icon = obj.raw.get("icon")
    icon_url = first_id(icon.get("url") if isinstance(icon, dict) else icon)
    url = first_id(obj.raw.get("url"))
    return {
        "ap_id": actor_id,
        "type": actor_type,
        "username": username[:200],
        "domain": domain,
        "name": (obj.get_str("name") or "")[:1000],
        "summary": nh3.clean(obj.get_str("summary") or ""),
        "url": url if url and url.startswith(("https://", "http://")) else None,
        "icon_url": icon_url if icon_url and icon_url.startswith(("https://", "http://")) else None,
        "inbox": inbox,
        "shared_inbox": shared,
        "outbox": first_id(obj.raw.get("outbox")),
        "followers_url": first_id(obj.raw.get("followers")),
        "following_url": first_id(obj.raw.get("following")),
        "key_id": key_id,
        "public_key_pem": pem,
        "locked": obj.raw.get("manuallyApprovesFollowers") is True,
        "document": obj.raw,
    }


def is_actor_document(raw: Any) -> bool:
    return isinstance(raw, dict) and any(t in ACTOR_TYPES for t in types_of(raw.get("type")))


# --- activities -----------------------------------------------------------------------------


def _activity(
    kind: str, activity_id: str, actor_id: str, obj: Any, to: list[str], **extra: Any
) -> dict[str, Any]:
    return {
        "@context": AS2_CONTEXT,
        "id": activity_id,
        "type": kind,
        "actor": actor_id,
        "object": obj,
        "to": to,
        **extra,
    }


def follow_to_as(follow_id: str, follower_id: str, target_id: str) -> dict[str, Any]:
    return _activity("Follow", follow_id, follower_id, target_id, [target_id])


def accept_follow(
    activity_id: str, actor_id: str, follow_id: str, follower_id: str
) -> dict[str, Any]:
    """``Accept`` embedding the Follow, as Mastodon does (some peers need the embedded form)."""
    follow = {"id": follow_id, "type": "Follow", "actor": follower_id, "object": actor_id}
    return _activity("Accept", activity_id, actor_id, follow, [follower_id])


def reject_follow(
    activity_id: str, actor_id: str, follow_id: str, follower_id: str
) -> dict[str, Any]:
    follow = {"id": follow_id, "type": "Follow", "actor": follower_id, "object": actor_id}
    return _activity("Reject", activity_id, actor_id, follow, [follower_id])


def undo_follow(
    activity_id: str, follower_id: str, follow_id: str, target_id: str
) -> dict[str, Any]:
    follow = {"id": follow_id, "type": "Follow", "actor": follower_id, "object": target_id}
    return _activity("Undo", activity_id, follower_id, follow, [target_id])


def update_actor(activity_id: str, actor_doc: dict[str, Any]) -> dict[str, Any]:
    """``Update`` of an actor's own document, public and sent to its followers."""
    obj = {k: v for k, v in actor_doc.items() if k != "@context"}
    return {
        **_activity("Update", activity_id, actor_doc["id"], obj, [PUBLIC]),
        "@context": actor_doc["@context"],
        "cc": [actor_doc["followers"]],
    }


def is_public(activity: dict[str, Any]) -> bool:
    return bool(PUBLIC_ALIASES.intersection(APObject(activity).audience))


# --- collections ----------------------------------------------------------------------------


def ordered_collection(collection_id: str, total: int, first: str | None) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": AS2_CONTEXT,
        "id": collection_id,
        "type": "OrderedCollection",
        "totalItems": total,
    }
    if first:
        doc["first"] = first
    return doc


def ordered_collection_page(
    page_id: str, collection_id: str, items: list[Any], next_page: str | None
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "@context": AS2_CONTEXT,
        "id": page_id,
        "type": "OrderedCollectionPage",
        "partOf": collection_id,
        "orderedItems": items,
    }
    if next_page:
        doc["next"] = next_page
    return doc
