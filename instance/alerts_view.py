"""What the pages and the feeds show of saved searches and their alerts: a search told in words
(kind, place and radius, dates, seats, words), the search page that runs it again, and each
alert with the offer it found and where to read it here."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from activitypub.urls import path_for
from federation.context import Federation
from federation.services.alerts import Alert, mark_seen, recent_alerts
from instance.forms.labels import KIND_LABELS, SHORT_PURPOSE
from instance.offer_view import offer_to_api
from models.actors import LocalActor
from models.alerts import SavedSearch
from models.offers import Offer

Gettext = Callable[[str], str]


def _day(moment: datetime | None) -> str | None:
    return moment.date().isoformat() if moment is not None else None


def search_query(search: SavedSearch) -> dict[str, str]:
    """The search page's query that runs ``search`` again."""
    query: dict[str, str] = {}
    if search.kind:
        query["kind"] = search.kind
    if search.purpose:
        query["purpose"] = search.purpose
    if search.place:
        query["place"] = search.place
    elif search.latitude is not None and search.longitude is not None:
        query["lat"], query["lon"] = f"{search.latitude:.5f}", f"{search.longitude:.5f}"
    if search.latitude is not None:
        query["radius_km"] = f"{search.radius_km:g}"
    if (start := _day(search.date_from)) is not None:
        query["from"] = start
    if (end := _day(search.date_to)) is not None:
        query["to"] = end
    if search.min_quantity is not None:
        query["min_quantity"] = str(search.min_quantity)
    if search.text:
        query["q"] = search.text
    return query


def describe_search(search: SavedSearch, _: Gettext) -> str:
    """``Ride · Offered · within 25 km of Lyon · from 2026-12-05 · 2 or more · “vélo”``."""
    parts = [_(KIND_LABELS[search.kind]) if search.kind in KIND_LABELS else _("Any offer")]
    if search.purpose in SHORT_PURPOSE:
        parts.append(_(SHORT_PURPOSE[search.purpose]))
    if search.latitude is not None and search.longitude is not None:
        where = search.place or f"{search.latitude:.4f}, {search.longitude:.4f}"
        parts.append(
            _("within %(km)s km of %(place)s") % {"km": f"{search.radius_km:g}", "place": where}
        )
    if search.date_from is not None:
        parts.append(_("from %(date)s") % {"date": _day(search.date_from)})
    if search.date_to is not None:
        parts.append(_("until %(date)s") % {"date": _day(search.date_to)})
    if search.min_quantity is not None:
        parts.append(_("%(count)d or more seats or guests") % {"count": search.min_quantity})
    if search.text:
        parts.append(f"“{search.text}”")
    return " · ".join(parts)


def search_view(search: SavedSearch, _: Gettext) -> dict[str, Any]:
    return {
        "id": search.id,
        "name": search.name,
        "criteria": describe_search(search, _),
        "run": path_for("search", query=search_query(search)),
        "created": search.created_at.isoformat(),
    }


def read_here(fed: Federation, offer: Offer) -> str:
    """Where a member reads the offer on this instance: a local one's page; for a copy
    received, the page here that shows it and asks for it."""
    if offer.local_uuid:
        return offer.ap_id
    return fed.urls.url("new_booking", query={"offer": offer.ap_id})


def alert_view(fed: Federation, alert: Alert, _: Gettext) -> dict[str, Any]:
    return {
        **offer_to_api(fed, alert.offer),
        "read_here": read_here(fed, alert.offer),
        "matched_at": alert.matched_at.isoformat(),
        "new": alert.new,
        "search": alert.search.name or describe_search(alert.search, _),
    }


HOME_ALERTS = 10


async def home_alerts(fed: Federation, member: LocalActor, _: Gettext) -> dict[str, Any]:
    """What the home page shows (``templates/_alerts.html``): the latest alerts, those not
    shown before marked new (and now seen), and the member's coop's public feed."""
    alerts = await recent_alerts(member, HOME_ALERTS)
    await mark_seen(member)
    coop = await LocalActor.get_or_none(id=member.coop_id) if member.coop_id else None
    return {
        "alerts": [alert_view(fed, alert, _) for alert in alerts],
        "coop_feed": path_for("coop_feed", username=coop.username) if coop else None,
    }
