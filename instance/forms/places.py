"""Places typed by name in the offer forms: found, then confirmed by the member, without script.

A place whose latitude and longitude are left empty is looked up by its name (``lookup``: the
gazetteer, and the external geocoder when configured). The form comes back once, with the
places found as radio buttons under the name (the most likely checked) and the coordinates
filled in, still editable; publishing again takes the choice. Each place the page filled
carries two hidden inputs: the name it was found for (``{place}_from_name``) and the
coordinates the page set (``{place}_from``). So, on the next post:

- coordinates the member typed over are theirs (never replaced);
- coordinates the page set, for the same name, take the radio button chosen;
- coordinates the page set (or an edited offer had), under a name since changed, are looked up
  again for the new name.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from activitypub.offer_errors import InvalidOffer, OfferError
from federation.services.places import Lookup, Place, norm
from instance.forms.layout import inputs

Finder = Callable[[str], Awaitable[Lookup]]


def place_inputs(kind: str) -> list[str]:
    """The places of a kind's form, by input prefix (``origin``, ``pickup``, ``location``…)."""
    names = [f.name for f in inputs(kind)]
    return [
        n.removesuffix("_name")
        for n in names
        if n.endswith("_name")
        and f"{n.removesuffix('_name')}_latitude" in names
        and f"{n.removesuffix('_name')}_longitude" in names
    ]


def _number(text: str) -> float | None:
    try:
        return float(text.replace(",", ".").strip())
    except ValueError:
        return None


def _pair(text: Any) -> tuple[float, float] | None:
    """``"45.1787,5.7148"`` (or ``"45.1787,5.7148,Grenoble"``) → (45.1787, 5.7148)."""
    parts = text.split(",", 2) if isinstance(text, str) else []
    if len(parts) < 2:
        return None
    lat, lon = _number(parts[0]), _number(parts[1])
    return (lat, lon) if lat is not None and lon is not None else None


def choice_value(place: Place) -> str:
    """A radio button's value: the coordinates, then the name."""
    return f"{place.coordinates()},{place.name}"


def _text(values: Mapping[str, Any], name: str) -> str:
    value = values.get(name)
    return value.strip() if isinstance(value, str) else ""


def _named(typed: str, found: str) -> str:
    """The name to keep: the member's, unless it was only a postcode or the same name written
    otherwise ("38000", "saint etienne" → "Saint-Étienne")."""
    bare = typed.replace(" ", "")
    return found if bare.isdigit() or norm(typed) == norm(found) else typed


@dataclass
class Confirmation:
    """What the places typed by name found: to confirm (``pending``), or unknown (``problems``)."""

    pending: dict[str, Lookup] = field(default_factory=dict)
    problems: list[OfferError] = field(default_factory=list)

    def raise_problems(self) -> None:
        if self.problems:
            raise InvalidOffer(self.problems)

    def merged(self, refusal: InvalidOffer) -> InvalidOffer:
        """The refusal with the unknown names, without "required" for their coordinates."""
        silenced = {
            f"{p.field.removesuffix('_name')}_{c}"
            for p in self.problems
            for c in ("latitude", "longitude")
        }
        others = [p for p in refusal.problems if p not in self.problems and p.field not in silenced]
        return InvalidOffer([*self.problems, *others])

    def view(self) -> dict[str, dict[str, Any]]:
        """For the template: by place prefix, the choices and whether they are for part of the
        name only."""
        return {
            prefix: {
                "partial": found.partial,
                "choices": [
                    {
                        "value": choice_value(p),
                        "label": p.label,
                        "coordinates": f"{p.latitude:.4f}, {p.longitude:.4f}",
                        "postcodes": ", ".join(p.postcodes[:4]),
                        "approximate": p.approximate,
                        "detail": p.detail,
                    }
                    for p in found.places
                ],
            }
            for prefix, found in self.pending.items()
        }


def _apply_choice(values: dict[str, Any], prefix: str, name: str) -> None:
    """The place chosen among those found: its coordinates (and its name, for a postcode)."""
    chosen = values.get(f"{prefix}_choice")
    pair = _pair(chosen)
    if pair is None or not isinstance(chosen, str):
        return
    parts = chosen.split(",", 2)
    values[f"{prefix}_latitude"], values[f"{prefix}_longitude"] = (str(c) for c in pair)
    values[f"{prefix}_from"] = f"{pair[0]},{pair[1]}"
    values[f"{prefix}_name"] = _named(name, parts[2]) if len(parts) == 3 else name
    values[f"{prefix}_from_name"] = values[f"{prefix}_name"]


def _to_look_up(values: dict[str, Any], prefix: str) -> str:
    """The name to look up for this place, or "" (none given, coordinates of the member's own,
    or a choice made on the previous page, which is taken here)."""
    name = _text(values, f"{prefix}_name")
    lat, lon = _text(values, f"{prefix}_latitude"), _text(values, f"{prefix}_longitude")
    if not name:
        return ""
    untouched = (_number(lat), _number(lon)) == _pair(values.get(f"{prefix}_from"))
    if untouched and values.get(f"{prefix}_from_name") == name:
        _apply_choice(values, prefix, name)
        return ""
    if (lat or lon) and not untouched:
        return ""  # the member's own coordinates
    return name


async def confirm_places(values: dict[str, Any], find: Finder) -> Confirmation:
    """Look up the places typed by name, all at once (``values`` is completed in place: the
    coordinates of the most likely place, the hidden inputs); take the choices made on the
    previous page."""
    result = Confirmation()
    names = {p: n for p in place_inputs(_text(values, "kind")) if (n := _to_look_up(values, p))}
    found_all = await asyncio.gather(*(find(name) for name in names.values()))
    for (prefix, name), found in zip(names.items(), found_all, strict=True):
        if not found.places:
            result.problems.append(OfferError(f"{prefix}_name", "unknown_place"))
            continue
        best = found.places[0]
        values[f"{prefix}_latitude"] = str(best.latitude)
        values[f"{prefix}_longitude"] = str(best.longitude)
        values[f"{prefix}_from"] = best.coordinates()
        values[f"{prefix}_from_name"] = name
        values[f"{prefix}_choice"] = choice_value(best)
        result.pending[prefix] = found
    return result


def remember_places(values: dict[str, Any]) -> None:
    """On the edit page: the offer's places as found for their names, so that a name changed
    without new coordinates is looked up again."""
    for prefix in place_inputs(_text(values, "kind")):
        name = _text(values, f"{prefix}_name")
        lat, lon = _text(values, f"{prefix}_latitude"), _text(values, f"{prefix}_longitude")
        if name and lat and lon:
            values[f"{prefix}_from_name"] = name
            values[f"{prefix}_from"] = f"{lat},{lon}"
