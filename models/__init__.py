"""Tortoise ORM models. This package knows nothing of HTTP or ActivityPub."""

from models.activities import Activity, InboxItem, InboxState
from models.actors import ActorKind, LocalActor, RemoteActor
from models.delivery import Delivery, DeliveryState, Host
from models.follows import Follow, FollowState
from models.offers import ApiToken, Offer, OfferKind, OfferStatus, Purpose

__all__ = [
    "Activity",
    "ActorKind",
    "ApiToken",
    "Delivery",
    "DeliveryState",
    "Follow",
    "FollowState",
    "Host",
    "InboxItem",
    "InboxState",
    "LocalActor",
    "Offer",
    "OfferKind",
    "OfferStatus",
    "Purpose",
    "RemoteActor",
]
