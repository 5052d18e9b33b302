"""The activities coopub sends, each built through one validated envelope.

GoToSocial's ``WrapNoteInCreate`` and friends: the services say who does what to which object;
the shape on the wire (key order included, which peers' tests and ours pin) is decided here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import model_validator

from activitypub.apobject import first_id
from activitypub.urls import PUBLIC
from activitypub.wire import AS2_CONTEXT, Audience, HttpUrl, View, iso

ActivityType = Literal[
    "Create", "Update", "Delete", "Announce", "Accept", "Reject", "Follow", "Undo"
]


class Envelope(View):
    """An activity: who (``actor``) does what (``type``) to which ``object``, for whom."""

    context: Any = AS2_CONTEXT
    id: HttpUrl
    type: ActivityType
    actor: HttpUrl
    object: HttpUrl | dict[str, Any]
    to: list[Audience]
    cc: list[Audience] | None = None
    published: datetime | None = None

    @model_validator(mode="after")
    def _object_has_an_id(self) -> Envelope:
        if isinstance(self.object, dict) and not first_id(self.object):
            raise ValueError("an embedded object needs an id")
        return self

    def to_json(self) -> dict[str, Any]:
        doc: dict[str, Any] = {
            "@context": self.context,
            "id": self.id,
            "type": self.type,
            "actor": self.actor,
            "object": self.object,
            "to": list(self.to),
        }
        if self.cc is not None:
            doc["cc"] = list(self.cc)
        if self.published is not None:
            doc["published"] = iso(self.published)
        return doc


def _envelope(**fields: Any) -> dict[str, Any]:
    return Envelope.model_validate(fields).to_json()


# --- an object's life: Create, Update, Delete, Announce (public, to followers) ---------------


def wrap_object(
    kind: Literal["Create", "Update"],
    activity_id: str,
    actor_id: str,
    doc: dict[str, Any],
    *,
    cc: list[str],
    published: datetime,
) -> dict[str, Any]:
    """``Create``/``Update`` embedding ``doc``, whose ``@context`` moves up to the activity."""
    obj = {k: v for k, v in doc.items() if k != "@context"}
    return _envelope(
        context=doc.get("@context", AS2_CONTEXT),
        id=activity_id,
        type=kind,
        actor=actor_id,
        object=obj,
        to=[PUBLIC],
        cc=cc,
        published=published,
    )


def wrap_delete(
    activity_id: str,
    actor_id: str,
    object_id: str,
    *,
    cc: list[str],
    published: datetime,
    to: list[str] | None = None,
) -> dict[str, Any]:
    """``Delete`` of an object, which it replaces by a ``Tombstone``; public unless ``to`` says
    otherwise (a non-public post's deletion goes to its own audience, not into the outbox)."""
    tombstone = {"id": object_id, "type": "Tombstone"}
    return _envelope(
        id=activity_id,
        type="Delete",
        actor=actor_id,
        object=tombstone,
        to=to if to is not None else [PUBLIC],
        cc=cc,
        published=published,
    )


def wrap_announce(
    activity_id: str, actor_id: str, object_id: str, *, cc: list[str], published: datetime
) -> dict[str, Any]:
    """``Announce`` (a boost) of an object by reference: receivers fetch it from its origin."""
    return _envelope(
        id=activity_id,
        type="Announce",
        actor=actor_id,
        object=object_id,
        to=[PUBLIC],
        cc=cc,
        published=published,
    )


# --- actors: a profile changed, an account deleted -------------------------------------------


def update_actor(activity_id: str, actor_doc: dict[str, Any]) -> dict[str, Any]:
    """``Update`` of an actor's own document, public and sent to its followers."""
    obj = {k: v for k, v in actor_doc.items() if k != "@context"}
    return _envelope(
        context=actor_doc["@context"],
        id=activity_id,
        type="Update",
        actor=actor_doc["id"],
        object=obj,
        to=[PUBLIC],
        cc=[actor_doc["followers"]],
    )


def delete_actor(activity_id: str, actor_id: str) -> dict[str, Any]:
    """``Delete`` of an actor by itself (its URL then answers 410 with a ``Tombstone``)."""
    return _envelope(id=activity_id, type="Delete", actor=actor_id, object=actor_id, to=[PUBLIC])


# --- follows ---------------------------------------------------------------------------------


def _follow(follow_id: str, follower_id: str, target_id: str) -> dict[str, Any]:
    """A Follow as it is embedded in its answer or its undoing (no context, no audience)."""
    return {"id": follow_id, "type": "Follow", "actor": follower_id, "object": target_id}


def follow_to_as(follow_id: str, follower_id: str, target_id: str) -> dict[str, Any]:
    return _envelope(
        id=follow_id, type="Follow", actor=follower_id, object=target_id, to=[target_id]
    )


def accept_follow(
    activity_id: str, actor_id: str, follow_id: str, follower_id: str
) -> dict[str, Any]:
    """``Accept`` embedding the Follow, as Mastodon does (some peers need the embedded form)."""
    follow = _follow(follow_id, follower_id, actor_id)
    return _envelope(id=activity_id, type="Accept", actor=actor_id, object=follow, to=[follower_id])


def reject_follow(
    activity_id: str, actor_id: str, follow_id: str, follower_id: str
) -> dict[str, Any]:
    follow = _follow(follow_id, follower_id, actor_id)
    return _envelope(id=activity_id, type="Reject", actor=actor_id, object=follow, to=[follower_id])


def undo_follow(
    activity_id: str, follower_id: str, follow_id: str, target_id: str
) -> dict[str, Any]:
    follow = _follow(follow_id, follower_id, target_id)
    return _envelope(id=activity_id, type="Undo", actor=follower_id, object=follow, to=[target_id])


def with_object(activity: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """The same activity embedding a newer version of its object (an outbox's ``Create`` kept
    current); the activity keeps its own id, date and ``@context``."""
    if first_id(activity.get("object")) != doc.get("id"):
        raise ValueError(f"{activity.get('id')} is not about {doc.get('id')}")
    return {**activity, "object": {k: v for k, v in doc.items() if k != "@context"}}


def language_first(activity: dict[str, Any]) -> dict[str, Any]:
    """The activity with its object's ``contentMap`` back in the order we wrote it: the
    language of ``content`` first. Mastodon takes the first key as the post's language, and
    PostgreSQL's ``jsonb``, where payloads wait for delivery, sorts keys (``en`` before ``fr``).
    """

    def ordered(doc: dict[str, Any]) -> dict[str, Any]:
        texts, content = doc.get("contentMap"), doc.get("content")
        if not isinstance(texts, dict) or len(texts) < 2:
            return doc
        own = next((lang for lang, text in texts.items() if text == content), None)
        return doc if own is None else {**doc, "contentMap": {own: texts[own], **texts}}

    obj = activity.get("object")
    return {**activity, "object": ordered(obj)} if isinstance(obj, dict) else ordered(activity)
