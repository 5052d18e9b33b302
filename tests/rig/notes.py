"""A public ``Create{Note}`` by a local actor: the smallest activity worth delivering."""

from __future__ import annotations

from typing import Any

from activitypub.urls import PUBLIC
from activitypub.wire import AS2_CONTEXT
from federation.context import Federation
from models.actors import LocalActor


def create_note(fed: Federation, actor: LocalActor, text: str = "Vélo à prêter") -> dict[str, Any]:
    activity_id = fed.urls.new_activity_id()
    return {
        "@context": AS2_CONTEXT,
        "id": activity_id,
        "type": "Create",
        "actor": fed.urls.actor(actor),
        "object": {
            "id": activity_id + "/note",
            "type": "Note",
            "attributedTo": fed.urls.actor(actor),
            "content": text,
            "to": [PUBLIC],
        },
        "to": [PUBLIC],
    }
