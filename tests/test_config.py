"""Configuration: the example file documents every setting; mistakes are refused clearly.
And what this instance publishes about itself for ChatonsInfos."""

from __future__ import annotations

import tomllib
from pathlib import Path

import httpx
import pytest

from activitypub.chatonsinfos import chatons_info
from activitypub.properties import parse_properties
from federation.context import Federation
from instance.app import create_app
from instance.config import Config, ConfigError, load_config, parse_config
from instance.processes import Layout, cores, serve_layout, worker_count
from tests.conftest import TEST_DOMAIN

EXAMPLE = Path(__file__).resolve().parent.parent / "instance.example.toml"


def _example() -> dict:
    data = tomllib.loads(EXAMPLE.read_text())
    data["instance"]["secret_key"] = "s"
    return data


def test_example_documents_every_setting_with_its_default() -> None:
    """Every declared setting appears in the example with exactly its default, so the example
    is the reference a host reads (coordinates are shown commented out, they have no default)."""
    data = _example()
    config = parse_config(data)
    for section, declared in Config.model_fields.items():
        model = declared.annotation
        documented = dict(data.get(section, {}))
        if section == "organization":
            assert "# latitude = " in EXAMPLE.read_text()
            documented |= {"latitude": None, "longitude": None}
        # absent means one per core: shown commented out, with an example value
        commented = {"server": "web_processes", "worker": "processes"}
        if section in commented:
            assert f"\n# {commented[section]} = 2\n" in EXAMPLE.read_text()
            documented |= {commented[section]: None}
        assert set(model.model_fields) == set(documented), section
        for key, field in model.model_fields.items():
            if field.is_required() or (section, key) in {("instance", "domain")}:
                continue
            default = field.get_default(call_default_factory=True)
            value = tuple(documented[key]) if isinstance(default, tuple) else documented[key]
            if (section, key) != ("database", "url"):
                assert value == default, f"[{section}] {key}"
    assert config.database.url.startswith("sqlite:///")  # made absolute
    assert tomllib.loads(EXAMPLE.read_text())["instance"]["secret_key"] == "CHANGE-ME"


@pytest.mark.parametrize(
    ("section", "key", "value", "line"),
    [
        (
            "federation",
            "clock_skew_seconds",
            "une heure",
            '[federation] clock_skew_seconds = "une heure": expected an integer',
        ),
        (
            "federation",
            "authorized_fetch",
            "yes",
            '[federation] authorized_fetch = "yes": expected true or false',
        ),
        ("server", "port", 99999, "[server] port = 99999: expected at most 65535"),
        ("server", "port", 0, "[server] port = 0: expected at least 1"),
        ("federation", "max_body_bytes", "1MB", '= "1MB": expected an integer'),
        ("federation", "worker_poll_seconds", 0, "expected greater than 0"),
        (
            "federation",
            "clock_skew",
            10,
            "[federation] clock_skew: unknown setting (did you mean clock_skew_seconds?",
        ),
        ("instance", "domain", "", '[instance] domain = "": expected a non-empty string'),
        ("instance", "domain", "https://velos.example/", "expected a lowercase host name"),
        ("instance", "scheme", "ftp", "[instance] scheme = \"ftp\": expected one of 'http' or"),
        ("instance", "secret_key", "CHANGE-ME", "expected a generated secret"),
        ("instance", "languages", ["fr", 3], "[instance] languages[1] = 3: expected a string"),
        ("directory", "admission", "sometimes", "expected one of 'open' or 'manual'"),
        ("directory", "enabled", 1, "[directory] enabled = 1: expected true or false"),
        ("organization", "latitude", 1000, "[organization] latitude = 1000: expected at most 90"),
        ("organization", "country_code", "FRANCE", "expected an ISO 3166 two-letter code"),
        ("organization", "email", "nobody", "expected an email address"),
        ("database", "url", "mysql://db/coopub", '[database] url = "mysql://db/coopub"'),
        ("retention", "inbox_days", -1, "[retention] inbox_days = -1: expected greater than 0"),
        ("metrics", "token", 42, "[metrics] token = 42: expected a string in quotes"),
        ("server", "web_processes", 0, "[server] web_processes = 0: expected at least 1"),
        ("server", "web_processes", "4", '[server] web_processes = "4": expected an integer'),
        ("server", "web_processes", 2.5, "[server] web_processes = 2.5: expected an integer"),
        ("worker", "processes", -1, "[worker] processes = -1: expected at least 1"),
        ("worker", "processes", True, "[worker] processes = true: expected an integer"),
        ("worker", "process", 2, "[worker] process: unknown setting (did you mean processes?"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_file_section_key_value_and_expectation(
    section: str, key: str, value: object, line: str
) -> None:
    data = _example()
    data.setdefault(section, {})[key] = value
    path = Path("/etc/coopub/instance.toml")
    with pytest.raises(ConfigError) as caught:
        parse_config(data, path)
    message = caught.value.public_message
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert line in message


def test_unknown_section_and_missing_section_are_named() -> None:
    data = _example()
    data["nonsense"] = {}
    with pytest.raises(ConfigError, match=r"unknown section \[nonsense\]"):
        parse_config(data)
    with pytest.raises(ConfigError, match=r"section \[instance\] is required"):
        parse_config({})


def test_unreadable_and_broken_files_are_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError, match="not found: run `coopub init"):
        load_config(missing)
    broken = tmp_path / "broken.toml"
    broken.write_text("[instance\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(broken)


def test_domain_port_is_known() -> None:
    data = _example()
    data["instance"]["domain"] = "localhost:8123"
    assert parse_config(data).instance.port == 8123
    data["instance"]["domain"] = "velos.example"
    assert parse_config(data).instance.port is None


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


def test_process_counts_default_to_the_cores_and_the_command_line_wins() -> None:
    data = _example()
    config = parse_config(data)
    assert config.server.web_processes is None and config.worker.processes is None
    assert cores() >= 1
    assert serve_layout(config) == Layout(web=cores(), workers=cores())
    assert worker_count(config) == cores()

    data["server"]["web_processes"] = 3
    data["worker"]["processes"] = 2
    config = parse_config(data)
    assert serve_layout(config) == Layout(web=3, workers=2)
    assert not serve_layout(config).worker_in_web_process
    assert serve_layout(config, web=1, workers=1).worker_in_web_process  # today's one process
    assert serve_layout(config, no_worker=True) == Layout(web=3, workers=0)
    assert worker_count(config) == 2 and worker_count(config, 5) == 5

    data["server"]["run_worker"] = False
    assert serve_layout(parse_config(data)).workers == 0
