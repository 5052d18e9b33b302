"""The privacy check of the booking tests across instances (tests/rig/privacy.py) catches
each way a private detail can leak: a check that cannot fail proves nothing."""

from __future__ import annotations

from typing import Any

from tests.rig.privacy import PUBLIC, Payload, Secret, audience, problems

BOB = "https://b.example/u/bob"
CAROL = "https://b.example/u/carol"
SECRET = Secret.of("7 impasse des Oiseaux", BOB)


def sent(doc: dict[str, Any], *inboxes: str) -> Payload:
    return Payload("a", "sent", doc, inboxes or ("https://b.example/inbox",))


def accept(**audience: Any) -> dict[str, Any]:
    return {
        "type": "Accept",
        "id": "https://a.example/activities/1",
        "result": {"privateDetails": {"address": "7 impasse des Oiseaux, Die"}},
        **audience,
    }


def test_the_confirmed_party_alone_may_receive_it() -> None:
    assert problems([sent(accept(to=[BOB]))], [SECRET]) == []
    assert problems([sent(accept(to=BOB))], [SECRET]) == []
    assert problems([sent({"type": "Update", "to": [PUBLIC], "content": "Livrée"})], [SECRET]) == []


def test_every_other_audience_is_a_leak() -> None:
    for leak in (
        accept(to=[PUBLIC]),
        accept(to=[BOB], cc=[PUBLIC]),
        accept(to=[BOB], cc=["https://a.example/u/alice/followers"]),
        accept(to=[CAROL]),
        accept(to=[BOB], bto=[CAROL]),
        accept(to=[BOB], bcc=[CAROL]),
        accept(to=[BOB], audience=CAROL),
        accept(),  # addressed to no one: not to the confirmed party
    ):
        [found] = problems([sent(leak)], [SECRET])
        assert "7 impasse des Oiseaux" in found


def test_the_object_carried_is_checked_too() -> None:
    note = {"type": "Note", "to": [BOB, CAROL], "content": "<p>7 impasse des Oiseaux</p>"}
    assert audience({"type": "Create", "to": [BOB], "object": note}) == {BOB, CAROL}
    assert problems([sent({"type": "Create", "to": [BOB], "object": note})], [SECRET])


def test_escaped_text_is_found() -> None:
    secret = Secret.of("Chez l'Épicier", BOB)
    doc = {"type": "Create", "to": [PUBLIC], "content": "<p>Chez l&#x27;Épicier</p>"}
    assert problems([sent(doc)], [secret])


def test_queued_for_another_host_is_a_leak() -> None:
    doc = accept(to=[BOB])
    [found] = problems([sent(doc, "https://b.example/inbox", "https://c.example/inbox")], [SECRET])
    assert "c.example" in found
