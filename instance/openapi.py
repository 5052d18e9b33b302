"""The OpenAPI 3.1 description of `/api/v1`, served at `/api/openapi.json`.

The schemas are generated from the offer description (``activitypub.offer_schema``) and the
API's own models (``instance.offer_view``), so every type, bound and choice the API enforces is
written here too. Only the search parameters are listed by hand (they are a query string).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from activitypub.offer_schema import OFFER_DESCRIPTION
from activitypub.urls import path_template
from instance.errors import Refusal
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
        ("place", {"type": "string"}, "a place name already used by offers"),
        ("from", {"type": "string", "format": "date"}, ""),
        ("to", {"type": "string", "format": "date"}, ""),
        ("min_seats", {"type": "integer"}, "or min_guests"),
        ("q", {"type": "string"}, "text"),
        ("limit", {"type": "integer", "maximum": 100}, ""),
        ("offset", {"type": "integer"}, ""),
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
        '"700" is not an integer.'
    )
    found["OfferInput"] = offer_input
    found["OfferMeta"] = _model(OfferMeta, found)
    found["Offer"] = {
        "allOf": [{"$ref": REF.format(model="OfferInput")}, {"$ref": REF.format(model="OfferMeta")}]
    }
    found["Error"] = _model(Refusal, found)
    return found


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


def openapi_document(base_url: str) -> dict[str, Any]:
    status = {"type": "object", "properties": {"status": {"$ref": REF.format(model="OfferStatus")}}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "coopub offers API", "version": "1"},
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
        },
    }
