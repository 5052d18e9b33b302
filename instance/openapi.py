"""The OpenAPI 3.1 description of `/api/v1`, served at `/api/openapi.json`.

The schemas are generated from the offer description (``activitypub.offer_schema``) and the
API's own models (``instance.offer_view``), so every type, bound and choice the API enforces is
written here too. Only the search parameters are listed by hand (they are a query string).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from activitypub.bookings_input import (
    BookingRequest,
    Completion,
    Decision,
    MessageInput,
    ProgressReport,
    Reason,
)
from activitypub.offer_schema import OFFER_DESCRIPTION, VEHICLES
from activitypub.urls import path_template
from federation.services.dispatch import AREA_PARAMS
from instance.booking_view import BookingOut
from instance.dispatch_view import DispatchBoard
from instance.errors import Refusal
from instance.interactions_view import NotificationOut
from instance.offer_view import OfferMeta

REF = "#/components/schemas/{model}"
SEARCH_PARAMS = [
    {"name": n, "in": "query", "schema": s, "description": d}
    for n, s, d in (
        ("kind", {"enum": ["ride", "delivery_job", "stay"]}, ""),
        ("purpose", {"enum": ["offer", "request"]}, ""),
        ("lat", {"type": "number"}, "centre latitude (with lon)"),
        ("lon", {"type": "number"}, "centre longitude (with lat)"),
        ("radius_km", {"type": "number", "default": 25}, ""),
        ("place", {"type": "string"}, "a town, a postcode or a place name offers use"),
        ("from", {"type": "string", "format": "date"}, ""),
        ("to", {"type": "string", "format": "date"}, ""),
        ("min_seats", {"type": "integer"}, "or min_guests"),
        ("q", {"type": "string"}, "text"),
        ("limit", {"type": "integer", "maximum": 100}, ""),
        ("offset", {"type": "integer", "minimum": 0, "maximum": 10000}, ""),
    )
]


def _generated(schema: dict[str, Any], into: dict[str, Any]) -> dict[str, Any]:
    """A generated schema, its ``$defs`` moved to the components."""
    into.update(schema.pop("$defs", {}))
    return schema


def _model(model: type[BaseModel], into: dict[str, Any]) -> dict[str, Any]:
    return _generated(model.model_json_schema(ref_template=REF), into)


def schemas() -> dict[str, Any]:
    """Every component schema: the offer as sent (OfferInput) and as read (Offer), errors."""
    found: dict[str, Any] = {}
    offer_input = _generated(OFFER_DESCRIPTION.json_schema(ref_template=REF), found)
    offer_input["description"] = (
        "An offer as a member writes it. The `kind` says which section is required: `ride`, "
        "`delivery` or `stay`. Empty strings and nulls count as absent. Types are strict: "
        '"700" is not an integer. A place may give its `name` alone, without `latitude` and '
        '`longitude`: they are filled in when the name designates one place ("Grenoble", '
        '"38000", "Saint-Denis (93)", "Paris, FR"); otherwise 422, `unknown_place` or '
        "`ambiguous_place` with the `candidates` to choose from."
    )
    found["OfferInput"] = offer_input
    found["OfferMeta"] = _model(OfferMeta, found)
    found["Offer"] = {
        "allOf": [{"$ref": REF.format(model="OfferInput")}, {"$ref": REF.format(model="OfferMeta")}]
    }
    found["Error"] = _model(Refusal, found)
    for name, model in BOOKING_MODELS.items():
        found[name] = _model(model, found)
    found["DispatchBoard"] = _model(DispatchBoard, found)
    found["Notification"] = _model(NotificationOut, found)
    return found


BOOKING_MODELS: dict[str, type[BaseModel]] = {
    "BookingInput": BookingRequest,
    "Booking": BookingOut,
    "Decision": Decision,
    "Reason": Reason,
    "Completion": Completion,
    "ProgressReport": ProgressReport,
    "MessageInput": MessageInput,
}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"description": "refused", "content": _json("Error")} for c in codes}


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": REF.format(model=ref)}}}


SECURED: list[dict[str, list[str]]] = [{"token": []}]
UUID_PARAM = {"name": "uuid", "in": "path", "required": True, "schema": {"type": "string"}}


def _collection() -> dict[str, Any]:
    listing = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": REF.format(model="Offer")}},
            "count": {"type": "integer"},
            "offset": {"type": "integer"},
            "limit": {"type": "integer"},
        },
    }
    return {
        "get": {
            "summary": "Search local and received offers (sorted by time)",
            "parameters": SEARCH_PARAMS,
            "responses": {
                "200": {
                    "description": "offers",
                    "content": {"application/json": {"schema": listing}},
                },
                **_errors(400),
            },
        },
        "post": {
            "summary": "Publish an offer",
            "security": SECURED,
            "requestBody": {"required": True, "content": _json("OfferInput")},
            "responses": {
                "201": {"description": "created", "content": _json("Offer")},
                **_errors(400, 401, 422),
            },
        },
    }


def _one() -> dict[str, Any]:
    return {
        "parameters": [UUID_PARAM],
        "get": {
            "summary": "Read a local offer",
            "responses": {
                "200": {"description": "offer", "content": _json("Offer")},
                **_errors(404),
            },
        },
        "put": {
            "summary": "Replace a local offer",
            "security": SECURED,
            "requestBody": {"required": True, "content": _json("OfferInput")},
            "responses": {
                "200": {"description": "updated", "content": _json("Offer")},
                **_errors(400, 401, 404, 422),
            },
        },
        "delete": {
            "summary": "Delete an offer (a Tombstone is federated)",
            "security": SECURED,
            "responses": {"204": {"description": "deleted"}, **_errors(401, 404)},
        },
    }


def _action(summary: str, done: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    post: dict[str, Any] = {
        "summary": summary,
        "security": SECURED,
        "responses": {
            "200": {"description": done, "content": _json("Offer")},
            **_errors(400, 401, 404),
        },
    }
    if body is not None:
        post["requestBody"] = {"content": {"application/json": {"schema": body}}}
    return {"parameters": [UUID_PARAM], "post": post}


def _bookings() -> dict[str, Any]:
    listing = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": REF.format(model="Booking")}},
            "count": {"type": "integer"},
        },
    }
    mine = {"description": "bookings", "content": {"application/json": {"schema": listing}}}
    return {
        "get": {
            "summary": "My bookings (what I asked for), newest first",
            "security": SECURED,
            "responses": {"200": mine, **_errors(401)},
        },
        "post": {
            "summary": "Book an offer (local, or remote by its ActivityPub id)",
            "description": "Refused with a code (409: full, closed, overlapping nights, own "
            "offer…; 422: bad dates or quantity); accepted at once when the offer accepts "
            "automatically, else requested.",
            "security": SECURED,
            "requestBody": {"required": True, "content": _json("BookingInput")},
            "responses": {
                "201": {"description": "requested or accepted", "content": _json("Booking")},
                **_errors(400, 401, 403, 404, 409, 422),
            },
        },
    }


BOOKING_ACTIONS = {
    "accept": ("Accept a request (author)", "Decision"),
    "decline": ("Decline a request (author)", "Reason"),
    "cancel": ("Cancel (either side; the booker may withdraw a request)", "Reason"),
    "complete": ("Say whether it took place (either side, after its date)", "Completion"),
    "progress": ("Report a delivery job's progress (the courier's side)", "ProgressReport"),
    "messages": ("Write to the other party", "MessageInput"),
}


def _booking_action(summary: str, body: str) -> dict[str, Any]:
    done = "201" if body == "MessageInput" else "200"
    return {
        "parameters": [UUID_PARAM],
        "post": {
            "summary": summary,
            "security": SECURED,
            "requestBody": {"content": _json(body)},
            "responses": {
                done: {"description": "the booking", "content": _json("Booking")},
                **_errors(400, 401, 403, 404, 409, 422),
            },
        },
    }


def booking_paths() -> dict[str, Any]:
    received = {
        "get": {
            "summary": "Requests and bookings on my offers, newest first",
            "security": SECURED,
            "responses": _bookings()["get"]["responses"],
        }
    }
    one = {
        "parameters": [UUID_PARAM],
        "get": {
            "summary": "One of my bookings, with its conversation",
            "security": SECURED,
            "responses": {
                "200": {"description": "booking", "content": _json("Booking")},
                **_errors(401, 404),
            },
        },
    }
    paths = {
        path_template("api_bookings"): _bookings(),
        path_template("api_booking_requests"): received,
        path_template("api_booking"): one,
    }
    for action, (summary, body) in BOOKING_ACTIONS.items():
        paths[path_template("api_booking_action", action=action)] = _booking_action(summary, body)
    return paths


def openapi_document(base_url: str) -> dict[str, Any]:
    status = {"type": "object", "properties": {"status": {"$ref": REF.format(model="OfferStatus")}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "coopub offers and bookings API", "version": "1"},
        "servers": [{"url": base_url}],
        "components": {
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "coopub token create MEMBER",
                }
            },
            "schemas": schemas(),
        },
        "paths": {
            path_template("api_offers"): _collection(),
            path_template("api_offer"): _one(),
            path_template("api_offer_action", action="close"): _action("Close", "closed"),
            path_template("api_offer_action", action="cancel"): _action("Cancel", "cancelled"),
            path_template("api_offer_action", action="status"): _action(
                "Set a status (full, assigned, picked_up, delivered, failed…)", "changed", status
            ),
            **booking_paths(),
            path_template("api_dispatch"): _dispatch(),
            path_template("api_notifications"): _notifications(),
        },
    }


def _notifications() -> dict[str, Any]:
    listing = {
        "type": "object",
        "properties": {
            "items": {"type": "array", "items": {"$ref": REF.format(model="Notification")}},
            "count": {"type": "integer"},
            "unread": {"type": "integer"},
            "offset": {"type": "integer"},
            "limit": {"type": "integer"},
        },
    }
    paging = [
        {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 100}},
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0}},
    ]
    return {
        "get": {
            "summary": "My notifications, newest first (reading them here does not mark them read)",
            "security": SECURED,
            "parameters": paging,
            "responses": {
                "200": {
                    "description": "notifications",
                    "content": {"application/json": {"schema": listing}},
                },
                **_errors(400, 401),
            },
        }
    }


def _dispatch() -> dict[str, Any]:
    """The board takes the search's area and paging parameters, and a vehicle."""
    vehicle = {
        "name": "vehicle",
        "in": "query",
        "schema": {"enum": list(VEHICLES)},
        "description": "the vehicle the job needs",
    }
    params = [p for p in SEARCH_PARAMS if p["name"] in AREA_PARAMS]
    return {
        "get": {
            "summary": "My coop's dispatch board: the delivery jobs known here, local and "
            "received, with the claims that concern the coop and who holds each job",
            "description": "Sorted by the start of the time window, then by id (no score). "
            "Open jobs until they expire, assigned and picked-up jobs, delivered and failed "
            "ones for a day after their window. The job's author assigns a claim with POST "
            "/api/v1/bookings/{id}/accept.",
            "security": SECURED,
            "parameters": [*params, vehicle],
            "responses": {
                "200": {"description": "the board", "content": _json("DispatchBoard")},
                **_errors(400, 401, 404),
            },
        }
    }
