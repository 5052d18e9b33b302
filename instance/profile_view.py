"""The profile forms of the settings page: what each shows, and what a posted one says.

A member sees the form of their own profile, and their coop's when they may edit it
(``federation.services.profiles.may_edit``). A refused form is shown again as it was sent (the
texts; files cannot be), with what was wrong.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from starlette.datastructures import FormData, UploadFile

from activitypub.profile import bio_html, field_value_html
from activitypub.urls import ACTOR_PREFIX, path_for
from federation.services.profiles import MAX_FIELDS, editable_actors
from instance.config import MediaSettings
from instance.media import find_media, media_path
from models.actors import ActorKind, LocalActor

Submitted = dict[str, Any]
"""A posted profile form: ``username``, ``name``, ``summary``, ``fields`` [(name, value)],
``remove_avatar``, ``remove_header``, and ``error`` once refused."""


def _text(form: FormData, key: str) -> str:
    value = form.get(key)
    return value.strip() if isinstance(value, str) else ""


def read_profile(form: FormData, username: str) -> Submitted:
    """The texts and choices of a posted profile form (the files are read apart)."""
    fields = [
        (_text(form, f"field_name_{i}"), _text(form, f"field_value_{i}")) for i in range(MAX_FIELDS)
    ]
    return {
        "username": username,
        "name": _text(form, "display_name"),
        "summary": _text(form, "bio"),
        "fields": fields,
        "remove_avatar": form.get("remove_avatar") == "1",
        "remove_header": form.get("remove_header") == "1",
    }


async def upload(form: FormData, key: str) -> bytes | None:
    """The bytes of the file sent as ``key``; None when the input was left empty."""
    value = form.get(key)
    if not isinstance(value, UploadFile) or not value.filename:
        return None
    data = await value.read()
    return data or None


def megabytes(settings: MediaSettings) -> str:
    """``8`` or ``2.5``: the upload limit as the forms say it."""
    size = settings.max_upload_bytes / 1_048_576
    return f"{size:.0f}" if size == int(size) else f"{size:.1f}"


def actor_path(actor: LocalActor) -> str:
    return path_for("actor", prefix=ACTOR_PREFIX[ActorKind(actor.kind)], username=actor.username)


async def profile_forms(member: LocalActor, failed: Submitted | None = None) -> list[Submitted]:
    """One form per profile ``member`` may edit, with its current values (or the refused
    ones, for the form that was refused)."""
    actors = await editable_actors(member)
    media = await find_media([u for a in actors for u in (a.avatar_uuid, a.header_uuid)])
    forms = []
    for actor in actors:
        avatar = media.get(actor.avatar_uuid or "")
        header = media.get(actor.header_uuid or "")
        stored = [(f.get("name", ""), f.get("value", "")) for f in actor.profile_fields or []]
        shown: Submitted = {
            "username": actor.username,
            "name": actor.name,
            "summary": actor.summary,
            "fields": stored,
            "error": None,
        }
        if failed is not None and failed["username"] == actor.username:
            shown = {**shown, **failed}
        rows = list(shown["fields"])[:MAX_FIELDS]
        rows += [("", "")] * (MAX_FIELDS - len(rows))
        shown["fields"] = [{"name": n, "value": v} for n, v in rows]
        shown["coop"] = actor.kind == ActorKind.COOP
        shown["page"] = actor_path(actor)
        shown["avatar"] = media_path(avatar) if avatar else None
        shown["header"] = media_path(header) if header else None
        forms.append(shown)
    return forms


def profile_view(actor: LocalActor) -> dict[str, Any]:
    """The bio and fields as an actor's page shows them: the HTML the actor document sends,
    built from escaped text only (``activitypub.profile``), hence safe to insert."""
    fields = [
        {"name": f.get("name", ""), "value": Markup(field_value_html(f.get("value", "")))}
        for f in actor.profile_fields or []
    ]
    return {"bio": Markup(bio_html(actor.summary)), "fields": fields}
