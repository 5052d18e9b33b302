"""WebFinger (RFC 7033): answering for local actors, and resolving ``@name@host`` handles."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from activitypub.urls import Urls
from federation.context import Federation
from federation.http import AS2_TYPES
from models.actors import ActorKind, LocalActor
from models.errors import Gone, Malformed, NotFound, RemoteUnavailable

HANDLE = re.compile(r"^(?:acct:)?@?(?P<user>[^@\s/]+)@(?P<host>[^@\s/]+)$")
SELF_TYPES = (
    "application/activity+json",
    'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
)


def parse_handle(handle: str) -> tuple[str, str]:
    match = HANDLE.match(handle.strip())
    if not match:
        raise Malformed(f"not a handle: {handle!r}", f"Not a handle like @name@host: {handle}")
    return match["user"].lower(), match["host"].lower()


async def local_actor_for_resource(urls: Urls, resource: str) -> LocalActor:
    """The local actor named by ``acct:name@domain`` or by its actor URL; NotFound otherwise,
    Gone for a deleted account."""
    if resource.startswith(("https://", "http://")):
        parsed = urls.parse_actor(resource)
        if parsed is None:
            raise NotFound(f"no local actor at {resource}")
        kind, username = parsed
        actor = await LocalActor.get_or_none(kind=kind, username=username)
    else:
        user, host = parse_handle(resource)
        if host not in (urls.domain.lower(), urls.hostname.lower()):
            raise NotFound(f"{resource} is not on this instance")
        actor = await LocalActor.get_or_none(username=user)
    if actor is None:
        raise NotFound(f"no such account: {resource}")
    if actor.deleted_at is not None:
        raise Gone(f"deleted account: {resource}", "This account has been deleted")
    return actor


def jrd_for(urls: Urls, actor: LocalActor) -> dict[str, Any]:
    actor_id = urls.actor(actor)
    links: list[dict[str, Any]] = [
        {"rel": "self", "type": "application/activity+json", "href": actor_id},
        {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html", "href": actor_id},
    ]
    if actor.kind != ActorKind.INSTANCE:
        links.append(
            {
                "rel": "http://ostatus.org/schema/1.0/subscribe",
                "template": urls.url("authorize_interaction") + "?uri={uri}",
            }
        )
    return {
        "subject": f"acct:{actor.username}@{urls.domain}",
        "aliases": [actor_id],
        "links": links,
    }


async def resolve(fed: Federation, handle_or_uri: str) -> str:
    """Resolve ``@name@host`` (or an actor URL, returned as is) to an actor id."""
    if handle_or_uri.startswith(("https://", "http://")):
        return handle_or_uri
    user, host = parse_handle(handle_or_uri)
    if host in (fed.urls.domain.lower(),):
        actor = await local_actor_for_resource(fed.urls, f"acct:{user}@{host}")
        return fed.urls.actor(actor)
    schemes = ["https", "http"] if fed.settings.allow_private_addresses else ["https"]
    resource = quote(f"acct:{user}@{host}", safe=":@")
    last_error: Exception | None = None
    for scheme in schemes:
        url = Urls(f"{scheme}://{host}").url("webfinger") + f"?resource={resource}"
        try:
            _, jrd = await fed.http.get_json(
                url, signer=None, accept="application/jrd+json, application/json"
            )
        except RemoteUnavailable as exc:
            last_error = exc
            continue
        except NotFound as exc:  # the server answered: no such account there
            raise NotFound(str(exc), f"{host} has no account {user}@{host}") from exc
        return _self_link(jrd, handle_or_uri)
    raise RemoteUnavailable(f"WebFinger failed for {handle_or_uri}: {last_error}")


def _self_link(jrd: Any, handle: str) -> str:
    links = jrd.get("links") if isinstance(jrd, dict) else None
    for link in links if isinstance(links, list) else []:
        if not isinstance(link, dict) or link.get("rel") != "self":
            continue
        kind = str(link.get("type", "")).split(";")[0].strip()
        href = link.get("href")
        if kind in AS2_TYPES and isinstance(href, str) and href.startswith(("https://", "http://")):
            return href
    raise NotFound(f"{handle}: WebFinger has no ActivityPub self link")
