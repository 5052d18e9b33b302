"""Configuration: the example file documents every setting; mistakes are refused clearly.
And what this instance publishes about itself for ChatonsInfos."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import httpx
import pytest

from federation.chatonsinfos import chatons_info, parse_properties
from federation.context import Federation
from instance.app import create_app
from instance.config import Config, ConfigError, parse_config
from tests.conftest import TEST_DOMAIN

EXAMPLE = Path(__file__).resolve().parent.parent / "instance.example.toml"


def _example() -> dict:
    data = tomllib.loads(EXAMPLE.read_text())
    data["instance"]["secret_key"] = "s"
    return data


def test_example_documents_every_setting() -> None:
    data = _example()
    config = parse_config(data)
    sections = {f.name for f in dataclasses.fields(Config)} - {"path", "database_url"}
    for section in sections:
        settings = getattr(config, section)
        documented = set(data.get(section, {}))
        if section == "organization":  # coordinates are shown commented out
            documented |= {"latitude", "longitude"}
        assert {f.name for f in dataclasses.fields(settings)} == documented, section
    assert "url" in data["database"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"federation": {"clock_skew": 10}}, "unknown setting"),
        ({"nonsense": {}}, "unknown section"),
        ({"instance": {"domain": ""}}, "domain is required"),
        ({"instance": {"domain": "x", "scheme": "ftp", "secret_key": "s"}}, "scheme"),
        ({"directory": {"admission": "sometimes"}}, "admission"),
    ],
)
def test_mistakes_are_refused(change: dict, message: str) -> None:
    data = _example()
    for section, values in change.items():
        data.setdefault(section, {}).update(values)
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


async def test_chatonsinfos_files(fed: Federation, database_url: str) -> None:
    base = {
        "instance": {"domain": TEST_DOMAIN, "secret_key": "s", "title": "Vélos"},
        "database": {"url": database_url},
    }
    plain = create_app(parse_config(base), run_worker=False, fed=fed)
    org = {
        "name": "Coop des Pentes",
        "country_code": "FR",
        "city": "Lyon",
        "latitude": 45.77,
        "longitude": 4.83,
        "chatons_member_since": "2021-03-01",
    }
    with_org = create_app(parse_config({**base, "organization": org}), run_worker=False, fed=fed)
    url = f"https://{TEST_DOMAIN}"
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=plain), base_url=url) as c:
        service = await c.get("/.well-known/chatonsinfos/service.properties")
        assert (await c.get("/.well-known/chatonsinfos/organization.properties")).status_code == 404
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=with_org), base_url=url) as c:
        organization = await c.get("/.well-known/chatonsinfos/organization.properties")
    info = chatons_info(parse_properties(organization.text), parse_properties(service.text))
    assert info.software_name == "coopub"
    assert (info.organization_name, info.country_code, info.chatons_member) == (
        "Coop des Pentes",
        "FR",
        True,
    )
    assert (info.latitude, info.longitude) == (45.77, 4.83)
