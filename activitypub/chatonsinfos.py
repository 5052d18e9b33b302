"""ChatonsInfos: reading a host's self-description and publishing our own.

CHATONS members describe their organisation and each of their services in Java ``.properties``
files served under ``/.well-known/chatonsinfos/`` and crawled by stats.chatons.org (the
StatoolInfos tool by Christian Momon). The directory reads them to list a candidate's
organisation, location, CHATONS membership and registration state, and every coopub instance
publishes its own so that it shows up in the CHATONS statistics without hand-written files.

Everything here is pure (no network, no database): the directory fetches the bytes, calls
:func:`decode_properties` and :func:`parse_properties`, then :func:`chatons_info`.

Key names follow the ChatonsInfos format:

* ``file.class`` / ``file.protocol`` / ``file.datetime`` / ``file.generator``, the primitive
  types (DATE, DATETIME, DECIMAL_DEGREE with ``.`` or ``,``) and the sections:
  https://forge.devinsy.fr/statool/statoolinfos/raw/branch/main/GENERAL.md
* ``organization.*`` (``memberof.chatons.startdate|enddate|status.level``,
  ``geolocation.latitude|longitude|address``, ``country.name|code``, ``status.level``
  ACTIVE/IDLE/AWAY), ``service.registration`` None/Free/Member/Client,
  ``service.registration.load`` OPEN/FULL, ``software.*`` and ``subs.*``: as written by the
  generator packaged for YunoHost (https://github.com/YunoHost-Apps/chatonsinfos_ynh,
  ``conf/config_panel.toml.j2`` and ``scripts/_common.sh``), whose upstream models are
  https://framagit.org/chatons/chatonsinfos (``MODELES/``).
* The files are ``java.util.Properties`` text: the codec is ``activitypub/properties.py``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal
from urllib.parse import urlsplit

from activitypub.properties import LINE_ENDS, WHITESPACE

PROTOCOL = "ChatonsInfos-0.5"
GENERATOR = "coopub"

Registration = Literal["open", "closed", "member", "client"]

# Java's white space inside a line (Properties.load): space, tab, form feed. Not Python's
# str.isspace(), which also matches \v, \x1c..\x1f, U+0085, U+2028 and would split lines Java
# keeps whole.
# What the directory shows comes from strangers: keep it bounded.
_MAX_NAME = 200
_MAX_TEXT = 2000
_MAX_URL = 2048
_MAX_SUBS = 200


# --- What the directory lists ------------------------------------------------------------------


@dataclass(frozen=True)
class ChatonsInfo:
    """What the directory shows about a host, from its organisation and service files.

    Every field is optional: a host may publish only some keys, or only one of the files.
    ``registration`` is ``open`` (self-service sign-up, or no account needed), ``member`` (for
    members only), ``client`` (tied to a commercial relation), ``closed`` (the service takes no
    new accounts for now), or None when the host does not say.
    """

    organization_name: str | None = None
    organization_description: str | None = None
    organization_website: str | None = None
    organization_logo: str | None = None
    organization_status: str | None = None
    country_code: str | None = None
    country_name: str | None = None
    city: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    chatons_member: bool = False
    chatons_member_since: str | None = None
    service_name: str | None = None
    service_description: str | None = None
    service_website: str | None = None
    service_status: str | None = None
    registration: Registration | None = None
    software_name: str | None = None
    software_version: str | None = None
    software_licence: str | None = None
    software_source_url: str | None = None
    subs: tuple[str, ...] = ()

    @property
    def open_registrations(self) -> bool | None:
        """The directory's "open registrations" filter: None when the host does not say."""
        return None if self.registration is None else self.registration == "open"


def chatons_info(
    organization: Mapping[str, str] | None,
    service: Mapping[str, str] | None,
    *,
    today: date | None = None,
) -> ChatonsInfo:
    """Build the listing from parsed files; missing files and keys just leave fields empty.

    Values are trimmed and length-capped, URLs must be http(s) (they become links on the
    directory page), coordinates must be finite and in range, and the country code must be two
    letters: anything else is dropped rather than rejected, so one bad key does not hide the
    rest. ``today`` decides whether a CHATONS membership has ended (default: today, UTC).
    """
    org: Mapping[str, str] = organization or {}
    svc: Mapping[str, str] = service or {}
    today = today or datetime.now(UTC).date()
    member, since = _chatons_membership(org, today)
    return ChatonsInfo(
        organization_name=_text(org.get("organization.name"), _MAX_NAME),
        organization_description=_text(org.get("organization.description"), _MAX_TEXT),
        organization_website=_url(org.get("organization.website")),
        organization_logo=_url(org.get("organization.logo")),
        organization_status=_level(org.get("organization.status.level")),
        country_code=country_code_of(org.get("organization.country.code")),
        country_name=_text(org.get("organization.country.name"), _MAX_NAME),
        city=_text(
            org.get("organization.geolocation.city") or org.get("organization.geolocation.address"),
            _MAX_NAME,
        ),
        latitude=_degrees(org.get("organization.geolocation.latitude"), 90.0),
        longitude=_degrees(org.get("organization.geolocation.longitude"), 180.0),
        chatons_member=member,
        chatons_member_since=since,
        service_name=_text(svc.get("service.name"), _MAX_NAME),
        service_description=_text(svc.get("service.description"), _MAX_TEXT),
        service_website=_url(svc.get("service.website")),
        service_status=_level(svc.get("service.status.level")),
        registration=_registration(
            svc.get("service.registration"), svc.get("service.registration.load")
        ),
        software_name=_text(svc.get("software.name"), _MAX_NAME),
        software_version=_text(svc.get("software.version"), _MAX_NAME),
        software_licence=_text(svc.get("software.license.name"), _MAX_NAME),
        software_source_url=_url(svc.get("software.source.url")),
        subs=_subs(org, svc),
    )


_MEMBEROF = "organization.memberof.chatons."


def _chatons_membership(org: Mapping[str, str], today: date) -> tuple[bool, str | None]:
    """Is the organisation a CHATONS member today, and since when?

    The format records membership under ``organization.memberof.chatons.*``: ``startdate``
    (joined), ``enddate`` (left) and ``status.level`` (ACTIVE, IDLE or AWAY). A member has a
    start date or an ACTIVE/IDLE status, no end date before today, no start date after today,
    and is not AWAY. An end date we cannot read counts as ended: it was written to say so.
    """
    start_raw = _text(org.get(_MEMBEROF + "startdate"), _MAX_NAME)
    end_raw = _text(org.get(_MEMBEROF + "enddate"), _MAX_NAME)
    level = _level(org.get(_MEMBEROF + "status.level"))
    start = parse_date(start_raw)
    since = start.isoformat() if start else None
    if level == "AWAY":
        return False, since
    if end_raw is not None:
        end = parse_date(end_raw)
        if end is None or end < today:
            return False, since
    if start is not None and start > today:
        return False, since
    return (start_raw is not None or level in {"ACTIVE", "IDLE"}), since


def _registration(kind: str | None, load: str | None) -> Registration | None:
    """Normalise ``service.registration`` (None/Free/Member/Client) and its ``.load``.

    A FULL load closes registration whatever its kind. The kind may list several values
    (``Free;Member``); the most open one wins. ``None`` means no account is needed, which is
    open to anyone.
    """
    if (load or "").strip().upper() == "FULL":
        return "closed"
    kinds = {part.strip().lower() for part in re.split(r"[;,]", kind or "") if part.strip()}
    if kinds & {"none", "free"}:
        return "open"
    if "member" in kinds:
        return "member"
    if "client" in kinds:
        return "client"
    return None


def _subs(*files: Mapping[str, str]) -> tuple[str, ...]:
    """The sub-file URLs (``subs.<name> = <url>``), in key order, deduplicated, http(s) only."""
    seen: dict[str, None] = {}
    for props in files:
        for key in sorted(props):
            if key.startswith("subs.") and (url := _url(props[key])) is not None:
                seen.setdefault(url, None)
    return tuple(seen)[:_MAX_SUBS]


def _text(value: str | None, limit: int) -> str | None:
    if value is None:
        return None
    value = value.strip()
    return value[:limit] if value else None


def _url(value: str | None) -> str | None:
    """An absolute http(s) URL or None; also strips the quotes some generators put around it
    (the YunoHost package writes ``subs.app = 'https://…'``)."""
    text = _text(value, _MAX_URL + 2)
    if text is None:
        return None
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        text = text[1:-1].strip()
    if len(text) > _MAX_URL or any(ch in WHITESPACE or ch in LINE_ENDS or ch < " " for ch in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return None
    return text


def _level(value: str | None) -> str | None:
    text = _text(value, 32)
    return text.upper() if text else None


def country_code_of(value: str | None) -> str | None:
    text = _text(value, 8)
    if text is None or not re.fullmatch(r"[A-Za-z]{2}", text):
        return None
    return text.upper()


def _degrees(value: str | None, bound: float) -> float | None:
    """A DECIMAL_DEGREE (``-12,3456`` or ``-12.3456``) within [-bound, bound], else None."""
    text = _text(value, 32)
    if text is None or not re.fullmatch(r"[+-]?\d+(?:[.,]\d+)?", text):
        return None
    number = float(text.replace(",", "."))
    if not math.isfinite(number) or abs(number) > bound:
        return None
    return number


def parse_date(value: str | None) -> date | None:
    """A DATE as the format defines it (ISO, ``2020-07-06``), a DATETIME's date part, or the
    French ``06/07/2020`` some hand-written files use."""
    if value is None:
        return None
    if match := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?", value):
        year, month, day = match.groups()
    elif match := re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", value):
        day, month, year = match.groups()
    else:
        return None
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None
