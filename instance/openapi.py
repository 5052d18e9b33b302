"""The OpenAPI 3.1 description of `/api/v1`, served at `/api/openapi.json`."""

from __future__ import annotations

from typing import Any

PLACE = {
    "type": "object",
    "required": ["name", "latitude", "longitude"],
    "properties": {
        "name": {"type": "string", "maxLength": 200},
        "latitude": {"type": "number", "minimum": -90, "maximum": 90},
        "longitude": {"type": "number", "minimum": -180, "maximum": 180},
        "address": {"type": "string", "maxLength": 500},
        "after": {"type": "string", "format": "date-time"},
        "before": {"type": "string", "format": "date-time"},
    },
}
OFFER_INPUT = {
    "type": "object",
    "required": ["kind", "purpose", "title", "starts_at"],
    "properties": {
        "kind": {"enum": ["ride", "delivery_job", "stay"]},
        "purpose": {"enum": ["offer", "request"]},
        "title": {"type": "string", "maxLength": 200},
        "description": {"type": "string", "maxLength": 10000},
        "language": {"type": "string"},
        "starts_at": {"type": "string", "format": "date-time"},
        "ends_at": {"type": "string", "format": "date-time", "description": "required for stays"},
        "timezone": {"type": "string", "description": "IANA name, e.g. Europe/Paris"},
        "expires_at": {"type": "string", "format": "date-time"},
        "price_cents": {
            "type": "integer",
            "minimum": 0,
            "description": "cost share per seat, price offered, or contribution",
        },
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "ride": {
            "type": "object",
            "required": ["origin", "destination", "seats_total"],
            "properties": {
                "origin": PLACE,
                "destination": PLACE,
                "waypoints": {"type": "array", "items": PLACE, "maxItems": 10},
                "flexibility_minutes": {"type": "integer", "minimum": 0},
                "seats_total": {"type": "integer", "minimum": 1},
                "seats_available": {"type": "integer", "minimum": 0},
                "schedule": {
                    "type": "object",
                    "properties": {
                        "weekdays": {
                            "type": "array",
                            "items": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
                        },
                        "time": {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$"},
                    },
                },
                "return_trip": {"type": "string", "format": "uri"},
            },
        },
        "delivery": {
            "type": "object",
            "required": ["pickup", "dropoff"],
            "properties": {
                "pickup": PLACE,
                "dropoff": PLACE,
                "packages": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "type": {"type": "string"},
                            "quantity": {"type": "integer", "minimum": 1},
                        },
                    },
                },
                "weight_grams": {"type": "integer", "minimum": 0},
                "vehicle": {"enum": ["bike", "cargo_bike", "van"]},
            },
        },
        "stay": {
            "type": "object",
            "required": ["location", "max_guests"],
            "properties": {
                "location": {
                    **PLACE,
                    "description": "the exact place; only a fuzzed position is published",
                },
                "max_guests": {"type": "integer", "minimum": 1},
                "max_nights": {"type": "integer", "minimum": 1},
                "conditions": {
                    "type": "object",
                    "properties": {
                        "text": {"type": "string"},
                        "pets": {"type": "boolean"},
                        "smoking": {"type": "boolean"},
                        "step_free": {"type": "boolean"},
                    },
                },
            },
        },
    },
}
OFFER = {
    "allOf": [
        {"$ref": "#/components/schemas/OfferInput"},
        {
            "type": "object",
            "properties": {
                "id": {"type": ["string", "null"], "description": "local offers only"},
                "ap_id": {"type": "string", "format": "uri"},
                "url": {"type": "string", "format": "uri"},
                "local": {"type": "boolean"},
                "instance": {"type": "string"},
                "author": {"type": "object"},
                "status": {"type": "string"},
                "quantity_total": {"type": ["integer", "null"]},
                "quantity_available": {"type": ["integer", "null"]},
                "published_at": {"type": "string"},
                "updated_at": {"type": "string"},
            },
        },
    ]
}
ERROR = {
    "type": "object",
    "properties": {
        "error": {"type": "string"},
        "status": {"type": "integer"},
        "errors": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
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


def _errors(*codes: int) -> dict[str, Any]:
    return {
        str(c): {
            "description": "error",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
        for c in codes
    }


def _json(ref: str) -> dict[str, Any]:
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{ref}"}}}


def openapi_document(base_url: str) -> dict[str, Any]:
    uuid_param = {"name": "uuid", "in": "path", "required": True, "schema": {"type": "string"}}
    secured = [{"token": []}]
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
            "schemas": {"OfferInput": OFFER_INPUT, "Offer": OFFER, "Error": ERROR},
        },
        "paths": {
            "/api/v1/offers": {
                "get": {
                    "summary": "Search local and received offers (sorted by time)",
                    "parameters": SEARCH_PARAMS,
                    "responses": {
                        "200": {
                            "description": "offers",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "properties": {
                                            "items": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Offer"},
                                            },
                                            "count": {"type": "integer"},
                                        },
                                    }
                                }
                            },
                        },
                        **_errors(400),
                    },
                },
                "post": {
                    "summary": "Publish an offer",
                    "security": secured,
                    "requestBody": {"required": True, "content": _json("OfferInput")},
                    "responses": {
                        "201": {"description": "created", "content": _json("Offer")},
                        **_errors(400, 401, 422),
                    },
                },
            },
            "/api/v1/offers/{uuid}": {
                "parameters": [uuid_param],
                "get": {
                    "summary": "Read a local offer",
                    "responses": {
                        "200": {"description": "offer", "content": _json("Offer")},
                        **_errors(404),
                    },
                },
                "put": {
                    "summary": "Replace a local offer",
                    "security": secured,
                    "requestBody": {"required": True, "content": _json("OfferInput")},
                    "responses": {
                        "200": {"description": "updated", "content": _json("Offer")},
                        **_errors(400, 401, 404, 422),
                    },
                },
                "delete": {
                    "summary": "Delete an offer (a Tombstone is federated)",
                    "security": secured,
                    "responses": {"204": {"description": "deleted"}, **_errors(401, 404)},
                },
            },
            "/api/v1/offers/{uuid}/close": {
                "parameters": [uuid_param],
                "post": {
                    "summary": "Close",
                    "security": secured,
                    "responses": {
                        "200": {"description": "closed", "content": _json("Offer")},
                        **_errors(400, 401, 404),
                    },
                },
            },
            "/api/v1/offers/{uuid}/cancel": {
                "parameters": [uuid_param],
                "post": {
                    "summary": "Cancel",
                    "security": secured,
                    "responses": {
                        "200": {"description": "cancelled", "content": _json("Offer")},
                        **_errors(400, 401, 404),
                    },
                },
            },
            "/api/v1/offers/{uuid}/status": {
                "parameters": [uuid_param],
                "post": {
                    "summary": "Set a status (full, assigned, picked_up, delivered, failed…)",
                    "security": secured,
                    "requestBody": {
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"status": {"type": "string"}},
                                }
                            }
                        }
                    },
                    "responses": {
                        "200": {"description": "changed", "content": _json("Offer")},
                        **_errors(400, 401, 404),
                    },
                },
            },
        },
    }
