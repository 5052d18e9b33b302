"""Named canned remote actors and signed inbox requests, with no network at all.

As in GoToSocial's ``testrig``: a remote actor is a Mastodon-shaped document saved straight into
the ``RemoteActor`` cache, so ``actor_for_key`` finds its key by ``keyId`` without fetching.
``offline(fed)`` replaces the federation HTTP client by one that answers from that cache (as the
remote server would) and records every request, so a key refetch never leaves the process.

RSA-2048 generation is slow: ``keypair(label)`` makes each labelled key once per test process.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import urlsplit

import httpx

from federation.actors import save_actor_document
from federation.context import Federation
from federation.signatures import generate_rsa_keypair, sign_request
from models.actors import RemoteActor

AS2 = "application/activity+json"
MASTODON_CONTEXT: list[Any] = [
    "https://www.w3.org/ns/activitystreams",
    "https://w3id.org/security/v1",
    {
        "manuallyApprovesFollowers": "as:manuallyApprovesFollowers",
        "toot": "http://joinmastodon.org/ns#",
        "featured": {"@id": "toot:featured", "@type": "@id"},
        "featuredTags": {"@id": "toot:featuredTags", "@type": "@id"},
        "alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"},
        "movedTo": {"@id": "as:movedTo", "@type": "@id"},
        "schema": "http://schema.org#",
        "PropertyValue": "schema:PropertyValue",
        "value": "schema:value",
        "discoverable": "toot:discoverable",
        "suspended": "toot:suspended",
        "memorial": "toot:memorial",
        "indexable": "toot:indexable",
        "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    },
]


@dataclass(frozen=True)
class Keypair:
    private_pem: str
    public_pem: str


@cache
def keypair(label: str) -> Keypair:
    """A test RSA-2048 key, generated once per process for each label."""
    return Keypair(*generate_rsa_keypair())


def actor_document(
    name: str = "zoe",
    host: str = "remote.example",
    *,
    public_pem: str,
    scheme: str = "https",
    **options: Any,
) -> dict[str, Any]:
    """A Mastodon 4.x actor document at ``{scheme}://{host}/users/{name}``."""
    return document_at(f"{scheme}://{host}/users/{name}", public_pem=public_pem, **options)


def document_at(
    actor_id: str,
    *,
    public_pem: str,
    actor_type: str = "Person",
    display_name: str | None = None,
    locked: bool = False,
) -> dict[str, Any]:
    """A Mastodon-shaped actor document for any actor id (``#main-key``, a shared inbox)."""
    parts = urlsplit(actor_id)
    origin = f"{parts.scheme}://{parts.netloc}"
    name = parts.path.rstrip("/").rsplit("/", 1)[-1].lstrip("@")
    return {
        "@context": copy.deepcopy(MASTODON_CONTEXT),
        "id": actor_id,
        "type": actor_type,
        "following": f"{actor_id}/following",
        "followers": f"{actor_id}/followers",
        "inbox": f"{actor_id}/inbox",
        "outbox": f"{actor_id}/outbox",
        "featured": f"{actor_id}/collections/featured",
        "preferredUsername": name,
        "name": display_name if display_name is not None else name.capitalize(),
        "summary": f"<p>{name} rides bikes</p>",
        "url": f"{origin}/@{name}",
        "manuallyApprovesFollowers": locked,
        "discoverable": True,
        "indexable": False,
        "published": "2024-01-01T00:00:00Z",
        "publicKey": {"id": f"{actor_id}#main-key", "owner": actor_id, "publicKeyPem": public_pem},
        "endpoints": {"sharedInbox": f"{origin}/inbox"},
        "icon": {"type": "Image", "mediaType": "image/png", "url": f"{origin}/avatars/{name}.png"},
    }


async def remote_actor(
    name: str = "zoe",
    host: str = "remote.example",
    key: Keypair | None = None,
    **options: Any,
) -> tuple[RemoteActor, str]:
    """Cache a canned remote actor; returns it and the private key PEM it signs with."""
    key = key or keypair("a")
    doc = actor_document(name, host, public_pem=key.public_pem, **options)
    return await save_actor_document(doc), key.private_pem


async def cache_with_key(doc: dict[str, Any], key: Keypair) -> RemoteActor:
    """Cache a captured actor document with its key replaced by ``key`` (same key id)."""
    doc = copy.deepcopy(doc)
    public_key = doc.get("publicKey")
    if not isinstance(public_key, dict):
        public_key = {"id": f"{doc['id']}#main-key", "owner": doc["id"]}
        doc["publicKey"] = public_key
    public_key["publicKeyPem"] = key.public_pem
    return await save_actor_document(doc)


def signed_post(
    url: str,
    activity: dict[str, Any],
    key_id: str,
    private_pem: str,
    *,
    body: bytes | None = None,
    now: datetime | None = None,
    content_type: str = AS2,
) -> tuple[bytes, dict[str, str]]:
    """The body (``activity`` as JSON unless ``body`` is given) and the signed headers."""
    raw = json.dumps(activity).encode() if body is None else body
    headers = sign_request(
        "POST", url, {"Content-Type": content_type}, raw, key_id, private_pem, now=now
    )
    return raw, headers


async def post_signed(
    client: httpx.AsyncClient,
    url: str,
    activity: dict[str, Any],
    key_id: str,
    private_pem: str,
    **overrides: Any,
) -> httpx.Response:
    """POST a signed activity through ``client`` (``url`` absolute, on the client's base)."""
    body, headers = signed_post(url, activity, key_id, private_pem, **overrides)
    return await client.post(url, content=body, headers=headers)


async def offline(
    fed: Federation, responses: Mapping[str, httpx.Response] | None = None
) -> list[httpx.Request]:
    """Serve outgoing GETs from ``responses`` (by exact URL), else from the ``RemoteActor``
    cache, else 404; record every request.

    The federation client is swapped for one on an ``httpx.MockTransport``: no socket, no DNS.
    """
    sent: list[httpx.Request] = []
    canned = dict(responses or {})

    async def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        if request.method == "GET" and str(request.url) in canned:
            reply = canned[str(request.url)]  # a fresh copy: a response is bound to one request
            return httpx.Response(reply.status_code, headers=reply.headers, content=reply.content)
        if request.method == "GET":
            url = str(request.url.copy_with(fragment=None))
            cached = await RemoteActor.get_or_none(ap_id=url)
            if cached is not None:
                return httpx.Response(200, json=cached.document, headers={"Content-Type": AS2})
        return httpx.Response(404, json={"error": "Not found"})

    await fed.http.aclose()
    fed.http._client = httpx.AsyncClient(
        transport=httpx.MockTransport(answer), follow_redirects=False
    )
    return sent


def key_fetches(sent: list[httpx.Request], actor: RemoteActor) -> list[httpx.Request]:
    """The recorded requests that (re)fetched ``actor`` or its key: none when the cache served."""
    wanted = {actor.ap_id, (actor.key_id or "").split("#", 1)[0]}
    return [r for r in sent if str(r.url.copy_with(fragment=None)) in wanted]


def posts(sent: list[httpx.Request]) -> list[httpx.Request]:
    """Recorded POSTs: deliveries go through the queue, never from inbox processing."""
    return [r for r in sent if r.method == "POST"]
