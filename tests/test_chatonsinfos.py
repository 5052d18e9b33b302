"""ChatonsInfos: the .properties parser, the listing built from it, and the files we publish."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from activitypub.chatonsinfos import ChatonsInfo, chatons_info
from activitypub.chatonsinfos_files import organization_properties, service_properties
from activitypub.properties import decode_properties, format_properties, parse_properties
from models.errors import Malformed

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "chatonsinfos"
TODAY = date(2024, 6, 1)
NOW = datetime(2024, 6, 1, 12, 30, 45, 123456, tzinfo=UTC)


def load(name: str) -> dict[str, str]:
    return parse_properties(decode_properties((FIXTURES / name).read_bytes()))


# --- Parser: one rule at a time ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a=b", {"a": "b"}),
        ("a:b", {"a": "b"}),
        ("a b", {"a": "b"}),
        ("a\tb", {"a": "b"}),
        ("a\fb", {"a": "b"}),
        ("a = b", {"a": "b"}),
        ("a   :   b", {"a": "b"}),
        # White space then = : the = is still the separator, only one is swallowed.
        ("a  = = b", {"a": "= b"}),
        ("a  b = c", {"a": "b = c"}),
        # The first separator wins; later ones belong to the value.
        ("url = https://x.example/?a=b#c", {"url": "https://x.example/?a=b#c"}),
        ("a:b=c", {"a": "b=c"}),
        ("a=b:c", {"a": "b:c"}),
        # Leading white space of the line and of the value goes; trailing stays.
        ("   \t a = b  ", {"a": "b  "}),
        # Empty values, with or without separator.
        ("a=", {"a": ""}),
        ("a", {"a": ""}),
        ("a   ", {"a": ""}),
        ("a =   ", {"a": ""}),
        # An empty key.
        ("=b", {"": "b"}),
        (": b", {"": "b"}),
    ],
)
def test_separators(text: str, expected: dict[str, str]) -> None:
    assert parse_properties(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("# comment\na=b", {"a": "b"}),
        ("! comment\na=b", {"a": "b"}),
        ("   # indented comment\na=b", {"a": "b"}),
        ("\t! indented comment\na=b", {"a": "b"}),
        # No inline comments: # and ! after the start are data.
        ("a = b # not a comment", {"a": "b # not a comment"}),
        ("a!b = c", {"a!b": "c"}),
        # A comment line does not continue, even ending with a backslash.
        ("# comment \\\na=b", {"a": "b"}),
        # Blank and white-space-only lines are skipped.
        ("\n\n  \t \n\fa=b\n\n", {"a": "b"}),
        ("", {}),
        ("# only a comment", {}),
    ],
)
def test_comments_and_blank_lines(text: str, expected: dict[str, str]) -> None:
    assert parse_properties(text) == expected


@pytest.mark.parametrize(
    ("escape", "char"),
    [
        ("\\t", "\t"),
        ("\\n", "\n"),
        ("\\r", "\r"),
        ("\\f", "\f"),
        ("\\\\", "\\"),
        ("\\=", "="),
        ("\\:", ":"),
        ("\\#", "#"),
        ("\\!", "!"),
        ("\\ ", " "),
        ("\\u0041", "A"),
        ("\\u00e9", "é"),
        ("\\u00E9", "é"),
        ("\\u20ac", "€"),
        # Any other escaped character is itself (Java drops the backslash).
        ("\\a", "a"),
        ("\\z", "z"),
        ("\\é", "é"),
        ('\\"', '"'),
    ],
)
def test_each_escape_in_a_value(escape: str, char: str) -> None:
    assert parse_properties(f"k = x{escape}y") == {"k": f"x{char}y"}


def test_escapes_in_keys_spaces_and_separators() -> None:
    text = "key\\ with\\ spaces = 1\nkey\\:colon\\=equals = 2\n\\#not\\ a\\ comment = 3\n"
    assert parse_properties(text) == {
        "key with spaces": "1",
        "key:colon=equals": "2",
        "#not a comment": "3",
    }


def test_escaped_leading_space_in_value_is_kept() -> None:
    assert parse_properties("k = \\  two spaces") == {"k": "  two spaces"}


def test_unicode_escapes_and_surrogate_pairs() -> None:
    text = "k = caf\\u00e9 \\ud83d\\ude00 \\uD83C\\uDF89\nliteral = déjà 😀\n"
    assert parse_properties(text) == {"k": "café 😀 🎉", "literal": "déjà 😀"}


def test_lone_surrogate_becomes_replacement_character() -> None:
    # A lone half cannot be encoded as UTF-8 later (database, HTML): replace it.
    assert parse_properties("k = a\\ud83db") == {"k": "a\ufffdb"}


@pytest.mark.parametrize("text", ["k = \\u12", "k = \\u", "k = \\u12g4", "\\uzzzz = v", "k=\\u00e"])
def test_truncated_or_bad_unicode_escape_is_malformed(text: str) -> None:
    with pytest.raises(Malformed):
        parse_properties(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # The backslash goes, the next line's leading white space goes.
        ("a = one \\\n    two", {"a": "one two"}),
        ("a = motor\\\n  cycle", {"a": "motorcycle"}),
        ("a = 1\\\n\t 2\\\n \f3", {"a": "123"}),
        # Continuation inside the key.
        ("ke\\\n  y = v", {"key": "v"}),
        # An even number of backslashes is an escaped backslash: no continuation.
        ("a = x\\\\\nb = y", {"a": "x\\", "b": "y"}),
        ("a = x\\\\\\\n  y", {"a": "x\\y"}),
        # A continuation line starting with # is data, not a comment.
        ("a = x\\\n  # y", {"a": "x# y"}),
        # A blank line after a continuation ends the logical line.
        ("a = x\\\n\nb = y", {"a": "x", "b": "y"}),
        ("a = x\\\n   \nb = y", {"a": "x", "b": "y"}),
        # A backslash at the very end of the file is dropped.
        ("a = x\\", {"a": "x"}),
        # A lone backslash line continues into the next line.
        ("\\\nkey = v", {"key": "v"}),
        # Continuations across CRLF and CR line ends.
        ("a = 1\\\r\n  2\r\nb = 3", {"a": "12", "b": "3"}),
        ("a = 1\\\r  2\rb = 3", {"a": "12", "b": "3"}),
    ],
)
def test_line_continuations(text: str, expected: dict[str, str]) -> None:
    assert parse_properties(text) == expected


@pytest.mark.parametrize("eol", ["\n", "\r\n", "\r"])
def test_line_ends(eol: str) -> None:
    text = eol.join(["# comment", "a = 1", "", "b = 2", ""])
    assert parse_properties(text) == {"a": "1", "b": "2"}


def test_mixed_line_ends() -> None:
    assert parse_properties("a=1\rb=2\r\nc=3\n\rd=4") == {"a": "1", "b": "2", "c": "3", "d": "4"}


def test_only_java_line_ends_split_lines() -> None:
    # Python's splitlines() would also split here; Java does not.
    text = "a = x\x0by\x1cz\x85w\u2028v\nb = 2"
    assert parse_properties(text) == {"a": "x\x0by\x1cz\x85w\u2028v", "b": "2"}


def test_bom_is_ignored() -> None:
    assert parse_properties("\ufeffa = 1\nb = 2") == {"a": "1", "b": "2"}


def test_later_duplicate_wins() -> None:
    assert parse_properties("a = 1\nb = 2\na = 3") == {"a": "3", "b": "2"}


def test_decode_utf8_with_and_without_bom() -> None:
    text = "organization.name = Écureuils 🐿\n"
    assert decode_properties(text.encode()) == text
    assert decode_properties(b"\xef\xbb\xbf" + text.encode()) == text


def test_decode_falls_back_to_iso_8859_1() -> None:
    data = "organization.name = Coopérative à Besançon\n".encode("iso-8859-1")
    assert parse_properties(decode_properties(data)) == {
        "organization.name": "Coopérative à Besançon"
    }


# --- Fixtures: real-looking published files ----------------------------------------------------


def test_member_organization_with_mastodon_service() -> None:
    info = chatons_info(
        load("organization.properties"), load("service-mastodon.properties"), today=TODAY
    )
    assert info == ChatonsInfo(
        organization_name="Écureuils Numériques",
        organization_description=(
            "Coopérative d'hébergement éthique en Chartreuse : courriel, agendas et réseaux "
            "sociaux fédérés."
        ),
        organization_website="https://www.ecureuils.example/",
        organization_logo="https://www.ecureuils.example/images/logo-écureuil.svg",
        organization_status="ACTIVE",
        country_code="FR",
        country_name="France",
        city="Saint-Laurent-du-Pont",
        latitude=45.3652,
        longitude=5.817,
        chatons_member=True,
        chatons_member_since="2019-06-17",
        service_name="Pouets des Écureuils",
        service_description=(
            "Instance Mastodon de la coopérative : micro-blogage fédéré, sans publicité ni pistage."
        ),
        service_website="https://pouets.ecureuils.example/",
        service_status="OK",
        registration="open",
        software_name="Mastodon",
        software_version="4.2.10",
        software_licence="AGPL-3.0",
        software_source_url="https://github.com/mastodon/mastodon",
        subs=(
            "https://www.ecureuils.example/.well-known/chatonsinfos/service-nextcloud.properties",
            "https://pouets.ecureuils.example/.well-known/chatonsinfos/service-mastodon.properties",
        ),
    )
    assert info.open_registrations is True


def test_fixture_file_headers() -> None:
    for name, file_class in [
        ("organization.properties", "organization"),
        ("service-mastodon.properties", "service"),
        ("organization-odd.properties", "organization"),
    ]:
        props = load(name)
        assert props["file.class"] == file_class
        assert props["file.protocol"] == "ChatonsInfos-0.5"


def test_oddly_formatted_former_member() -> None:
    props = load("organization-odd.properties")
    assert props["file.protocol"] == "ChatonsInfos-0.5"
    assert props["file.datetime"] == "2023-11-02T18:05:00"
    assert props["file.generator"] == "vim"
    assert props["chemin du partage:windows=oui"] == "C:\\Partage\\"
    assert props["subs.agenda"].startswith("https://agenda.")
    assert chatons_info(props, None, today=TODAY) == ChatonsInfo(
        organization_name="L’Atelier du Libre d’Île-de-Loire 🐾",
        organization_description=(
            "Association d’éducation populaire : ateliers, install-parties et hébergement de "
            "services libres.\nDepuis 2017."
        ),
        organization_website="https://atelier.example/",
        organization_logo="https://atelier.example/logo.png",
        organization_status="ACTIVE",
        country_code="FR",
        country_name="France",
        city="Nantes",
        latitude=47.2184,
        longitude=-1.5536,
        chatons_member=False,
        chatons_member_since="2019-03-01",
        subs=(
            "https://agenda.atelier.example/.well-known/chatonsinfos/agenda.properties",
            "https://pad.atelier.example/.well-known/chatonsinfos/pad.properties",
        ),
    )


def test_same_files_with_crlf_and_bom() -> None:
    raw = (FIXTURES / "organization-odd.properties").read_bytes()
    dos = b"\xef\xbb\xbf" + raw.replace(b"\n", b"\r\n")
    assert parse_properties(decode_properties(dos)) == load("organization-odd.properties")


# --- Listing rules ------------------------------------------------------------------------------


def test_missing_files_and_keys_give_an_empty_listing() -> None:
    assert chatons_info(None, None, today=TODAY) == ChatonsInfo()
    assert chatons_info({}, {}, today=TODAY).open_registrations is None


def test_organization_without_membership_is_not_a_member() -> None:
    org = {"organization.name": "Coop sans chatons", "organization.status.level": "ACTIVE"}
    info = chatons_info(org, None, today=TODAY)
    assert info.chatons_member is False
    assert info.chatons_member_since is None


@pytest.mark.parametrize(
    ("keys", "member"),
    [
        ({"startdate": "2020-01-01"}, True),
        ({"startdate": "2020-01-01", "enddate": ""}, True),
        ({"startdate": "2020-01-01", "enddate": "2030-01-01"}, True),
        ({"startdate": "2020-01-01", "enddate": "2024-06-01"}, True),
        ({"startdate": "2020-01-01", "enddate": "2024-05-31"}, False),
        ({"startdate": "2020-01-01", "enddate": "bientôt"}, False),
        ({"startdate": "2020-01-01", "status.level": "AWAY"}, False),
        ({"startdate": "2020-01-01", "status.level": "idle"}, True),
        ({"startdate": "2030-01-01"}, False),
        ({"status.level": "ACTIVE"}, True),
        ({"status.level": "AWAY"}, False),
        ({"status.description": "en pause"}, False),
        ({"startdate": "  "}, False),
        # A start date we cannot read still says "member"; it is just not shown.
        ({"startdate": "printemps 2019"}, True),
    ],
)
def test_chatons_membership(keys: dict[str, str], member: bool) -> None:
    org = {f"organization.memberof.chatons.{key}": value for key, value in keys.items()}
    assert chatons_info(org, None, today=TODAY).chatons_member is member


@pytest.mark.parametrize(
    ("registration", "load_", "expected"),
    [
        ("Free", "OPEN", "open"),
        ("free", None, "open"),
        ("None", "open", "open"),
        ("Member", "OPEN", "member"),
        ("Client", None, "client"),
        ("Free", "FULL", "closed"),
        ("Member", "full", "closed"),
        (None, "FULL", "closed"),
        ("Member;Free", None, "open"),
        ("Client, Member", None, "member"),
        ("", None, None),
        (None, None, None),
        ("Sometimes", "OPEN", None),
    ],
)
def test_registration_normalised(
    registration: str | None, load_: str | None, expected: str | None
) -> None:
    service = {}
    if registration is not None:
        service["service.registration"] = registration
    if load_ is not None:
        service["service.registration.load"] = load_
    assert chatons_info(None, service, today=TODAY).registration == expected


@pytest.mark.parametrize(
    ("latitude", "longitude", "expected"),
    [
        ("45.5", "-73.25", (45.5, -73.25)),
        ("+45,5", "-73,25", (45.5, -73.25)),
        ("90", "180", (90.0, 180.0)),
        ("90.0001", "180.5", (None, None)),
        ("nan", "inf", (None, None)),
        ("1e3", "0x10", (None, None)),
        ("", "  ", (None, None)),
        ("45°N", "4.5", (None, 4.5)),
    ],
)
def test_coordinates_validated(latitude: str, longitude: str, expected: tuple) -> None:
    org = {
        "organization.geolocation.latitude": latitude,
        "organization.geolocation.longitude": longitude,
    }
    info = chatons_info(org, None, today=TODAY)
    assert (info.latitude, info.longitude) == expected


def test_urls_must_be_http() -> None:
    org = {
        "organization.website": "javascript:alert(1)",
        "organization.logo": "data:image/png;base64,AAAA",
        "subs.a": "ftp://x.example/a.properties",
        "subs.b": "https://x.example/b.properties",
        "subs.c": '"https://x.example/c.properties"',
        "subs.d": "https://x.example/b.properties",
        "subs.e": "https://x.example/with space.properties",
        "subs.f": "//x.example/f.properties",
    }
    info = chatons_info(org, None, today=TODAY)
    assert info.organization_website is None
    assert info.organization_logo is None
    assert info.subs == ("https://x.example/b.properties", "https://x.example/c.properties")


def test_country_code_must_be_two_letters() -> None:
    assert chatons_info({"organization.country.code": " be "}, None).country_code == "BE"
    assert chatons_info({"organization.country.code": "FRA"}, None).country_code is None


def test_long_values_are_capped() -> None:
    info = chatons_info({"organization.description": "x" * 10_000}, None, today=TODAY)
    assert info.organization_description is not None
    assert len(info.organization_description) == 2000


# --- Writing and round trips ---------------------------------------------------------------------

TRICKY = [
    "plain",
    "",
    "Café « coop » = ☕ : #1 !",
    "line one\nline two\r\nline three\rend",
    "  leading spaces",
    "trailing spaces  ",
    "\tleading tab",
    "back\\slash\\",
    "\\",
    "ends with backslash-n \\n literally",
    "emoji 😀🎉🐿️ and ñ, ß, 中文",
    "#starts with hash",
    "!starts with bang",
    "=starts with equals",
    ":starts with colon",
    "https://x.example/a?b=c&d=e#f",
    "\\u0041 is not an escape here",
    "ctrl \x00 \x07 \x0b \x1b \x7f \x85 \u2028 \u2029 end",
    "\ufeffbom inside",
]


@pytest.mark.parametrize("value", TRICKY)
def test_format_properties_round_trips_values(value: str) -> None:
    text = format_properties([("k", value)])
    assert parse_properties(text) == {"k": value}
    text.encode("utf-8")  # always encodable


@pytest.mark.parametrize(
    "key", ["simple.key", "key with spaces", "k=e:y", "#hash", "!bang", "tab\tkey", "é.clé", ""]
)
def test_format_properties_round_trips_keys(key: str) -> None:
    assert parse_properties(format_properties([(key, "v")])) == {key: "v"}


def test_format_properties_many_pairs_and_header() -> None:
    pairs = [(f"k{i}", value) for i, value in enumerate(TRICKY)]
    text = format_properties(pairs, header="Header line\nsecond = line: #1")
    assert text.startswith("# Header line\n# second = line: #1\n")
    assert parse_properties(text) == dict(pairs)


def test_format_properties_keeps_text_readable() -> None:
    text = format_properties([("service.website", "https://coop.example/"), ("n", "Écureuil")])
    assert "service.website = https://coop.example/\n" in text
    assert "n = Écureuil\n" in text


SERVICE_ARGS = {
    "name": "Covoiturage de la Coop « Écureuil » : #1",
    "description": "Trajets partagés,\nlivraisons = entraide ! 🚲\nUn \\ pour tous.",
    "website": "https://coop.example/",
    "version": "0.1.0+git.abc",
    "source_url": "https://codeberg.org/coopub/coopub",
}


@pytest.mark.parametrize("registration_open", [True, False])
def test_service_properties_round_trip(registration_open: bool) -> None:
    text = service_properties(**SERVICE_ARGS, registration_open=registration_open, now=NOW)
    props = parse_properties(text)
    assert props["file.class"] == "Service"
    assert props["file.protocol"] == "ChatonsInfos-0.5"
    assert props["file.datetime"] == "2024-06-01T12:30:45"
    assert props["file.generator"] == "coopub"
    assert props["service.registration"] == ("Free" if registration_open else "Member")
    assert props["service.registration.load"] == "OPEN"
    assert props["software.license.url"] == "https://spdx.org/licenses/AGPL-3.0-or-later.html"
    info = chatons_info(None, props, today=TODAY)
    assert info.service_name == SERVICE_ARGS["name"]
    assert info.service_description == SERVICE_ARGS["description"]
    assert info.service_website == SERVICE_ARGS["website"]
    assert info.service_status == "OK"
    assert info.registration == ("open" if registration_open else "member")
    assert info.open_registrations is registration_open
    assert info.software_name == "coopub"
    assert info.software_version == "0.1.0+git.abc"
    assert info.software_licence == "AGPL-3.0-or-later"
    assert info.software_source_url == SERVICE_ARGS["source_url"]
    assert text.startswith("# ")
    assert "# [File]\n" in text and "# [Service]\n" in text and "# [Software]\n" in text


def test_file_datetime_is_utc_without_offset() -> None:
    paris = datetime(2024, 6, 1, 14, 30, 45, tzinfo=timezone(timedelta(hours=2)))
    text = service_properties(**SERVICE_ARGS, registration_open=True, now=paris)
    assert parse_properties(text)["file.datetime"] == "2024-06-01T12:30:45"


ORGANIZATION_ARGS = {
    "name": "Écureuils Numériques : coopérative = #1",
    "description": "Hébergement éthique\nen Chartreuse ! 🐿",
    "website": "https://www.ecureuils.example/",
    "email": "contact@ecureuils.example",
    "country_code": "fr",
    "city": "Saint-Laurent-du-Pont",
    "latitude": 45.36521234,
    "longitude": -0.5,
    "service_url": "https://coop.example/.well-known/chatonsinfos/service.properties",
}


def test_organization_properties_round_trip() -> None:
    text = organization_properties(**ORGANIZATION_ARGS, chatons_member_since="2019-06-17", now=NOW)
    props = parse_properties(text)
    assert props["file.class"] == "Organization"
    assert props["file.protocol"] == "ChatonsInfos-0.5"
    assert props["file.generator"] == "coopub"
    assert props["subs.coopub"] == ORGANIZATION_ARGS["service_url"]
    assert props["organization.contact.email"] == "contact@ecureuils.example"
    assert props["organization.geolocation.latitude"] == "45.36521234"
    assert props["organization.geolocation.longitude"] == "-0.5"
    info = chatons_info(props, None, today=TODAY)
    assert info.organization_name == ORGANIZATION_ARGS["name"]
    assert info.organization_description == ORGANIZATION_ARGS["description"]
    assert info.organization_website == ORGANIZATION_ARGS["website"]
    assert info.country_code == "FR"
    assert info.city == "Saint-Laurent-du-Pont"
    assert (info.latitude, info.longitude) == (45.36521234, -0.5)
    assert info.chatons_member is True
    assert info.chatons_member_since == "2019-06-17"
    assert info.subs == (ORGANIZATION_ARGS["service_url"],)


def test_organization_properties_minimal_non_member() -> None:
    args = {
        **ORGANIZATION_ARGS,
        "country_code": None,
        "city": None,
        "latitude": None,
        "longitude": None,
    }
    props = parse_properties(organization_properties(**args, chatons_member_since=None, now=NOW))
    assert not any(key.startswith("organization.memberof.") for key in props)
    assert not any(key.startswith("organization.geolocation.") for key in props)
    info = chatons_info(props, None, today=TODAY)
    assert info.chatons_member is False
    assert info.country_code is None
    assert info.subs == (ORGANIZATION_ARGS["service_url"],)


@pytest.mark.parametrize(
    "override",
    [
        {"country_code": "FRA"},
        {"latitude": 91.0},
        {"longitude": float("nan")},
        {"chatons_member_since": "17/06/2019"},
        {"chatons_member_since": "2019-02-30"},
    ],
)
def test_organization_properties_rejects_bad_settings(override: dict) -> None:
    args = {**ORGANIZATION_ARGS, "chatons_member_since": None, **override}
    with pytest.raises(Malformed):
        organization_properties(**args, now=NOW)


# --- Conformance with java.util.Properties --------------------------------------------------------

JAVA_PROBE = """
import java.io.*;
import java.nio.charset.StandardCharsets;
import java.util.*;

public class Probe {
    static String esc(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            if (c > 0x20 && c < 0x7f && c != '\\\\') b.append(c);
            else b.append(String.format("\\\\u%04x", (int) c));
        }
        return b.toString();
    }
    public static void main(String[] args) throws Exception {
        for (String path : args) {
            Properties p = new Properties();
            InputStream in = new FileInputStream(path);
            try (Reader r = new InputStreamReader(in, StandardCharsets.UTF_8)) {
                p.load(r);
            }
            System.out.println("FILE " + new File(path).getName());
            for (String k : new TreeSet<>(p.stringPropertyNames())) {
                System.out.println(esc(k) + " " + esc(p.getProperty(k)));
            }
        }
    }
}
"""


def _esc_like_java(text: str) -> str:
    units = text.encode("utf-16-be")
    out = []
    for i in range(0, len(units), 2):
        code = int.from_bytes(units[i : i + 2], "big")
        char = chr(code)
        out.append(char if 0x20 < code < 0x7F and char != "\\" else f"\\u{code:04x}")
    return "".join(out)


def test_parser_agrees_with_java(tmp_path: Path) -> None:
    """Never skipped: scripts/setup installs a JRE (``java Probe.java`` runs one source file)."""
    java = shutil.which("java")
    if java is None:
        pytest.fail("java is missing: run scripts/setup (it installs default-jre-headless)")
    samples = {
        "java-wiki.properties": (
            "# comment\n! comment\nwebsite = https://en.wikipedia.org/\nlanguage = English\n"
            "message = Welcome to \\\n          Wikipedia!\nkey\\ with\\ spaces = value\n"
            "tab : \\u0009\nempty\n  indented=1\na  = = b\nemoji = \\ud83d\\ude00 😀\n"
        ),
        "java-edges.properties": (
            'a = x\\\\\nb = x\\\\\\\n  y\nc = x\\\n\nd = 1\\\r\n  2\re = \\q\\"\\é\n'
            "f\\:g\\=h = i\n\\#j = k\nl = x\\\n  # y\nm = ctrl\x0b\x1c\x85\u2028end\n"
            "n = last\\"
        ),
        "written.properties": format_properties(
            [(f"k{i}", value) for i, value in enumerate(TRICKY)]
            + [(key, "v") for key in ["key with spaces", "k=e:y", "#hash", "!bang", "é.clé"]]
        ),
        "service.properties": service_properties(**SERVICE_ARGS, registration_open=True, now=NOW),
        "organization.properties": organization_properties(
            **ORGANIZATION_ARGS, chatons_member_since="2019-06-17", now=NOW
        ),
    }
    paths = []
    for name, text in samples.items():
        path = tmp_path / name
        path.write_bytes(text.encode("utf-8"))
        paths.append(path)
    for fixture in sorted(FIXTURES.glob("*.properties")):
        path = tmp_path / f"fixture-{fixture.name}"
        path.write_bytes(fixture.read_bytes())
        paths.append(path)
    (tmp_path / "Probe.java").write_text(JAVA_PROBE)
    result = subprocess.run(
        [java, str(tmp_path / "Probe.java"), *map(str, paths)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=90,
        check=True,
    )
    expected = []
    for path in paths:
        expected.append(f"FILE {path.name}")
        props = parse_properties(decode_properties(path.read_bytes()))
        for key in sorted(props, key=lambda k: k.encode("utf-16-be")):
            expected.append(f"{_esc_like_java(key)} {_esc_like_java(props[key])}")
    assert result.stdout.splitlines() == expected
