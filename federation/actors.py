"""Remote actors: fetched with a signed GET, cached with their keys, refreshed when stale.

A failed signature check refetches the signer's key once (keys are rotated, rarely); a peer
never has its key replaced by anything but a document fetched from its own host. A key is the
actor's only when its ``owner`` is the actor publishing it (``activitypub.convert``), and
nothing is cached from a document that does not publish the key a request was signed with.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urldefrag

from activitypub.apobject import APObject
from activitypub.convert import as_to_remote_actor_fields, is_actor_document
from activitypub.urls import host_of
from federation.context import Federation
from models.actors import RemoteActor
from models.errors import Malformed

log = logging.getLogger(__name__)


async def _fetch_document(fed: Federation, url: str) -> APObject:
    """A document whose id is on the host that served it (after redirects)."""
    final_url, raw = await fed.http.get_json(url, signer=await fed.instance_signer())
    if not isinstance(raw, dict):
        raise Malformed(f"{url}: not a JSON object")
    doc = APObject(raw)
    if doc.id is None or host_of(doc.id) != host_of(final_url):
        raise Malformed(f"{url}: document id {doc.id!r} is not on {host_of(final_url)}")
    return doc


async def save_actor_document(doc: dict[str, Any]) -> RemoteActor:
    return await _save(as_to_remote_actor_fields(doc))


async def save_actor_update(doc: dict[str, Any]) -> RemoteActor:
    """An actor's profile change, signed by itself: refused when the document no longer
    publishes a key of its own (the key it signs with would be lost for a broken one)."""
    values = as_to_remote_actor_fields(doc)
    if values["key_id"] is None:
        raise Malformed(f"actor {values['ap_id']}: the update publishes no key of its own")
    return await _save(values)


async def _save(values: dict[str, Any]) -> RemoteActor:
    values["fetched_at"] = datetime.now(UTC)
    actor, _ = await RemoteActor.update_or_create(defaults=values, ap_id=values["ap_id"])
    forget_key_owners(actor.ap_id, actor.key_id)  # its old key, and its new one
    return actor


async def fetch_actor(fed: Federation, uri: str, *, refresh: bool = False) -> RemoteActor:
    """The cached actor, fetched (signed, by the instance actor) when absent, stale or asked."""
    uri = urldefrag(uri).url
    cached = await RemoteActor.get_or_none(ap_id=uri)
    max_age = timedelta(hours=fed.settings.actor_refresh_hours)
    if cached and not refresh and datetime.now(UTC) - cached.fetched_at < max_age:
        return cached
    try:
        doc = await _fetch_document(fed, uri)
    except Exception:
        if cached and not refresh:
            log.warning("actor refresh failed, using cache", extra={"actor": uri})
            return cached
        raise
    if doc.id != uri:
        # Fetched through a non-canonical URL: the canonical id must serve the same actor.
        doc = await _fetch_document(fed, str(doc.id))
    return await save_actor_document(doc.raw)


_KEY_OWNER_SQL: dict[str, str] = {}


def _key_owner_sql(dialect: str) -> str:
    """``RemoteActor.filter(key_id=…).order_by("-fetched_at").first()`` written once per
    dialect: building the query through the ORM cost more than running it (every inbox POST)."""
    sql = _KEY_OWNER_SQL.get(dialect)
    if sql is None:
        meta = RemoteActor._meta
        columns = ", ".join(f'"{c}"' for c in meta.fields_db_projection.values())
        mark = "$1" if dialect == "postgres" else "?"
        sql = (
            f'SELECT {columns} FROM "{meta.db_table}" WHERE "key_id" = {mark}'
            ' ORDER BY "fetched_at" DESC LIMIT 1'
        )
        _KEY_OWNER_SQL[dialect] = sql
    return sql


KEY_OWNER_SECONDS = 5.0
"""How long a process trusts the owner it read for a key (every inbox POST and signed GET
asks): as long as it trusts the domain rules (``blocks.CACHE_SECONDS``). A suspension or its
end, a deletion or a refetched key made by another process (a worker, the CLI) applies here
within these seconds, one made in this process at once (``forget_key_owners``). An activity
accepted meanwhile from an account suspended elsewhere is not acted on: the worker reads its
signer again (``inbox._checked``); a signed GET meanwhile is answered."""

KEY_OWNERS_HELD = 10_000
"""At most this many keys' owners are held by a process (all are forgotten beyond)."""


@dataclass
class _KeyOwners:
    held: dict[str, tuple[float, RemoteActor]] = field(default_factory=dict)
    forgotten: int = 0
    """How many times owners were forgotten: a read begun before a forget and answered after it
    may hold what was just changed, and is not kept."""


_owners = _KeyOwners()


def forget_key_owners(ap_id: str | None = None, key_id: str | None = None) -> None:
    """Forget this process's owner of ``key_id`` and of the keys held as ``ap_id``'s (every key
    when neither is given): the next request reads its signer's row again."""
    _owners.forgotten += 1
    if ap_id is None and key_id is None:
        _owners.held.clear()
        return
    for held_key, (_, actor) in list(_owners.held.items()):
        if held_key == key_id or actor.ap_id == ap_id:
            del _owners.held[held_key]


async def known_key_owner(key_id: str) -> RemoteActor | None:
    """The stored actor owning ``key_id``, or None (no fetch): one read a key per
    ``KEY_OWNER_SECONDS``, rather than a round trip for every request of a busy peer. The actor
    returned may be shared between requests: read it, never change it."""
    now, forgotten = time.monotonic(), _owners.forgotten
    held = _owners.held.get(key_id)
    if held is not None and now - held[0] < KEY_OWNER_SECONDS:
        return held[1]
    db = RemoteActor._meta.db
    _, rows = await db.execute_query(_key_owner_sql(db.capabilities.dialect), [key_id])
    actor = RemoteActor._init_from_db(**rows[0]) if rows else None
    if actor is None or forgotten != _owners.forgotten:
        _owners.held.pop(key_id, None)
        return actor
    if len(_owners.held) >= KEY_OWNERS_HELD:
        _owners.held.clear()
    _owners.held[key_id] = (now, actor)
    return actor


async def actor_for_key(fed: Federation, key_id: str, *, refresh: bool = False) -> RemoteActor:
    """The actor owning ``key_id`` (Mastodon ``…#main-key``, GoToSocial ``…/main-key``, or a
    standalone key document with an ``owner``)."""
    if not refresh:
        cached = await known_key_owner(key_id)
        if cached:
            return cached
    doc = await _fetch_document(fed, urldefrag(key_id).url)
    if not is_actor_document(doc.raw):
        # A key document: its owner must be on its host, be served at its own id, and publish
        # this very key as its own (Mastodon's FetchRemoteKeyService does the same).
        owner = doc.owner_id
        if not owner or host_of(owner) != host_of(key_id):
            raise Malformed(f"key {key_id} has no owner on its host")
        doc = await _fetch_document(fed, owner)
        if doc.id != owner:
            raise Malformed(f"key {key_id}: its owner {owner} is served as {doc.id}")
    elif doc.id != urldefrag(key_id).url:
        # GoToSocial serves a stub actor at the key URL; the full actor lives at its id.
        doc = await _fetch_document(fed, str(doc.id))
    values = as_to_remote_actor_fields(doc.raw)  # keeps only a key whose owner is the actor
    if values["key_id"] != key_id:
        raise Malformed(f"actor {values['ap_id']} does not publish key {key_id} as its own")
    return await _save(values)
