"""Moving an account on the wire: ``alsoKnownAs`` and ``movedTo`` on actors, and ``Move``.

Mastodon's shapes (``app/serializers/activitypub/move_serializer.rb``, the actor serializer):
a ``Move`` whose ``actor`` and ``object`` are the old account and whose ``target`` is the new
one, sent to the old account's followers; the new account lists the old one in
``alsoKnownAs`` (the AS2 context defines it, ``@type: @id``), the old one names the new one in
``movedTo`` (which only Mastodon's context defines: the term is added to the actor's context
when used, never fetched).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

from activitypub.apobject import all_ids, first_id
from activitypub.wire import HttpUrl, View, is_http_url

MOVED_TO_TERM = {"movedTo": {"@id": "as:movedTo", "@type": "@id"}}
ALSO_KNOWN_AS_TERM = {"alsoKnownAs": {"@id": "as:alsoKnownAs", "@type": "@id"}}
"""As Mastodon's actor context maps them (``alsoKnownAs`` is in the AS2 context as well)."""
MAX_ALIASES = 10
"""Aliases an account may list (Mastodon allows a handful; a long list helps no one)."""


def with_move_fields(
    doc: dict[str, Any], also_known_as: list[str] | None, moved_to: str | None
) -> dict[str, Any]:
    """The actor document with ``alsoKnownAs`` and ``movedTo`` when set, their terms added to
    the inline part of its ``@context``; unchanged otherwise (the usual document stays as
    peers already know it)."""
    terms: dict[str, Any] = {}
    if also_known_as:
        doc["alsoKnownAs"] = list(also_known_as)
        terms.update(ALSO_KNOWN_AS_TERM)
    if moved_to:
        doc["movedTo"] = moved_to
        terms.update(MOVED_TO_TERM)
    if terms:
        context = copy.deepcopy(doc.get("@context"))
        if isinstance(context, list) and context and isinstance(context[-1], dict):
            context[-1] = {**context[-1], **terms}
        else:
            context = [*(context if isinstance(context, list) else [context]), terms]
        doc["@context"] = context
    return doc


def aliases_in(doc: dict[str, Any]) -> list[str]:
    """The ``alsoKnownAs`` of an actor document: ids, whether given as strings or objects."""
    return [a for a in all_ids(doc.get("alsoKnownAs")) if is_http_url(a)]


def moved_to_in(doc: dict[str, Any]) -> str | None:
    target = first_id(doc.get("movedTo"))
    return target if target and is_http_url(target) else None


class MoveView(View):
    """A ``Move`` as Mastodon sends it (and as we do): the account moves itself."""

    id: HttpUrl
    type: Literal["Move"]
    actor: HttpUrl
    object: HttpUrl
    target: HttpUrl
    to: list[HttpUrl] | None = None

    def to_json(self, context: Any) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "@context": context,
            "id": self.id,
            "type": self.type,
            "actor": self.actor,
            "object": self.object,
            "target": self.target,
        }
        if self.to is not None:
            doc["to"] = list(self.to)
        return doc


def move_to_as(activity_id: str, actor_id: str, target_id: str, followers: str) -> dict[str, Any]:
    """The ``Move`` of ``actor_id`` to ``target_id``, addressed to its followers."""
    view = MoveView(
        id=activity_id,
        type="Move",
        actor=actor_id,
        object=actor_id,
        target=target_id,
        to=[followers],
    )
    return view.to_json("https://www.w3.org/ns/activitystreams")


@dataclass(frozen=True)
class MoveRequest:
    """What an incoming ``Move`` says: ``actor`` says ``origin`` (the old account, which must
    be ``actor`` itself) moved to ``target``."""

    actor: str
    origin: str
    target: str


def as_to_move(raw: dict[str, Any]) -> MoveRequest:
    """An incoming ``Move``, references given as strings or objects; ``Malformed`` unless it
    names an actor, an object and a target. That the object is the actor is checked by the
    caller (a ``Move`` of someone else is ignored, not malformed)."""
    view = MoveView.parse(
        {
            "id": raw.get("id"),
            "type": raw.get("type"),
            "actor": first_id(raw.get("actor")),
            "object": first_id(raw.get("object")),
            "target": first_id(raw.get("target")),
        }
    )
    return MoveRequest(actor=view.actor, origin=view.object, target=view.target)
