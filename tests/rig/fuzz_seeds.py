"""What the inbox fuzzing starts from: payloads captured from real servers (``tests/fixtures``),
our pinned offers and envelopes (``tests/expected``), booking requests and a direct message,
each moved onto the fuzzing world's remote actor zoe (her host, her id as the actor) and aimed
at something the world keeps, so that mutations explore from paths that do the work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BASE = "https://coop.test"
AS2 = "https://www.w3.org/ns/activitystreams"
PUBLIC = f"{AS2}#Public"
CAPTURES = [
    "mobilizon-captures/mastodon-follow-activity.json",
    "mobilizon-captures/mastodon-accept-activity.json",
    "mobilizon-captures/mastodon-reject-activity.json",
    "mobilizon-captures/mastodon-unfollow-activity.json",
    "mobilizon-captures/mastodon-post-activity.json",
    "mobilizon-captures/mastodon-post-activity-private.json",
    "mobilizon-captures/mastodon-delete.json",
    "mobilizon-captures/mastodon-delete-user.json",
    "mobilizon-captures/mastodon-update.json",
    "mobilizon-captures/mastodon-announce.json",
    "mobilizon-captures/mastodon-undo-announce.json",
    "mobilizon-captures/mastodon-like.json",
    "mobilizon-captures/mobilizon-join-activity.json",
    "mobilizon-captures/gancio-event-activity.json",
    "mobilizon-captures/mobilizon-post-activity.json",
    "gotosocial-captures/samplenote.json",
]


def _rehosted(doc: dict[str, Any], zoe: str) -> dict[str, Any]:
    """A captured activity as if zoe had sent it: its actor is zoe, its host hers."""
    actor = doc.get("actor")
    actor = actor if isinstance(actor, str) else str((actor or {}).get("id", ""))
    origin = "/".join(actor.split("/")[:3])
    text = json.dumps(doc).replace(actor, zoe).replace(origin, "https://remote.example")
    moved: dict[str, Any] = json.loads(text)
    return moved


def _offer_doc(kind: str, zoe: str) -> dict[str, Any]:
    text = (ROOT / "expected" / f"offer_{kind}.json").read_text()
    doc: dict[str, Any] = json.loads(
        text.replace("https://velos.example", "https://remote.example")
    )
    doc.update(attributedTo=zoe, startTime="2099-12-01T07:00:00Z")
    if "endTime" in doc:
        doc["endTime"] = "2099-12-08T10:00:00Z"
    for key in ("pickup", "dropoff"):
        doc.get(key, {}).pop("startTime", None)
        doc.get(key, {}).pop("endTime", None)
    return doc


def inbox_seeds(zoe: str, pending_follow: str, ride: str, stay: str) -> dict[str, Any]:
    """Real activities from ``zoe``, each aimed at something the fuzzing world keeps: its coop,
    the follow of zoe waiting for her answer (``pending_follow``), alice's ride and stay."""
    seeds: dict[str, Any] = {}
    for name in CAPTURES:
        seeds[name] = _rehosted(json.loads((ROOT / "fixtures" / name).read_text()), zoe)
    for key in ("mobilizon-captures/mastodon-follow-activity.json",):
        seeds[key]["object"] = f"{BASE}/c/velos"
    for name in ("mastodon-accept-activity", "mastodon-reject-activity"):
        seeds[f"mobilizon-captures/{name}.json"]["object"] = pending_follow
    undo = seeds["mobilizon-captures/mastodon-unfollow-activity.json"]
    undo["object"] = {
        "id": f"{zoe}/follows/0",
        "type": "Follow",
        "actor": zoe,
        "object": f"{BASE}/c/velos",
    }
    envelopes = json.loads((ROOT / "expected" / "envelopes.json").read_text())
    for name, doc in envelopes.items():
        if isinstance(doc, dict) and "actor" in doc:
            seeds[f"envelope {name}"] = {**_rehosted(doc, zoe), "actor": zoe}
    for kind in ("ride", "delivery_job", "stay"):
        offer = _offer_doc(kind, zoe)
        for verb in ("Create", "Update"):
            seeds[f"{verb} {kind}"] = {
                "@context": AS2,
                "type": verb,
                "actor": zoe,
                "to": [PUBLIC],
                "cc": [f"{BASE}/c/velos"],
                "object": offer,
            }
    seeds["Delete ride"] = {"type": "Delete", "actor": zoe, "object": _offer_doc("ride", zoe)["id"]}
    for name, offer, quantity in (("ride", ride, "1"), ("stay", stay, "2")):
        seeds[f"booking request {name}"] = _booking_request(zoe, offer, quantity)
    seeds["direct message"] = {
        "type": "Create",
        "actor": zoe,
        "to": [f"{BASE}/u/alice"],
        "object": {
            "type": "Note",
            "attributedTo": zoe,
            "to": [f"{BASE}/u/alice"],
            "content": "<p>@alice une place ?</p>",
            "inReplyTo": ride,
        },
    }
    return seeds


def _booking_request(zoe: str, offer: str, quantity: str) -> dict[str, Any]:
    vf = {
        "vf": "https://w3id.org/valueflows/ont/vf#",
        "om2": "http://www.ontology-of-units-of-measure.org/resource/om-2/",
        "Agreement": "vf:Agreement",
        "stipulates": "vf:stipulates",
        "Commitment": "vf:Commitment",
        "satisfies": "vf:satisfies",
        "resourceQuantity": "vf:resourceQuantity",
        "hasUnit": "om2:hasUnit",
        "hasNumericalValue": "om2:hasNumericalValue",
    }
    return {
        "@context": [AS2, vf],
        "type": "Offer",
        "actor": zoe,
        "to": f"{BASE}/u/alice",
        "object": {
            "type": "Agreement",
            "startTime": "2099-12-01T14:00:00Z",
            "endTime": "2099-12-03T11:00:00Z",
            "stipulates": {
                "type": "Commitment",
                "satisfies": f"{offer}#primary",
                "resourceQuantity": {"hasUnit": "one", "hasNumericalValue": quantity},
            },
        },
    }
