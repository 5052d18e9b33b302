"""Place names → coordinates, offline: the bundled gazetteer (``data/places.tsv.gz``).

Every French commune (with its postcodes) and the world's cities of over 15,000 inhabitants
(``data/README.md`` says where they come from). A name is matched without regard to case,
accents or punctuation ("saint etienne", "St-Étienne" and "Saint-Étienne" are one), whole or
as the start of a name ("greno"); a postcode ("38000") or its start finds its communes; a
département or country narrows ("Saint-Denis (93)", "Paris 75", "Paris, FR"). The most
populous come first. When nothing is found, the leading words are tried ("Lyon Part-Dieu" →
Lyon), and the result says so (``partial``).

The file is read once, on first use, in a worker thread (``load``), never on the event loop.
"""

from __future__ import annotations

import asyncio
import bisect
import gzip
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

DATA = Path(__file__).parent / "data" / "places.tsv.gz"
LIMIT = 8
MIN_PREFIX = 3
"""A shorter name is matched whole only ("sa" would list thousands of towns)."""
COUNTRY = re.compile(r",\s*([A-Za-z]{2})\s*$")
MAX_TEXT = 200
"""Longer text is cut: a place name is at most 200 characters (``Place.name``)."""
DIGITS = re.compile(r"^\d{2,5}$|^2[ab]$")
SEPARATORS = re.compile(r"[^a-z0-9]+")
SAINTS = re.compile(r"\bste?\b")
LIGATURES = str.maketrans({"œ": "oe", "æ": "ae", "ß": "ss", "ø": "o", "ł": "l", "đ": "d"})


def norm(text: str) -> str:
    """The matching key: lowercase ASCII words, "st"/"ste" read as "saint"/"sainte" (the same
    rule as scripts/build-places). Letters outside the Latin alphabet are dropped."""
    text = text.casefold()
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text.translate(LIGATURES))
        text = text.encode("ascii", "ignore").decode()
    text = SEPARATORS.sub(" ", text).strip()
    if "st" in text:
        text = SAINTS.sub(lambda m: "saint" if m.group() == "st" else "sainte", text)
    return text


class Place(NamedTuple):
    """A candidate position for a name, from the gazetteer or an external geocoder."""

    name: str
    latitude: float
    longitude: float
    country: str = ""
    area: str = ""
    """The French département ("38"), else empty (or the geocoder's region)."""
    postcodes: tuple[str, ...] = ()
    population: int = 0
    approximate: bool = False
    """The position is a neighbouring town's (a small commune GeoNames does not list)."""
    source: str = "gazetteer"
    """``gazetteer``, or the geocoder's provider (``photon``, ``nominatim``, ``ban``)."""
    detail: str = ""
    """What the geocoder said of it (its address), shown to help choose."""

    @property
    def label(self) -> str:
        """ "Grenoble (38)", "Geneva, CH": the name and where it is."""
        if self.area:
            return f"{self.name} ({self.area})"
        return f"{self.name}, {self.country}" if self.country else self.name

    def coordinates(self) -> str:
        """ "45.1787,5.7148": how a form carries the choice."""
        return f"{self.latitude},{self.longitude}"


@dataclass(frozen=True)
class Lookup:
    """What a name found, best first."""

    places: list[Place] = field(default_factory=list)
    exact: int = 0
    """How many of ``places`` (the first ones) match the whole name or postcode."""
    partial: bool = False
    """Found only for the leading words of the name."""

    @property
    def unique(self) -> Place | None:
        """The one place meant, if the name leaves no doubt: one whole match (or one match at
        all), found for the whole name."""
        if self.partial or not self.places:
            return None
        return self.places[0] if self.exact == 1 or len(self.places) == 1 else None


class Gazetteer:
    """The places, with an index of their matching keys (sorted, for prefixes) and postcodes."""

    def __init__(self, rows: list[Place], other_names: list[list[str]]) -> None:
        self.places = rows
        self.by_key: dict[str, list[int]] = {}
        """Every name and other name → places; other names are matched whole only (GeoNames
        gives many, in many languages: as prefixes they would bury the official names)."""
        by_name: dict[str, list[int]] = {}
        by_postcode: dict[str, list[int]] = {}
        for index, (place, others) in enumerate(zip(rows, other_names, strict=True)):
            key = norm(place.name)
            by_name.setdefault(key, []).append(index)
            for other in {key, *(norm(o) for o in others)} - {""}:
                self.by_key.setdefault(other, []).append(index)
            for postcode in place.postcodes:
                by_postcode.setdefault(postcode, []).append(index)
        self.by_name = by_name
        self.names = sorted(by_name)
        self.by_postcode = by_postcode
        self.postcodes = sorted(by_postcode)

    @classmethod
    def read(cls, path: Path = DATA) -> Gazetteer:
        rows: list[Place] = []
        others: list[list[str]] = []
        with gzip.open(path, "rt", encoding="utf-8") as lines:
            for line in lines:
                name, country, area, codes, lat, lon, pop, other, flags = line.rstrip("\n").split(
                    "\t"
                )
                rows.append(
                    Place(
                        name,
                        float(lat),
                        float(lon),
                        country,
                        area,
                        tuple(codes.split()),
                        int(pop),
                        approximate="~" in flags,
                    )
                )
                others.append(other.split("|") if other else [])
        return cls(rows, others)

    def _prefixed(self, keys: list[str], index: dict[str, list[int]], start: str) -> set[int]:
        found: set[int] = set()
        at = bisect.bisect_left(keys, start)
        while at < len(keys) and keys[at].startswith(start):
            found.update(index[keys[at]])
            at += 1
        return found

    def _ranked(self, ids: set[int]) -> list[int]:
        return sorted(ids, key=lambda i: (-self.places[i].population, self.places[i].name, i))

    def _by_name(self, key: str) -> tuple[list[int], list[int]]:
        """(whole matches, other names starting with ``key``), each ranked."""
        exact = set(self.by_key.get(key, ()))
        prefix = self._prefixed(self.names, self.by_name, key) if len(key) >= MIN_PREFIX else set()
        return self._ranked(exact), self._ranked(prefix - exact)

    def _by_postcode(self, digits: str) -> tuple[list[int], list[int]]:
        exact = set(self.by_postcode.get(digits, ()))
        prefix = self._prefixed(self.postcodes, self.by_postcode, digits)
        return self._ranked(exact), self._ranked(prefix - exact)

    def _narrowed(self, ids: list[int], qualifiers: list[str], country: str) -> list[int]:
        def fits(place: Place) -> bool:
            if country and place.country != country:
                return False
            return all(
                q.upper() == place.area or any(p.startswith(q) for p in place.postcodes)
                for q in qualifiers
            )

        return [i for i in ids if fits(self.places[i])]

    def find(self, text: str, limit: int = LIMIT) -> Lookup:
        """The places a typed name (or postcode) designates, best first."""
        country = ""
        if found := COUNTRY.search(text):
            country, text = found.group(1).upper(), text[: found.start()]
        words = norm(text).split()
        qualifiers = [w for w in words if DIGITS.match(w)]
        words = [w for w in words if not DIGITS.match(w)]
        if not words:
            if len(qualifiers) != 1 or not qualifiers[0].isdigit():
                return Lookup()
            exact, prefix = self._by_postcode(qualifiers[0])
            return self._lookup(self._narrowed(exact, [], country), prefix, limit)
        for end in range(len(words), 0, -1):
            exact, prefix = self._by_name(" ".join(words[:end]))
            exact = self._narrowed(exact, qualifiers, country)
            prefix = self._narrowed(prefix, qualifiers, country)
            if end < len(words):  # a leading part: only whole names, then other names
                prefix = [] if exact else prefix
            if exact or prefix:
                return self._lookup(exact, prefix, limit, partial=end < len(words))
        return Lookup()

    def _lookup(
        self, exact: list[int], prefix: list[int], limit: int, *, partial: bool = False
    ) -> Lookup:
        ids = (exact + prefix)[:limit]
        return Lookup([self.places[i] for i in ids], min(len(exact), limit), partial)


_loaded: Gazetteer | None = None
_lock = threading.Lock()


def gazetteer() -> Gazetteer:
    """The gazetteer, read on first use (blocking: call ``load`` from async code)."""
    global _loaded
    with _lock:
        if _loaded is None:
            _loaded = Gazetteer.read()
        return _loaded


async def load() -> Gazetteer:
    """The gazetteer, read in a worker thread the first time."""
    return _loaded if _loaded is not None else await asyncio.to_thread(gazetteer)


async def find_places(text: str, limit: int = LIMIT) -> Lookup:
    """The gazetteer's places for a typed name or postcode."""
    text = text.strip()[:MAX_TEXT]
    if not text:
        return Lookup()
    return (await load()).find(text, limit)
