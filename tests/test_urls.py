"""One table of named paths (activitypub/urls.py): the routes, the code and the templates all
build from it, and nothing else spells a local path."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.routing import Route

from activitypub.urls import (
    PATHS,
    Urls,
    link_on_host,
    listing_of,
    match_path,
    path_for,
    path_template,
)
from federation.context import Federation
from federation.services.search import InvalidSearch
from instance.app import create_app
from instance.config import parse_config
from instance.negotiation import for_programs
from models.actors import ActorKind
from tests.conftest import TEST_DOMAIN

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "activitypub" / "urls.py"
BASE = f"https://{TEST_DOMAIN}"
SAMPLE = {
    "uuid": "00000000-0000-4000-8000-000000000000",
    "id": 7,
    "schema": "2.1",
    "name": "service.properties",
    "collection": "outbox",
    "prefix": "c",
    "username": "velos",
    "action": "close",
    "token": "c2VjcmV0",
}


def _params(name: str) -> dict[str, object]:
    return {key: SAMPLE[key] for key in re.findall(r"\{(\w+)", PATHS[name])}


def _app(database_url: str) -> Starlette:
    config = parse_config(
        {"instance": {"domain": TEST_DOMAIN, "secret_key": "t"}, "database": {"url": database_url}}
    )
    return create_app(config, run_worker=False, fed=None)


# --- the routes come from the table -------------------------------------------------------------


def test_every_route_is_named_and_comes_from_the_table(database_url: str) -> None:
    app = _app(database_url)
    routes = app.routes
    assert routes and all(isinstance(r, Route) for r in routes)
    for r in routes:
        assert r.name in PATHS, r.path
        assert r.path == PATHS[r.name], r.name
    assert {r.name for r in routes} == set(PATHS)  # no entry of the table left unrouted


def test_starlette_and_path_for_build_the_same_paths(database_url: str) -> None:
    app = _app(database_url)
    for name in PATHS:
        params = _params(name)
        assert app.url_path_for(name, **params) == path_for(name, **params), name


def test_path_for() -> None:
    assert path_for("edit_offer", uuid=SAMPLE["uuid"]) == f"/offers/{SAMPLE['uuid']}/edit"
    assert path_for("revoke_token", id=3) == "/settings/tokens/3/revoke"
    # a query string: values encoded, "/" kept (login links stay readable)
    assert path_for("login", query={"next": "/offers/new?kind=ride"}) == (
        "/login?next=/offers/new%3Fkind%3Dride"
    )
    assert path_for("search", query={"q": "a b&c"}) == "/search?q=a%20b%26c"
    for bad in (
        lambda: path_for("nowhere"),
        lambda: path_for("offer"),
        lambda: path_for("offer", uuid="x", extra=1),
        lambda: path_for("offer", uuid="a/b"),
        lambda: path_for("offer", uuid=""),
    ):
        with pytest.raises(ValueError):
            bad()
    assert path_for("offer", uuid="a?b#c") == "/offers/a%3Fb%23c"  # one segment, always


def test_match_path_and_templates() -> None:
    for name in PATHS:
        params = {k: str(v) for k, v in _params(name).items()}
        assert match_path(name, path_for(name, **params)) == params, name
    assert match_path("actor", "/c/velos/inbox") is None
    assert PATHS["actor"] == "/{prefix:str}/{username:str}"  # as Starlette writes it
    assert match_path("revoke_token", "/settings/tokens/x/revoke") is None
    assert path_template("api_offer") == "/api/v1/offers/{uuid}"
    assert path_template("api_offer_action", action="close") == "/api/v1/offers/{uuid}/close"


def test_urls_build_ids_from_the_table() -> None:
    urls = Urls(BASE)
    assert urls.url("offer", uuid="u1") == f"{BASE}/offers/u1"
    assert urls.url("chatonsinfos", name="service.properties") == (
        f"{BASE}/.well-known/chatonsinfos/service.properties"
    )
    assert urls.actor_for(ActorKind.COOP, "velos") == f"{BASE}/c/velos"
    assert urls.actor_for(ActorKind.MEMBER, "alice") == f"{BASE}/u/alice"
    assert urls.actor_for(ActorKind.INSTANCE, TEST_DOMAIN) == f"{BASE}/actor"
    assert urls.actor_for(ActorKind.DIRECTORY, "directory") == f"{BASE}/directory"
    for kind, username in ((ActorKind.COOP, "velos"), (ActorKind.MEMBER, "alice")):
        assert urls.parse_actor(urls.actor_for(kind, username)) == (kind, username)
    assert urls.parse_actor(f"{BASE}/actor") == (ActorKind.INSTANCE, TEST_DOMAIN)
    assert urls.parse_actor(f"{BASE}/x/velos") is None
    assert urls.parse_actor(f"{BASE}/c/velos/inbox") is None
    assert urls.parse_actor("https://elsewhere.example/c/velos") is None
    other = Urls("https://d.example:8443")  # another server's well-known documents
    assert other.url("nodeinfo_links") == "https://d.example:8443/.well-known/nodeinfo"
    assert listing_of(urls.actor_for(ActorKind.DIRECTORY, "directory")) == (
        urls.url("directory_listing")
    )
    assert listing_of("https://d.example/a/directory") == "https://d.example/a/directory/instances"


# --- nothing else spells a path -----------------------------------------------------------------


def test_templates_spell_no_path() -> None:
    literal = re.compile(r"""\b(?:href|action|src|formaction)\s*=\s*["']/""")
    for template in sorted((ROOT / "templates").glob("*.html")):
        found = literal.findall(template.read_text())
        assert found == [], template.name


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            found.add(id(first.value))
    return found


SEGMENT = re.compile(r"^/[A-Za-z0-9._~{-]")
"""A path segment starting: ``"/offers"``, ``"/.well-known"`` (not a lone ``"/"``)."""
PREFIXES = sorted({m[0] for p in PATHS.values() if (m := re.match(r"^/[^/{]+", p))})
"""The first literal segment of every table path: ``/offers``, ``/.well-known``, ``/api``…"""


def _path_literals(path: Path) -> list[str]:
    """f-strings building a path (``f"/x/{y}"``, ``f"{base}/x"``) and string literals naming
    one of the table's paths, outside docstrings."""
    tree = ast.parse(path.read_text())
    skipped = _docstrings(tree)  # and the parts of f-strings, read as f-strings
    skipped |= {id(v) for n in ast.walk(tree) if isinstance(n, ast.JoinedStr) for v in n.values}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            parts = node.values
            for i, part in enumerate(parts):
                text = part.value if isinstance(part, ast.Constant) else None
                after_value = i > 0 and isinstance(parts[i - 1], ast.FormattedValue)
                if isinstance(text, str) and (i == 0 or after_value) and SEGMENT.match(text):
                    found.append(f"{path.name}:{node.lineno}: f-string {text!r}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) in skipped:
                continue
            value = node.value
            if any(value == p or value.startswith((f"{p}/", f"{p}?")) for p in PREFIXES):
                found.append(f"{path.name}:{node.lineno}: {value!r}")
    return found


def test_no_code_spells_a_local_path() -> None:
    found = []
    for package in ("instance", "federation", "activitypub"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if path != TABLE:
                found += _path_literals(path)
    assert found == []


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        '"""Docstrings may say /offers/{uuid}."""\n'
        'a = f"/offers/{x}"\n'
        'b = f"{base}/actor"\n'
        'c = "/login"\n'
        'd = "/.well-known/nodeinfo"\n'
        'e = f"{done}/{total}"\n'
        'f = "/usr/lib/postgresql"\n'
    )
    found = _path_literals(sample)
    assert sorted(line.split(":")[1] for line in found) == ["2", "3", "4", "5"]


def test_errors_of_paths_for_programs_are_json() -> None:
    for path in ("/inbox", "/actor/inbox", "/directory/inbox", "/c/velos/inbox", "/api/v1/offers"):
        assert for_programs(path), path
    for path in ("/.well-known/webfinger", "/.well-known/anything", "/api/v1/offers/x/close"):
        assert for_programs(path), path
    for path in ("/", "/offers/new", "/c/velos", "/search", "/directory/instances"):
        assert not for_programs(path), path


# --- links from other servers ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("https://coop.example/page", True),
        ("http://coop.example/page", True),
        ("HTTPS://Coop.Example/page", True),
        ("https://coop.example:8443/page", False),  # another authority
        ("https://elsewhere.example/page", False),
        ("https://coop.example.evil.example/", False),
        ("javascript:alert(1)//coop.example", False),
        ("ftp://coop.example/file", False),
        ("//coop.example/page", False),
        ("https://[oops", False),
        (None, False),
        (42, False),
    ],
)
def test_link_on_host(value: object, kept: bool) -> None:
    assert link_on_host(value, "coop.example") == (value if kept else None)
    assert link_on_host("https://coop.example:8443/x", "coop.example:8443") is not None


# --- every coded refusal is rendered in one place ------------------------------------------------


async def test_coded_refusals_are_rendered_for_every_route(
    fed: Federation, database_url: str
) -> None:
    """instance/errors.py renders a coded refusal the same way whatever route raised it: codes
    for programs, the error page in the reader's language for people."""
    config = parse_config(
        {"instance": {"domain": TEST_DOMAIN, "secret_key": "t"}, "database": {"url": database_url}}
    )
    app = create_app(config, run_worker=False, fed=fed)

    async def refuse(request: object) -> None:
        raise InvalidSearch("lat", "too_large", min=-90, max=90)

    app.router.routes.insert(0, Route("/refuse", refuse))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
        r = await client.get("/refuse")
        assert r.status_code == 400
        assert r.json() == {
            "error": "lat: must be between -90 and 90",
            "status": 400,
            "errors": [
                {
                    "field": "lat",
                    "code": "too_large",
                    "min": -90,
                    "max": 90,
                    "message": "must be between -90 and 90",
                }
            ],
        }
        page = await client.get("/refuse", headers={"Accept": "text/html", "Accept-Language": "fr"})
        assert page.status_code == 400 and page.headers["content-type"].startswith("text/html")
        assert "doit être entre -90 et 90" in page.text
