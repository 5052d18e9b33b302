"""An offer as a post people read: the HTML ``content`` Mastodon and GoToSocial show, in French
and English, and the hashtags of its kind and places.

Those servers show the text and nothing else of our terms, so the text says everything a
reader needs: what, where, when, the price, the seats or guests, each kind's details, the
status (a cancelled or full offer must not read as available) and a link. No ``name`` and no
``summary`` go with it: both become a content warning there. Numbers, dates and prices are
formatted by Babel for the language. The street addresses never appear (``describe`` leaves
them out); a stay's place is the public, approximate one.
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime, get_day_names
from babel.lists import format_list
from babel.numbers import format_currency
from babel.units import format_unit

from activitypub.catalogue import SUPPORTED
from activitypub.offer_model import describe
from activitypub.offer_schema import (
    WEEKDAYS,
    DeliveryDetails,
    Details,
    Place,
    RideDetails,
    Schedule,
    StayDetails,
    details_of,
    zone,
)
from activitypub.offer_words import KIND_TAGS, STATUS_TEXT, VEHICLES, words
from activitypub.urls import path_for
from models.offers import Offer, OfferKind, OfferStatus, Purpose

__all__ = ["STATUS_TEXT", "Hashtag", "OfferPost", "offer_content_html", "offer_post", "place_tag"]

LANGUAGES = ("fr", "en")
"""The languages every post is written in (``contentMap``), the offer's own first."""
WHEN = "EEE d MMM y, HH:mm"
HOUR = "HH:mm"
MAX_TAG = 50


@dataclass(frozen=True)
class Hashtag:
    name: str  # without the "#"
    href: str

    def html(self) -> str:
        """As Mastodon renders a hashtag in a post."""
        return (
            f'<a href="{html.escape(self.href)}" class="mention hashtag" rel="tag">'
            f"#<span>{html.escape(self.name)}</span></a>"
        )

    def tag(self) -> dict[str, str]:
        return {"type": "Hashtag", "href": self.href, "name": f"#{self.name}"}


@dataclass(frozen=True)
class OfferPost:
    content: str
    content_map: dict[str, str]  # the offer's language first
    tags: list[dict[str, str]]


# --- hashtags ---------------------------------------------------------------------------------


def place_tag(place: str) -> tuple[str, str] | None:
    """The hashtag of a place name and the town it was taken from: the last part with a
    letter ("Gare Part-Dieu, Lyon" → Lyon), postcodes dropped, accents folded, words joined in
    CamelCase ("Saint-Étienne" → SaintEtienne); None when nothing usable is left."""
    parts = [p.strip() for p in place.split(",") if any(c.isalpha() for c in p)]
    if not parts:
        return None
    town = " ".join(w for w in parts[-1].split() if not w.isdigit())
    folded = "".join(c for c in unicodedata.normalize("NFKD", town) if not unicodedata.combining(c))
    words = [w for w in re.split(r"[\W_]+", folded) if w]
    name = "".join(w[0].upper() + w[1:] for w in words)
    if not name or len(name) > MAX_TAG or not any(c.isalpha() for c in name):
        return None
    return name, town


def _search(offer: Offer, query: dict[str, str]) -> str:
    """The search page of the offer's own instance, filtered: what a hashtag link opens."""
    origin = urlsplit(offer.ap_id)
    return f"{origin.scheme}://{origin.netloc}{path_for('search', query=query)}"


def kind_tag(offer: Offer, lang: str) -> Hashtag:
    kind = OfferKind(offer.kind)
    return Hashtag(KIND_TAGS[lang][kind], _search(offer, {"kind": kind.value}))


def place_tags(offer: Offer) -> list[Hashtag]:
    """The first and the last place (a ride's origin and destination), each once."""
    found: dict[str, Hashtag] = {}
    for place in (offer.place_name, offer.dest_name):
        tagged = place_tag(place or "")
        if tagged and tagged[0].lower() not in found:
            found[tagged[0].lower()] = Hashtag(tagged[0], _search(offer, {"q": tagged[1]}))
    return list(found.values())


# --- the text ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Writer:
    """Writes one offer's text in one language."""

    offer: Offer
    details: Details
    lang: str
    tz: tzinfo

    @property
    def t(self) -> dict[Any, str]:
        return words(self.lang)

    def moment(self, moment: datetime, pattern: str = WHEN) -> str:
        return format_datetime(moment, pattern, tzinfo=self.tz, locale=self.lang)

    def span(self, start: datetime, end: datetime | None) -> str:
        """``Tue 1 Dec 2026, 08:00–09:00`` on one day, else both moments in full."""
        if end is None:
            return self.moment(start)
        if self.moment(start, "yMMdd") == self.moment(end, "yMMdd"):
            return f"{self.moment(start)}–{self.moment(end, HOUR)}"
        return f"{self.moment(start)} – {self.moment(end)}"

    def zoned(self, start: datetime, end: datetime | None) -> str:
        return f"{self.span(start, end)} ({self.offer.timezone})"

    def window(self, place: Place) -> str:
        """A place and when to be there (a pickup's time window)."""
        if place.after and place.before:
            return f"{place.name}, {self.span(place.after, place.before)}"
        if place.after:
            return f"{place.name}, {self.t['from'].format(v=self.moment(place.after))}"
        if place.before:
            return f"{place.name}, {self.t['until'].format(v=self.moment(place.before))}"
        return place.name

    def price(self, per: str) -> str | None:
        cents = self.offer.price_cents
        if cents is None:
            return None
        amount = (
            self.t["free"]
            if cents == 0
            else format_currency(cents / 100, self.offer.currency, locale=self.lang)
        )
        return self.t["price" if cents == 0 else per].format(p=amount)

    def status(self) -> str | None:
        """The status, when the offer is not simply open (a ride with no seat left is full)."""
        status = OfferStatus(self.offer.status).value
        if (
            status == OfferStatus.OPEN
            and self.offer.kind == OfferKind.RIDE
            and self.offer.purpose == Purpose.OFFER
            and self.offer.quantity_available == 0
        ):
            status = OfferStatus.FULL.value
        return STATUS_TEXT[self.lang].get(status)

    def weekly(self, schedule: Schedule) -> str:
        """The sentence: Every Monday and Thursday at 07:30 (Chaque lundi et jeudi à 07:30),
        with the last day when there is one; the days in the week's order."""
        names = get_day_names("wide", locale=self.lang)
        days = format_list(
            [names[WEEKDAYS.index(d)] for d in WEEKDAYS if d in schedule.weekdays],
            locale=self.lang,
        )
        if schedule.until is None:
            return self.t["weekly"].format(days=days, time=schedule.time)
        until = format_date(schedule.until, "long", locale=self.lang)
        return self.t["weekly_until"].format(days=days, time=schedule.time, until=until)

    def ride(self, ride: RideDetails, available: bool) -> list[str]:
        t, offer = self.t, self.offer
        route = " → ".join(p.name for p in (ride.origin, *ride.waypoints, ride.destination))
        leaving = self.zoned(offer.starts_at, offer.ends_at)
        if ride.flexibility_minutes:
            minutes = format_unit(
                ride.flexibility_minutes, "duration-minute", length="short", locale=self.lang
            )
            leaving += ", " + t["flexibility"].format(v=minutes)
        lines = [t["route"].format(v=route), t["leaving"].format(v=leaving)]
        if ride.schedule:
            lines.append(self.weekly(ride.schedule))
        if offer.purpose == Purpose.REQUEST:
            lines.append(t["seats_wanted"].format(n=ride.seats_total))
        elif available and offer.quantity_available:
            left = (offer.quantity_total or 0) > offer.quantity_available
            lines.append(t["left" if left else "seats"].format(n=offer.quantity_available))
        lines.append(self.price("per_seat") or "")
        return lines

    def delivery(self, job: DeliveryDetails) -> list[str]:
        t = self.t
        lines = [
            t["pickup"].format(v=self.window(job.pickup)),
            t["dropoff"].format(v=self.window(job.dropoff)),
            t["when"].format(v=self.zoned(self.offer.starts_at, self.offer.ends_at)),
        ]
        if job.packages:
            packages = ", ".join(f"{p.quantity} × {p.type}" for p in job.packages)
            lines.append(t["packages"].format(v=packages))
        if job.weight_grams is not None:
            kilos = job.weight_grams >= 1000
            weight = format_unit(
                job.weight_grams / 1000 if kilos else job.weight_grams,
                "mass-kilogram" if kilos else "mass-gram",
                length="short",
                locale=self.lang,
            )
            lines.append(t["weight"].format(v=weight))
        if job.vehicle:
            lines.append(t["vehicle"].format(v=VEHICLES[self.lang][job.vehicle]))
        lines.append(self.price("price") or "")
        return lines

    def stay(self, stay: StayDetails) -> list[str]:
        t, offer = self.t, self.offer
        wanted = offer.purpose == Purpose.REQUEST
        lines = [
            t["where"].format(v=offer.place_name),
            t["dates"].format(v=self.zoned(offer.starts_at, offer.ends_at)),
            t["guests_wanted" if wanted else "guests"].format(n=stay.max_guests),
        ]
        if stay.max_nights:
            lines.append(t["nights"].format(n=stay.max_nights))
        lines.append(self.price("per_night") or "")
        c = stay.conditions

        def yes(flag: bool) -> str:
            return t["yes" if flag else "no"]

        lines.append(
            t["house"].format(pets=yes(c.pets), smoking=yes(c.smoking), step_free=yes(c.step_free))
        )
        if c.text:
            lines.append(t["rules"].format(v=c.text))
        return lines

    def facts(self, available: bool) -> list[str]:
        details = self.details
        if isinstance(details, RideDetails):
            lines = self.ride(details, available)
        elif isinstance(details, DeliveryDetails):
            lines = self.delivery(details)
        else:
            lines = self.stay(details)
        return [line for line in lines if line]

    def return_trip(self) -> str:
        """A link to the way back, when the ride names one (an http(s) URL)."""
        details = self.details
        link = details.return_trip if isinstance(details, RideDetails) else None
        if not link or urlsplit(link).scheme not in ("http", "https"):
            return ""
        anchor = f'<a href="{html.escape(link)}">{html.escape(self.t["return_link"])}</a>'
        return "<br>" + html.escape(self.t["return"]).format(v=anchor)


def _paragraphs(text: str) -> str:
    """Plain text as paragraphs (at blank lines) and line breaks, escaped."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if b.strip()]
    return "".join(
        "<p>" + "<br>".join(html.escape(line) for line in b.split("\n")) + "</p>" for b in blocks
    )


def offer_content_html(offer: Offer, url: str, lang: str | None = None) -> str:
    """The post's HTML in ``lang`` (by default the offer's language; English for a language
    we have no catalogue for)."""
    lang = lang or offer.language
    lang = lang if lang in SUPPORTED else "en"
    tz = zone(offer.timezone) or ZoneInfo("UTC")
    w, esc = _Writer(offer, details_of(describe(offer)), lang, tz), html.escape
    t = w.t
    headline = t[(OfferKind(offer.kind).value, Purpose(offer.purpose).value)]
    parts = [f"<p><strong>{esc(headline)}</strong> · {esc(offer.title)}</p>"]
    status = w.status()
    if status:
        parts.append(f"<p><strong>{esc(status)}</strong> · {esc(t['unavailable'])}</p>")
    facts = "<br>".join(esc(line) for line in w.facts(available=status is None))
    parts.append(f"<p>{facts}{w.return_trip()}</p>")
    parts.append(_paragraphs(offer.description))
    parts.append(f'<p><a href="{esc(url)}">{esc(t["see"])}</a></p>')
    tags = [kind_tag(offer, lang), *place_tags(offer)]
    parts.append("<p>" + " ".join(tag.html() for tag in tags) + "</p>")
    return "".join(parts)


def offer_post(offer: Offer, url: str) -> OfferPost:
    """The text in the offer's language, the ``contentMap`` (French and English, the offer's
    language first: Mastodon takes the first key as the post's language) and the ``tag``s of
    every hashtag either text links."""
    own = offer.language or "und"
    content = offer_content_html(offer, url)
    content_map = {own: content}
    for lang in LANGUAGES:
        if lang not in content_map:
            content_map[lang] = offer_content_html(offer, url, lang)
    kinds = [kind_tag(offer, lang) for lang in (own, *LANGUAGES) if lang in KIND_TAGS]
    tags = {tag.name.lower(): tag for tag in (*kinds, *place_tags(offer))}
    return OfferPost(content, content_map, [tag.tag() for tag in tags.values()])
