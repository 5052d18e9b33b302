"""The instance directory: joining one (instance side) and running one (directory side).

A host joins by having its instance actor follow the directory actor. The directory checks the
candidate (NodeInfo 2.1 speaks ActivityPub, the instance actor's key verified the Follow, the
domains match, ChatonsInfos when published), admits it (open mode) or waits for an operator
(manual mode), and then relays the public offers of every admitted instance to all the others
with ``Announce``, so a new instance sees the network's offers without following anyone: those
published after it joined, and (bounded) the open ones published before, both ways.

By concern: ``membership`` (the instance side), ``actor``, ``checks`` and ``admission``,
``relay``, ``listing`` and ``mirrors``, ``upkeep``. The names callers use are importable here.
"""

from __future__ import annotations

from activitypub.nodeinfo import NODEINFO_21
from federation.services.directory.actor import directory_actor, ensure_directory_actor
from federation.services.directory.admission import admit, on_join, reject
from federation.services.directory.checks import check_candidate, passed
from federation.services.directory.listing import listed, listing, listing_document
from federation.services.directory.membership import (
    directory_actor_url,
    join,
    joined_inboxes,
    leave,
    memberships,
    send_earlier_offers,
)
from federation.services.directory.mirrors import merge_mirrors, mirror
from federation.services.directory.relay import (
    Progress,
    admitted_inboxes,
    backfill_entry,
    relay,
    relay_held,
)
from federation.services.directory.upkeep import refresh_entries

__all__ = [
    "NODEINFO_21",
    "Progress",
    "admit",
    "admitted_inboxes",
    "backfill_entry",
    "check_candidate",
    "directory_actor",
    "directory_actor_url",
    "ensure_directory_actor",
    "join",
    "joined_inboxes",
    "leave",
    "listed",
    "listing",
    "listing_document",
    "memberships",
    "merge_mirrors",
    "mirror",
    "on_join",
    "passed",
    "refresh_entries",
    "reject",
    "relay",
    "relay_held",
    "send_earlier_offers",
]
