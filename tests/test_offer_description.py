"""The one offer description, seen from outside: every bound and choice the generated OpenAPI
document states is what the API enforces (at the bound accepted, just beyond refused with the
right code) and what the web form's inputs say; refusals are codes with parameters."""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest

from activitypub.offer_errors import TEMPLATES, template
from activitypub.offer_schema import SECTION
from instance.auth import create_token
from instance.forms.layout import inputs
from instance.i18n import translations
from models.actors import LocalActor
from models.offers import Offer, OfferKind
from tests import offer_samples as samples
from tests.test_web import HTML, log_in, set_password

SAMPLES = {"ride": samples.ride, "delivery_job": samples.delivery_job, "stay": samples.stay}
BOUNDS = ("minimum", "maximum", "minLength", "maxLength", "minItems", "maxItems", "enum")


@pytest.fixture
async def auth(member: LocalActor) -> dict[str, str]:
    return {"Authorization": f"Bearer {await create_token(member)}"}


@pytest.fixture
async def openapi(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get("/api/openapi.json")
    assert r.status_code == 200
    doc: dict[str, Any] = r.json()
    return doc


# --- reading the generated schema --------------------------------------------------------------


class Schema:
    def __init__(self, doc: dict[str, Any]) -> None:
        self.components = doc["components"]["schemas"]

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """Follow ``$ref``; of ``X | null``, keep ``X``."""
        while True:
            if "$ref" in node:
                node = self.components[node["$ref"].rsplit("/", 1)[1]]
            elif "anyOf" in node:
                node = next(n for n in node["anyOf"] if n.get("type") != "null")
            else:
                return node

    def offer(self, kind: str) -> dict[str, Any]:
        mapping = self.components["OfferInput"]["discriminator"]["mapping"]
        return self.resolve({"$ref": mapping[kind]})

    def at(self, kind: str, path: str) -> tuple[dict[str, Any], bool]:
        """The schema of the field at ``path``, and whether it is required all the way."""
        node, required = self.offer(kind), True
        for part in path.split("."):
            if part.isdigit():
                node, required = self.resolve(node["items"]), False
            else:
                required = required and part in node.get("required", [])
                outer = node["properties"][part]  # title, description of an optional field
                node = {**self.resolve(outer), **{k: v for k, v in outer.items() if k != "anyOf"}}
        return node, required


@dataclass
class Bound:
    path: str
    keyword: str
    value: Any
    schema: dict[str, Any]
    parent: dict[str, Any]  # the object schema holding the field (for x-at-most)


def bounds(schema: Schema, node: dict[str, Any], sample: Any, path: str = "") -> Iterator[Bound]:
    """Every bound below ``node`` where the sample offer has (or can take) a value."""
    for name, prop in node.get("properties", {}).items():
        if name == "kind":
            continue
        field = schema.resolve(prop)
        here = f"{path}{name}"
        value = sample.get(name) if isinstance(sample, dict) else None
        for keyword in BOUNDS:
            if keyword in field:
                yield Bound(here, keyword, field[keyword], field, node)
        if field.get("type") == "object" and isinstance(value, dict):
            yield from bounds(schema, field, value, here + ".")
        if field.get("type") == "array" and value:
            item = schema.resolve(field["items"])
            if item.get("type") == "object":
                yield from bounds(schema, item, value[0], here + ".0.")
            elif "enum" in item:
                yield Bound(here + ".0", "enum", item["enum"], item, node)


def put(body: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node: Any = body
    for part in parts[:-1]:
        node = node[int(part)] if part.isdigit() else node[part]
    last = parts[-1]
    if last.isdigit():
        node[int(last)] = value
    else:
        node[last] = value


def get(body: dict[str, Any], path: str) -> Any:
    node: Any = body
    for part in path.split("."):
        node = node[int(part)] if part.isdigit() else node[part]
    return node


def cases(bound: Bound, body: dict[str, Any]) -> Iterator[tuple[Any, str | None]]:
    """(value, None) for values the API must accept, (value, code) for ones it must refuse."""
    k, v, integer = bound.keyword, bound.value, bound.schema.get("type") == "integer"
    step = 1 if integer else 0.001
    if k == "maximum":
        yield v, None
        yield v + step, "too_large"
    elif k == "minimum":
        yield v, None
        yield v - step, "too_small"
    elif k == "maxLength":
        yield "x" * v, None
        yield "x" * (v + 1), "too_long"
    elif k == "minLength":
        yield "x" * v, None
        if v > 1:
            yield "x" * (v - 1), "too_short"
    elif k in ("maxItems", "minItems"):
        item = get(body, bound.path)[0]
        yield [copy.deepcopy(item) for _ in range(v)], None
        beyond = v + 1 if k == "maxItems" else v - 1
        yield (
            [copy.deepcopy(item) for _ in range(beyond)],
            ("too_many" if k == "maxItems" else "too_few"),
        )
    elif k == "enum":
        for choice in v:
            yield choice, None
        yield "not-one-of-them", "not_a_choice"


def expected_params(bound: Bound, code: str) -> dict[str, Any]:
    schema = bound.schema
    if code in ("too_large", "too_small"):
        return {"min": schema["minimum"], "max": schema["maximum"]}
    if code == "too_long":
        return {"max_length": schema["maxLength"]}
    if code == "too_many":
        return {"max_items": schema["maxItems"]}
    if code == "too_few":
        return {"min_items": schema["minItems"]}
    return {"choices": bound.value}


def with_value(bound: Bound, body: dict[str, Any], value: Any) -> dict[str, Any]:
    body = copy.deepcopy(body)
    put(body, bound.path, value)
    field = bound.path.rsplit(".", 1)[-1]
    prefix = bound.path[: -len(field)]
    if field not in bound.parent.get("properties", {}):
        return body  # an item of a list
    for name, prop in bound.parent["properties"].items():
        # a field that may not exceed this one (seats still available ≤ seats offered)
        if prop.get("x-at-most") == field and isinstance(value, int):
            put(body, prefix + name, min(get(body, prefix + name), value))
        if name == bound.parent["properties"][field].get("x-at-most"):
            put(body, prefix + name, max(get(body, prefix + name), value))
    return body


# --- the API enforces the document -----------------------------------------------------------


@pytest.mark.parametrize("kind", ["ride", "delivery_job", "stay"])
async def test_every_bound_in_the_document_is_enforced(
    client: httpx.AsyncClient, auth: dict[str, str], openapi: dict[str, Any], kind: str
) -> None:
    schema = Schema(openapi)
    sample = SAMPLES[kind]()
    found = list(bounds(schema, schema.offer(kind), sample))
    assert len(found) > 15
    for bound in found:
        for value, code in cases(bound, sample):
            body = with_value(bound, sample, value)
            r = await client.post("/api/v1/offers", json=body, headers=auth)
            what = f"{bound.path} {bound.keyword} {str(value)[:40]!r}"
            if code is None:
                assert r.status_code == 201, f"{what}: {r.text}"
                continue
            assert r.status_code == 422, what
            problems = r.json()["errors"]
            field = bound.path
            assert {"field": field, "code": code, **expected_params(bound, code)}.items() <= next(
                (p for p in problems if p["field"] == field), {}
            ).items(), f"{what}: {problems}"


@pytest.mark.parametrize("kind", ["ride", "delivery_job", "stay"])
async def test_every_required_field_is_required(
    client: httpx.AsyncClient, auth: dict[str, str], openapi: dict[str, Any], kind: str
) -> None:
    schema = Schema(openapi)
    sample = SAMPLES[kind]()

    def required(node: dict[str, Any], value: dict[str, Any], path: str) -> Iterator[str]:
        for name in node.get("required", []):
            if name == "kind":
                continue
            yield path + name
            field = schema.resolve(node["properties"][name])
            if field.get("type") == "object" and isinstance(value.get(name), dict):
                yield from required(field, value[name], f"{path}{name}.")

    paths = list(required(schema.offer(kind), sample, ""))
    assert {"purpose", "title", "starts_at", SECTION[OfferKind(kind)]} <= set(paths)
    for path in paths:
        body = copy.deepcopy(sample)
        parent = get(body, path.rsplit(".", 1)[0]) if "." in path else body
        for empty in (None, ""):  # absent, null and "" alike
            parent[path.rsplit(".", 1)[-1]] = empty
            r = await client.post("/api/v1/offers", json=body, headers=auth)
            assert r.status_code == 422, path
            assert {"field": path, "code": "required", "message": "required"} in r.json()["errors"]
    assert await Offer.filter(kind=kind).count() == 0


async def test_types_are_strict_and_refusals_are_coded(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    r = await client.post("/api/v1/offers", json=samples.ride(price_cents="700"), headers=auth)
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "price_cents", "code": "not_an_integer", "message": "must be a whole number"}
    ]
    body = samples.ride()
    body["ride"]["seats_total"] = 101
    body["ride"]["origin"]["latitude"] = "45.75"
    body["ride"]["schedule"]["weekdays"] = "mon,thu"
    r = await client.post("/api/v1/offers", json=body, headers=auth)
    assert r.json() == {
        "error": "The offer is not valid",
        "status": 422,
        "errors": [
            {
                "field": "ride.origin.latitude",
                "code": "not_a_number",
                "message": "must be a number",
            },
            {
                "field": "ride.seats_total",
                "code": "too_large",
                "min": 1,
                "max": 100,
                "message": "must be between 1 and 100",
            },
            {"field": "ride.schedule.weekdays", "code": "not_a_list", "message": "must be a list"},
        ],
    }
    r = await client.post("/api/v1/offers", json={**samples.ride(), "kind": "boat"}, headers=auth)
    assert r.json()["errors"] == [
        {
            "field": "kind",
            "code": "not_a_choice",
            "choices": ["ride", "delivery_job", "stay"],
            "message": "must be one of: ride, delivery_job, stay",
        }
    ]
    r = await client.post("/api/v1/offers", json=[1, 2], headers=auth)
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "not_an_object"
    assert await Offer.all().count() == 0


async def test_status_refusals_are_coded(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    created = (await client.post("/api/v1/offers", json=samples.ride(), headers=auth)).json()
    path = f"/api/v1/offers/{created['id']}"
    r = await client.post(f"{path}/status", json={"status": "picked_up"}, headers=auth)
    assert r.status_code == 400
    assert r.json()["errors"] == [
        {
            "field": "status",
            "code": "status_not_allowed",
            "kind": "ride",
            "status": "picked_up",
            "message": "A ride cannot be picked_up",
        }
    ]
    await client.post(f"{path}/close", headers=auth)
    r = await client.post(f"{path}/cancel", headers=auth)
    assert r.status_code == 400
    assert r.json()["errors"][0] == {
        "field": "status",
        "code": "already_closed",
        "status": "closed",
        "message": "This offer is already closed",
    }
    r = await client.post(f"{path}/status", json={"status": "lost"}, headers=auth)
    assert r.status_code == 400 and r.json()["errors"][0]["code"] == "not_a_choice"


async def test_what_the_api_shows_is_what_it_accepts(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    """An offer read back can be sent back as it is (its read-only fields are ignored)."""
    for build in SAMPLES.values():
        created = (await client.post("/api/v1/offers", json=build(), headers=auth)).json()
        r = await client.put(f"/api/v1/offers/{created['id']}", json=created, headers=auth)
        assert r.status_code == 200, r.text
        again = r.json()
        for key in ("updated_at", "published_at"):
            created.pop(key), again.pop(key)
        assert again == created


# --- malformed ids ------------------------------------------------------------------------------

BAD_IDS = ["x" * 37, "0" * 200, "%7Bnot-a-uuid%7D", "a" * 36, "12345678123456781234567812345678"]


@pytest.mark.parametrize("bad", BAD_IDS)
async def test_a_malformed_id_is_not_found(
    client: httpx.AsyncClient, auth: dict[str, str], bad: str
) -> None:
    for method, path in (
        ("GET", f"/api/v1/offers/{bad}"),
        ("PUT", f"/api/v1/offers/{bad}"),
        ("DELETE", f"/api/v1/offers/{bad}"),
        ("POST", f"/api/v1/offers/{bad}/close"),
        ("POST", f"/api/v1/offers/{bad}/status"),
    ):
        r = await client.request(method, path, json=samples.ride(), headers=auth)
        assert r.status_code == 404, (method, path)
        assert r.headers["content-type"].startswith("application/json")
    r = await client.get(f"/offers/{bad}", headers=HTML)
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    r = await client.get(f"/offers/{bad}", headers={"Accept": "application/activity+json"})
    assert r.status_code == 404


@pytest.mark.parametrize("bad", BAD_IDS[:3])
async def test_a_malformed_id_is_not_found_on_the_pages(
    client: httpx.AsyncClient, member: LocalActor, bad: str
) -> None:
    await set_password(member)
    client.headers.update(HTML)
    token = await log_in(client)
    for path in (f"/offers/{bad}/edit", f"/offers/{bad}/delete"):
        r = await client.get(path)
        assert r.status_code == 404 and "No such offer" in r.text, path
    for action in ("edit", "close", "cancel", "delete"):
        r = await client.post(f"/offers/{bad}/{action}", data={"csrf_token": token})
        assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")


# --- stored copies ------------------------------------------------------------------------------


async def test_rows_stored_before_the_typed_details_read_back(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    """``details`` written before the sections were typed kept the first and last place under
    ``place`` and ``destination``: they read back under the section's own names."""
    created = (
        await client.post("/api/v1/offers", json=samples.delivery_job(), headers=auth)
    ).json()
    offer = await Offer.get(local_uuid=created["id"])
    details = dict(offer.details)
    details["place"], details["destination"] = details.pop("pickup"), details.pop("dropoff")
    await Offer.filter(id=offer.id).update(details=details)
    again = (await client.get(f"/api/v1/offers/{created['id']}", headers=auth)).json()
    assert again["delivery"] == created["delivery"]


# --- the form says what the description says ----------------------------------------------------


class Inputs(HTMLParser):
    """The attributes of every input, select and textarea by name, the values each name
    offers (radio buttons, checkboxes, options), and the labels' text."""

    def __init__(self) -> None:
        super().__init__()
        self.found: dict[str, dict[str, str | None]] = {}
        self.values: dict[str, set[str]] = {}
        self.labels: dict[str, str] = {}
        self.tags: dict[str, str] = {}
        self._select = ""
        self._label = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        name = values.get("name", "")
        if tag in ("input", "select", "textarea") and name:
            self.found.setdefault(name, dict(attrs))
            self.tags.setdefault(name, tag)
            self.values.setdefault(name, set()).add(values.get("value", ""))
            if values.get("type") == "checkbox" and not self._label:
                self._label = name  # a lone checkbox: its label follows it
        if tag == "select":
            self._select = name
        elif tag == "option":
            self.values[self._select].add(values.get("value", ""))
        elif tag == "label" and values.get("for", "").startswith("f-"):
            self._label = values["for"][2:]
        elif tag == "span" and values.get("id", "").startswith("label-"):
            self._label = values["id"][6:]

    def handle_data(self, data: str) -> None:
        if self._label and data.strip():
            self.labels.setdefault(self._label, data.strip())
            self._label = ""


# Labels the form words for its context rather than taking the field's title
CONTEXT_LABELS = {
    "Departure",
    "Available from",
    "Exact address",
    "Total weight (kg)",
    "Cost share per seat",
    "Price offered",
    "Contribution per night",
}


@pytest.mark.parametrize("kind", ["ride", "delivery_job", "stay"])
async def test_the_form_inputs_carry_the_described_bounds(
    client: httpx.AsyncClient, member: LocalActor, openapi: dict[str, Any], kind: str
) -> None:
    schema = Schema(openapi)
    await set_password(member)
    client.headers.update(HTML)
    await log_in(client)
    parser = Inputs()
    parser.feed((await client.get(f"/offers/new?kind={kind}")).text)
    specs = inputs(kind)
    assert len(specs) >= 15
    for spec in specs:
        attrs = parser.found[spec.name]
        field, required = schema.at(kind, spec.path)
        where = f"{kind} {spec.name} ({spec.path})"
        found_from_name = spec.name.endswith(("_latitude", "_longitude"))  # forms/places.py
        assert ("required" in attrs) == (required and not found_from_name), where
        for keyword, attr in (("minimum", "min"), ("maximum", "max")):
            if keyword in field:
                assert float(attrs[attr] or "nan") == field[keyword] / spec.scale, where
            else:
                assert attr not in attrs, where
        if parser.tags[spec.name] == "select":  # what it offers fits
            offered = parser.values[spec.name] - {""}
            assert all(len(v) <= field.get("maxLength", len(v)) for v in offered), where
        elif attrs.get("type") in ("text", None):
            assert attrs.get("maxlength") == str(field.get("maxLength")), where
        choices = field.get("enum") or schema.resolve(field.get("items", {})).get("enum")
        if choices:
            assert set(choices) <= parser.values[spec.name], where
        label = parser.labels[spec.name]
        assert label == field["title"] or label in CONTEXT_LABELS, where


# --- every code speaks French -------------------------------------------------------------------


def test_every_error_code_is_in_the_catalogue() -> None:
    """Each code's template is a msgid of fr.po, with the same placeholders."""
    french = translations("fr")
    shapes = [template(code, {}) for code in TEMPLATES]
    shapes += [template("too_small", {"min": 0}), template("too_small", {"min": 1})]
    shapes += [template("too_large", {"max": 1}), template("too_small", {"min": 1, "max": 2})]
    for msgid in shapes:
        translated = french.gettext(msgid)
        assert translated != msgid, msgid
        assert sorted(re.findall(r"%\((\w+)\)s", translated)) == sorted(
            re.findall(r"%\((\w+)\)s", msgid)
        ), msgid
