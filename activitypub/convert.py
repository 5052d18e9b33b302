"""Actors between ActivityStreams JSON and models: our actor documents out, remote ones in.

Names read ``<source>_to_<target>``. Converters may read models but never write them: the caller
saves. Trust checks happen during conversion (a key's owner must be the actor; a shared inbox is
kept only on the actor's own host), as GoToSocial's typeutils do. The other documents have their
own modules: ``activities`` (what we send), ``collections``, ``directory``, ``offers``.
"""

from __future__ import annotations

from typing import Any

import nh3
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization

from activitypub.apobject import APObject, first_id, types_of
from activitypub.media import image_to_as
from activitypub.moves import with_move_fields
from activitypub.profile import bio_html, property_values
from activitypub.urls import Urls, host_of
from activitypub.wire import ACTOR_CONTEXT, AS2_CONTEXT, iso
from models.actors import ActorKind, LocalActor
from models.errors import Malformed
from models.media import Media

ACTOR_TYPES = frozenset({"Person", "Group", "Service", "Application", "Organization"})
AS_TYPE = {
    ActorKind.INSTANCE: "Application",
    ActorKind.COOP: "Group",
    ActorKind.MEMBER: "Person",
    ActorKind.DIRECTORY: "Service",
}


def actor_to_as(
    actor: LocalActor, urls: Urls, *, icon: Media | None = None, header: Media | None = None
) -> dict[str, Any]:
    """The actor document Mastodon, GoToSocial and Fedify expect (see FEDERATION.md): the bio
    (plain text) as HTML, the profile fields as ``PropertyValue`` attachments, the avatar
    (``icon``) and header (``image``) when there are, and the ``featured`` collection, which
    GoToSocial fetches on every actor fetch."""
    actor_id = urls.actor(actor)
    doc: dict[str, Any] = {
        "@context": ACTOR_CONTEXT,
        "id": actor_id,
        "type": AS_TYPE[actor.kind],
        "preferredUsername": actor.username,
        "name": actor.name or actor.username,
        "summary": bio_html(actor.summary),
        "url": actor_id,
        "inbox": urls.inbox(actor),
        "outbox": urls.outbox(actor),
        "followers": urls.followers(actor),
        "following": urls.following(actor),
        "featured": urls.featured(actor),
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
        "attachment": property_values(actor.profile_fields),
    }
    if actor.suspended_at is not None:
        # As Mastodon's ActorSerializer: still served (keys, inbox), the profile withheld.
        doc.update(name=actor.username, summary="", attachment=[], suspended=True)
        doc["@context"] = [*ACTOR_CONTEXT, {"suspended": "toot:suspended"}]
        return doc
    if icon is not None:
        doc["icon"] = image_to_as(urls, icon)
    if header is not None:
        doc["image"] = image_to_as(urls, header)
    return with_move_fields(doc, actor.also_known_as, actor.moved_to)


def actor_tombstone(actor: LocalActor, urls: Urls) -> dict[str, Any]:
    """What the URL of a deleted actor answers (with 410 Gone)."""
    doc: dict[str, Any] = {
        "@context": AS2_CONTEXT,
        "id": urls.actor(actor),
        "type": "Tombstone",
        "formerType": AS_TYPE[actor.kind],
    }
    if actor.deleted_at is not None:
        doc["deleted"] = iso(actor.deleted_at)
    return doc


def _loads_as_public_key(pem: str) -> bool:
    try:
        serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, UnsupportedAlgorithm):
        return False
    return True


def _pick_key(obj: APObject) -> tuple[str | None, str | None]:
    """The actor's own key: a ``publicKey`` (object or list) whose ``owner`` is the actor.

    A key that names no owner, or another owner, is not the actor's (a key belongs to whoever
    its ``owner`` says; publishing someone else's would let one actor speak for another). The
    key id must be on the actor's host: keys are looked up by id in the cache, so an actor
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
        owner = first_id(key.get("owner"))
        pem = key.get("publicKeyPem")
        if owner is None or owner != obj.id or not isinstance(pem, str) or not pem.strip():
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
