"""A member's archive as a ZIP file: the JSON-LD documents of ``federation/services/export``,
the image files they uploaded (``media/<file>``, named as their URLs name them), a readable
``summary.html`` in the member's language and a ``README.txt``.

The summary stands alone (no stylesheet, image or script fetched from anywhere). The ZIP is
written in a thread, off the event loop: image files are read from disk there, one at a time.
"""

from __future__ import annotations

import asyncio
import io
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from activitypub.bookings_build import plain_text
from federation.context import Federation
from federation.services.export import Archive, collect
from instance.config import MediaSettings
from instance.forms.labels import BOOKING_STATE_LABELS, KIND_LABELS, STATUS_LABELS
from instance.i18n import SUPPORTED, translations
from instance.media import media_file
from instance.templating import env
from models.actors import LocalActor

log = logging.getLogger(__name__)

MEDIA_DIR = "media/"
SNIPPET = 140
"""Characters of a post shown in the summary."""


@dataclass(frozen=True)
class ExportFile:
    """The archive's bytes and the name to save it under."""

    filename: str
    data: bytes


def archive_name(archive: Archive) -> str:
    stamp = archive.made_at.strftime("%Y%m%d-%H%M%S")
    return f"coopub-{archive.member.username}-{stamp}.zip"


def _day(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d") if moment is not None else ""


def _bookings(archive: Archive) -> list[dict[str, Any]]:
    counts = {d["request"]: len(d["messages"]) for d in archive.bookings}
    rows = []
    for b in archive.booking_rows:
        booker = b.booker_uri == archive.member_uri
        rows.append(
            {
                "title": b.title,
                "booker": booker,
                "other": (b.author_name or b.author_uri)
                if booker
                else (b.booker_name or b.booker_uri),
                "state": BOOKING_STATE_LABELS.get(b.state.value, b.state.value),
                "day": _day(b.happens_at),
                "messages": counts.get(b.ap_id, 0),
            }
        )
    return rows


def summary_context(archive: Archive) -> dict[str, Any]:
    """What ``templates/archive/summary.html`` lists: counts and the main items. It is no
    served page but a file opened from the ZIP, where no CSP applies: it carries its own style
    (``tests/test_security_headers.py`` checks the served templates, at the top level)."""
    member = archive.member
    return {
        "member": member,
        "member_uri": archive.member_uri,
        "coop": archive.coop,
        "made": archive.made_at.strftime("%Y-%m-%d %H:%M UTC"),
        "joined": _day(member.created_at),
        "offers": [
            {
                "title": o.title,
                "url": o.ap_id,
                "kind": KIND_LABELS.get(o.kind.value, o.kind.value),
                "status": STATUS_LABELS.get(o.status.value, o.status.value),
                "day": _day(o.starts_at),
            }
            for o in archive.offers
        ],
        "posts": [
            {"url": p.ap_id, "day": _day(p.published_at), "text": plain_text(p.content, SNIPPET)}
            for p in archive.posts
        ],
        "bookings": _bookings(archive),
        "messages": archive.messages,
        "following": archive.following,
        "followers": archive.followers,
        "likes": archive.likes,
        "boosts": sum(1 for a in archive.outbox if a.get("type") == "Announce"),
        "searches": archive.searches,
        "media": archive.media,
        "media_dir": MEDIA_DIR,
    }


def render_summary(archive: Archive, lang: str) -> str:
    trans = translations(lang if lang in SUPPORTED else "en")
    values = {
        "lang": lang,
        "_": trans.gettext,
        "gettext": trans.gettext,
        "ngettext": trans.ngettext,
        **summary_context(archive),
    }
    return env.get_template("archive/summary.html").render(values)


def readme(archive: Archive, lang: str) -> str:
    _ = translations(lang if lang in SUPPORTED else "en").gettext
    lines = [
        _("Your data on %(domain)s, as of %(date)s.")
        % {
            "domain": archive.member_uri.split("/")[2],
            "date": archive.made_at.strftime("%Y-%m-%d"),
        },
        "",
        _("summary.html: what this archive holds, readable in a browser."),
        _("actor.json: your profile, as other servers read it (the public key only)."),
        _("outbox.json: your offers and posts, as the activities that published them."),
        _("bookings.json: the bookings you made or received, with their messages."),
        _("following.json and followers.json: who you follow and who follows you."),
        _("likes.json: what you favourited."),
        _("alerts.json: your saved searches and the offers they found."),
        _("media/: the images you uploaded, named as in their addresses."),
        "",
        _("The JSON files are JSON-LD (ActivityStreams, ValueFlows and coopub's terms)."),
        _("Members cannot block or mute accounts on coopub: there is no list of blocks."),
        _("Your password and your private key are not in this archive."),
    ]
    return "\n".join(lines) + "\n"


def _write_zip(archive: Archive, texts: dict[str, str], files: list[tuple[str, Path]]) -> bytes:
    """The ZIP, built in a worker thread: the JSON is serialised and the image files are read
    here (one at a time), not on the event loop."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as zipped:
        for name, text in texts.items():
            zipped.writestr(name, text.encode("utf-8"))
        for name, data in archive.json_files().items():
            zipped.writestr(name, data)
        for name, path in files:
            try:
                zipped.write(path, name, compress_type=zipfile.ZIP_STORED)  # already compressed
            except FileNotFoundError:
                log.warning("export: image file missing", extra={"file": str(path)})
    return buffer.getvalue()


async def export_member(
    fed: Federation, member: LocalActor, lang: str, media: MediaSettings
) -> ExportFile:
    """The member's archive (Gone once the account is deleted)."""
    archive = await collect(fed, member)
    texts = {"README.txt": readme(archive, lang), "summary.html": render_summary(archive, lang)}
    files = [(MEDIA_DIR + m.filename, media_file(media, m.filename)) for m in archive.media]
    data = await asyncio.to_thread(_write_zip, archive, texts, files)
    log.info(
        "member data exported",
        extra={"member": member.username, "bytes": len(data), "media": len(files)},
    )
    return ExportFile(archive_name(archive), data)
