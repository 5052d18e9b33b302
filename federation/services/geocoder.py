"""An external geocoder, when the admin configures one (``[geocoder]``): Photon, Nominatim or
the French Base Adresse Nationale, through geopy. Off by default: places are then found by the
offline gazetteer alone (``places.py``).

geopy builds the request and reads the provider's answer; the HTTP goes through ``HttpxAdapter``,
asyncio all the way (the event loop is never blocked), with the configured timeout, no
redirects and at most ``MAX_ANSWER_BYTES`` read. The URL is the admin's choice and trusted as
such (a Photon of one's own on the local network is fine), unlike the addresses that remote
documents name (``federation/http.py``). A geocoder that fails or is slow costs a log line and
the gazetteer's answer, never an error page.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from typing import Any, Literal
from urllib.parse import urlsplit

import httpx
from geopy.adapters import AdapterHTTPError, BaseAsyncAdapter
from geopy.exc import GeocoderParseError, GeocoderTimedOut, GeocoderUnavailable, GeopyError
from geopy.geocoders import BANFrance, Nominatim, Photon
from pydantic import Field, field_validator

from activitypub.offers import distance_km
from federation.services.places import LIMIT, Lookup, Place, find_places
from federation.settings import Section

log = logging.getLogger(__name__)

PUBLIC = {
    "photon": "https://photon.komoot.io",
    "nominatim": "https://nominatim.openstreetmap.org",
    "ban": "https://api-adresse.data.gouv.fr",
}
"""Each provider's public service, used when ``url`` is empty."""
MAX_ANSWER_BYTES = 1_000_000
LANGUAGES: dict[str, tuple[str, ...]] = {"photon": ("de", "en", "fr", "it"), "ban": ()}
"""The answer languages a provider knows (Nominatim takes any; the BAN speaks French)."""
SAME_PLACE_KM = 1.0


class GeocoderSettings(Section):
    """``[geocoder]``: an external service to find places by name (streets, stations…)."""

    provider: Literal["", "photon", "nominatim", "ban"] = ""
    """Empty: none, the bundled gazetteer only."""
    url: str = ""
    """The service's base URL; empty: the provider's public service (``PUBLIC``)."""
    user_agent: str = ""
    """Sent as User-Agent (Nominatim's policy asks for one naming the application); empty:
    coopub's own, with this instance's address."""
    timeout_seconds: float = Field(5.0, gt=0, le=60)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
            raise ValueError("an http(s)://host[:port][/path] URL (or empty)")
        return value.rstrip("/")


class HttpxAdapter(BaseAsyncAdapter):
    """geopy's HTTP through httpx: async, no redirects, no proxies from the environment, the
    answer read up to ``MAX_ANSWER_BYTES``."""

    def __init__(self, *, proxies: Any, ssl_context: Any) -> None:
        super().__init__(proxies=proxies, ssl_context=ssl_context)
        self._client = httpx.AsyncClient(follow_redirects=False, trust_env=False)

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def get_text(
        self,
        url: str,
        *,
        timeout: float,  # noqa: ASYNC109 (geopy's adapter interface)
        headers: dict[str, str],
    ) -> str:
        try:
            async with self._client.stream("GET", url, headers=headers, timeout=timeout) as answer:
                body = b""
                async for chunk in answer.aiter_bytes():
                    body += chunk
                    if len(body) > MAX_ANSWER_BYTES:
                        raise GeocoderParseError(f"answer over {MAX_ANSWER_BYTES} bytes")
                text = body.decode(answer.encoding or "utf-8", errors="replace")
                if answer.status_code >= 400:
                    raise AdapterHTTPError(
                        f"HTTP {answer.status_code}",
                        status_code=answer.status_code,
                        headers=dict(answer.headers),
                        text=text[:500],
                    )
                return text
        except httpx.TimeoutException as exc:
            raise GeocoderTimedOut("timed out") from exc
        except httpx.HTTPError as exc:
            raise GeocoderUnavailable(repr(exc)) from exc

    async def get_json(
        self,
        url: str,
        *,
        timeout: float,  # noqa: ASYNC109 (geopy's adapter interface)
        headers: dict[str, str],
    ) -> Any:
        text = await self.get_text(url, timeout=timeout, headers=headers)
        try:
            return json.loads(text)
        except ValueError as exc:
            raise GeocoderParseError("not JSON") from exc


def _service(settings: GeocoderSettings, user_agent: str) -> Any:
    parts = urlsplit(settings.url or PUBLIC[settings.provider])
    kind = {"photon": Photon, "nominatim": Nominatim, "ban": BANFrance}[settings.provider]
    return kind(
        domain=parts.netloc + parts.path,
        scheme=parts.scheme,
        timeout=settings.timeout_seconds,
        user_agent=settings.user_agent or user_agent,
        adapter_factory=HttpxAdapter,
    )


def _text(value: Any, size: int = 200) -> str:
    return value.strip()[:size] if isinstance(value, str) else ""


def _place(provider: str, address: str, lat: float, lon: float, raw: Any) -> Place | None:
    """A geocoder's result as a candidate, from the fields each provider sends."""
    if not (math.isfinite(lat) and math.isfinite(lon) and abs(lat) <= 90 and abs(lon) <= 180):
        return None
    raw = raw if isinstance(raw, dict) else {}
    props = raw.get("properties") if provider in ("photon", "ban") else raw
    props = props if isinstance(props, dict) else {}
    details = props.get("address")
    details = details if isinstance(details, dict) else {}
    name = _text(props.get("name")) or _text(props.get("street")) or _text(props.get("city"))
    name = name or _text(address.split(",")[0])
    postcode = _text(props.get("postcode") or details.get("postcode"), 12)
    country = _text(props.get("countrycode") or details.get("country_code"), 2).upper()
    area = ""
    if provider == "ban":  # context: "38, Isère, Auvergne-Rhône-Alpes"
        country, area = "FR", _text(_text(props.get("context"), 100).split(",")[0], 3)
    return Place(
        name or "?",
        round(lat, 6),
        round(lon, 6),
        country,
        area,
        (postcode,) if postcode else (),
        source=provider,
        detail=_text(address, 300),
    )


async def geocode(
    settings: GeocoderSettings, text: str, *, user_agent: str, language: str = "", limit: int = 5
) -> list[Place]:
    """The external geocoder's places for ``text``; [] when none is configured, or it fails."""
    if not settings.provider or not text.strip():
        return []
    options: dict[str, Any] = {"exactly_one": False, "limit": limit}
    if language and language in LANGUAGES.get(settings.provider, (language,)):
        options["language"] = language
    if settings.provider == "nominatim":
        options["addressdetails"] = True
    try:
        async with (
            asyncio.timeout(settings.timeout_seconds + 1),
            _service(settings, user_agent) as service,
        ):
            found = await service.geocode(text.strip()[:200], **options) or []
        places = [
            _place(settings.provider, f.address or "", f.latitude, f.longitude, f.raw)
            for f in found
        ]
    except (GeopyError, TimeoutError, LookupError, TypeError, ValueError, AttributeError) as exc:
        # geopy reads the answer with plain indexing: a malformed one raises these
        log.warning("geocoder failed", extra={"provider": settings.provider, "error": repr(exc)})
        return []
    return [p for p in places if p is not None]


def _near(place: Place, others: list[Place]) -> bool:
    return any(
        distance_km(place.latitude, place.longitude, o.latitude, o.longitude) < SAME_PLACE_KM
        for o in others
    )


async def lookup(
    text: str,
    settings: GeocoderSettings,
    *,
    user_agent: str,
    language: str = "",
    limit: int = LIMIT,
) -> Lookup:
    """The places a typed name may mean: the gazetteer's whole matches, then the external
    geocoder's (when configured; the same place once), then the gazetteer's other matches."""
    local = await find_places(text, limit)
    remote = await geocode(settings, text, user_agent=user_agent, language=language)
    if not remote:
        return local
    whole = [] if local.partial else local.places[: local.exact]
    remote = [p for p in remote if not _near(p, whole)]  # the gazetteer's knows its postcodes
    merged = (whole + remote + local.places[len(whole) :])[:limit]
    return Lookup(merged, exact=len(whole), partial=False)
