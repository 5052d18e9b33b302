"""The privacy check of the booking tests across instances: private details (an exact address,
a contact, a meeting point) travel only in activities addressed to a confirmed party alone.

What each instance sent is read from its own database, the record delivery works from: the
``activity`` table holds every payload ``publish`` queued (the worker posts it byte for byte) and
``delivery`` the inboxes it went to; what each received is its ``inbox_item`` table, as it
arrived (a ``Create`` in the outbox is later rewritten with the offer as it is now: the copy
received keeps what was sent). Beside these, what the instances serve to anyone: every local
offer's document, every sender's outbox, and the remote offers each stored.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from tests.rig.instances import AS2, Instance

AUDIENCE = ("to", "cc", "bto", "bcc", "audience")
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@dataclass(frozen=True)
class Secret:
    """A private string, and the only actors (confirmed parties) allowed to receive it."""

    text: str
    parties: frozenset[str]

    @classmethod
    def of(cls, text: str, *parties: str) -> Secret:
        return cls(text, frozenset(parties))


@dataclass(frozen=True)
class Payload:
    """One activity sent (with the inboxes it was queued for) or received, by one instance."""

    instance: str
    way: str
    doc: dict[str, Any]
    inboxes: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        raw = json.dumps(self.doc, ensure_ascii=False)
        return raw + "\n" + html.unescape(raw)

    def describe(self) -> str:
        return f"{self.doc.get('type')} {self.doc.get('id')} ({self.way} by {self.instance})"


def loaded(value: Any) -> dict[str, Any]:
    """A JSON column as read by aiosqlite (text) or asyncpg (text or already decoded)."""
    found = json.loads(value) if isinstance(value, str | bytes) else value
    return found if isinstance(found, dict) else {}


def _ids(value: Any) -> set[str]:
    if value is None:
        return set()
    if isinstance(value, str):
        return {value}
    if isinstance(value, dict):
        return {str(value.get("id") or value.get("href") or "")}
    if isinstance(value, list):
        return set().union(*(_ids(v) for v in value)) if value else set()
    return {str(value)}


def audience(doc: dict[str, Any]) -> set[str]:
    """Everyone an activity (and the object it carries) is addressed to."""
    found: set[str] = set()
    for part in (doc, doc.get("object")):
        if isinstance(part, dict):
            for key in AUDIENCE:
                found |= _ids(part.get(key))
    return found


async def recorded(instance: Instance) -> list[Payload]:
    """Every activity the instance sent and received so far."""
    inboxes: dict[int, list[str]] = {}
    for activity_id, inbox in await instance.query("SELECT activity_id, inbox FROM delivery"):
        inboxes.setdefault(int(activity_id), []).append(str(inbox))
    sent = [
        Payload(instance.name, "sent", loaded(doc), tuple(sorted(inboxes.get(int(i), []))))
        for i, doc in await instance.query("SELECT id, payload FROM activity")
    ]
    received = [
        Payload(instance.name, "received", loaded(doc))
        for (doc,) in await instance.query("SELECT payload FROM inbox_item")
    ]
    return sent + received


async def _served(instance: Instance, senders: Iterable[str]) -> list[tuple[str, str]]:
    """(what, text) of every local offer's document and the outboxes of local senders."""
    out: list[tuple[str, str]] = []
    async with httpx.AsyncClient(headers={"Accept": AS2}) as client:
        for (ap_id,) in await instance.query(
            "SELECT ap_id FROM offer WHERE local_uuid IS NOT NULL"
        ):
            r = await client.get(str(ap_id))
            out.append((f"{ap_id} served by {instance.name}", r.text))
        for actor in sorted(a for a in senders if a.startswith(instance.base_url + "/")):
            outbox = (await client.get(actor)).json().get("outbox")
            if outbox:
                items = await instance.collection_items(outbox.removeprefix(instance.base_url))
                out.append((f"{outbox} served by {instance.name}", json.dumps(items)))
    for ap_id, document in await instance.query(
        "SELECT ap_id, document FROM offer WHERE local_uuid IS NULL"
    ):
        text = json.dumps(loaded(document), ensure_ascii=False)
        out.append((f"copy of {ap_id} stored by {instance.name}", text))
    return out


def _host(uri: str) -> str:
    return urlsplit(uri).netloc


def problems(payloads: list[Payload], secrets: Iterable[Secret]) -> list[str]:
    """Every way the payloads break the rule: a secret in an activity not addressed to one
    of its confirmed parties alone, or queued for another host's inbox."""
    found: list[str] = []
    for secret in secrets:
        for payload in (p for p in payloads if secret.text in p.text):
            to = audience(payload.doc)
            if len(to) != 1 or not to <= secret.parties:
                found.append(f"{secret.text!r} in {payload.describe()} addressed to {sorted(to)}")
                continue
            elsewhere = [i for i in payload.inboxes if _host(i) != _host(next(iter(to)))]
            if elsewhere:
                found.append(f"{secret.text!r} in {payload.describe()} queued for {elsewhere}")
    return found


async def assert_private(instances: Iterable[Instance], secrets: Iterable[Secret]) -> list[Payload]:
    """Check every payload the instances sent and received, and what they serve, against
    ``secrets``; return the payloads that carried one (each secret must have travelled at least
    once to a confirmed party: a check that saw nothing proves nothing)."""
    secrets = list(secrets)
    instances = list(instances)
    payloads = [p for i in instances for p in await recorded(i)]
    assert len({p.way for p in payloads}) == 2, "no payload recorded"
    errors = problems(payloads, secrets)
    senders = {str(p.doc.get("actor")) for p in payloads if p.way == "sent"}
    for instance in instances:
        for what, text in await _served(instance, senders):
            errors += [f"{s.text!r} in {what}" for s in secrets if s.text in text]
    carrying = [p for p in payloads if any(s.text in p.text for s in secrets)]
    for secret in secrets:
        if not [p for p in carrying if secret.text in p.text and p.way == "received"]:
            errors.append(f"{secret.text!r} never reached a confirmed party")
    more = f"\n… and {len(errors) - 20} more" if len(errors) > 20 else ""
    assert not errors, "private details leaked:\n" + "\n".join(errors[:20]) + more
    return carrying
