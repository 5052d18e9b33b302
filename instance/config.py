"""Reading `instance.toml` into typed settings.

The file is found through `COOPUB_CONFIG`, else `./instance.toml`. Every setting is declared once
below (or in `federation/settings`) as a typed pydantic field with its range, and documented in
`instance.example.toml`. A wrong setting stops coopub with one line that names the file, the
section, the key, the value and what was expected.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Field,
    PrivateAttr,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from pydantic_core import ErrorDetails

from federation.services.geocoder import GeocoderSettings
from federation.settings import (
    DirectorySettings,
    FederationSettings,
    RetentionSettings,
    Section,
)
from models.errors import CoopubError


class ConfigError(CoopubError):
    public_message = "Configuration error"

    def __init__(self, message: str) -> None:
        super().__init__(message, message)


DEFAULT_CONFIG_PATH = "instance.toml"
PLACEHOLDER_SECRET = "CHANGE-ME"

EMAIL = r"^([^@\s]+@[^@\s]+\.[^@\s]+)?$"
LANGUAGE = r"^[a-z]{2,3}$"
COUNTRY = r"^([A-Z]{2})?$"
DATE = r"^(\d{4}-\d{2}-\d{2})?$"
PATTERNS = {
    EMAIL: "an email address (or empty)",
    LANGUAGE: "a language code such as fr",
    COUNTRY: "an ISO 3166 two-letter code such as FR (or empty)",
    DATE: "a date YYYY-MM-DD (or empty)",
}
Email = Annotated[str, StringConstraints(pattern=EMAIL)]
Language = Annotated[str, StringConstraints(pattern=LANGUAGE)]


class InstanceSettings(Section):
    domain: str = Field(min_length=1)
    """The public host[:port]; actor ids are built from it."""
    scheme: Literal["http", "https"] = "https"
    title: str = "coopub"
    description: str = "A cooperative instance of the Fediverse"
    languages: Annotated[tuple[Language, ...], Field(strict=False, min_length=1)] = ("fr", "en")
    secret_key: str = Field(min_length=1)
    contact_email: Email = ""

    @field_validator("domain")
    @classmethod
    def _host_and_port(cls, value: str) -> str:
        parts = urlsplit(f"//{value}")
        try:
            port = parts.port
        except ValueError as exc:
            raise ValueError("a host name with an optional :port (1-65535)") from exc
        if (
            not parts.hostname
            or parts.path
            or parts.query
            or parts.fragment
            or parts.username is not None
            or value != value.strip().lower()
            or (port is not None and port == 0)
        ):
            raise ValueError("a lowercase host name with an optional :port, e.g. velos.example")
        return value

    @field_validator("secret_key")
    @classmethod
    def _generated(cls, value: str) -> str:
        if value == PLACEHOLDER_SECRET:
            raise ValueError("a generated secret (coopub init writes one)")
        return value

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"

    @property
    def port(self) -> int | None:
        """The port written in ``domain``, if any."""
        return urlsplit(f"//{self.domain}").port


class DatabaseSettings(Section):
    url: str = "sqlite://data/coopub.sqlite3"

    @field_validator("url")
    @classmethod
    def _engine(cls, value: str) -> str:
        if not value.startswith(("sqlite://", "postgres://", "postgresql://")):
            raise ValueError("a sqlite://PATH or postgres://USER@HOST:PORT/NAME URL")
        return value


class ServerSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    run_worker: bool = True
    access_log: bool = True
    web_processes: int | None = Field(None, ge=1, le=1024)
    """Web processes sharing the listening socket; absent: one per core (instance/processes)."""
    page_cache_seconds: float = Field(10, ge=0, le=3600)  # instance/page_cache; 0: off


class WorkerSettings(Section):
    processes: int | None = Field(None, ge=1, le=1024)
    """Worker processes of ``coopub worker`` (and of ``coopub serve``); absent: one per core."""
    nice: int = Field(10, ge=0, le=19)
    """Added to the niceness of worker processes: on busy cores the web processes (what peers
    and browsers wait on) run first, the background work right after; 0: the same priority."""


class OrganizationSettings(Section):
    """Who runs this instance, published as ChatonsInfos ``organization.properties``."""

    name: str = ""
    description: str = ""
    website: str = ""
    email: Email = ""
    country_code: str = Field("", pattern=COUNTRY)
    city: str = ""
    latitude: float | None = Field(None, ge=-90, le=90)
    longitude: float | None = Field(None, ge=-180, le=180)
    chatons_member_since: str = Field("", pattern=DATE)


class MetricsSettings(Section):
    token: str = ""
    """Bearer token that opens ``/metrics`` to non-loopback clients; empty: loopback only."""


class LimitSettings(Section):
    """Rate limits (429 with ``Retry-After``). The request buckets are kept in memory by each
    web process (N processes: N times the limit); login failures are kept in the database, so
    a lockout holds across processes and restarts. A ``per_minute`` of 0 turns a limit off."""

    inbox_per_minute: float = Field(600.0, ge=0, le=1_000_000)
    """Activities accepted per verified remote host (the signer's host)."""
    inbox_burst: int = Field(1200, ge=1, le=1_000_000)
    refused_per_minute: float = Field(60.0, ge=0, le=1_000_000)
    """Requests refused before they could be verified, per client address: inbox posts with a
    bad signature or body, API calls with an unknown token. Past it, the address is answered
    429 before any work (no key fetched, nothing parsed)."""
    refused_burst: int = Field(120, ge=1, le=1_000_000)
    api_per_minute: float = Field(300.0, ge=0, le=1_000_000)
    """API requests per token (per client address for calls without a token)."""
    api_burst: int = Field(300, ge=1, le=1_000_000)
    login_account_failures: int = Field(5, ge=1, le=10_000)
    """Wrong passwords for one account before it is locked."""
    login_address_failures: int = Field(20, ge=1, le=10_000)
    """Wrong passwords from one client address (any account) before it is locked."""
    login_lock_seconds: float = Field(60.0, gt=0, le=86_400)
    """The first lock; each further failure after a lock doubles it."""
    login_lock_max_seconds: float = Field(3600.0, gt=0, le=7 * 86_400)
    """The longest lock (never shorter than the first)."""
    login_forget_hours: float = Field(24.0, gt=0, le=8760)
    """Failures older than this are forgotten (the worker's upkeep deletes them)."""
    join_per_minute: float = Field(2.0, ge=0, le=1_000_000)
    """Sign-up and "forgot password" forms posted per client address."""
    join_burst: int = Field(10, ge=1, le=1_000_000)


class MediaSettings(Section):
    """Uploaded images (avatars, headers, announcement pictures): where they are kept and how
    big an upload may be. Every image is decoded, checked and re-encoded (``instance/media``)."""

    directory: str = "data/media"
    """Where the image files are written (a relative path is relative to the config file)."""
    max_upload_bytes: int = Field(8 * 1_048_576, ge=1024, le=100 * 1_048_576)
    """Largest image file accepted, in bytes."""
    max_pixels: int = Field(40_000_000, ge=1, le=80_000_000)
    """Largest image accepted, in pixels (width × height), read from its header before it is
    decoded: a small file that would unpack into gigabytes (a decompression bomb) is refused."""


class SignupSettings(Section):
    """How people join without the command line (``federation/services/signup``)."""

    mode: Literal["invite", "approval", "open"] = "invite"
    """``invite``: only invitation links; ``approval``: anyone may ask, an admin decides;
    ``open``: anyone may sign up. Invitation links work in every mode."""
    invitation_days: float = Field(7.0, gt=0, le=365)
    """How long a new invitation link is valid unless its creator says otherwise."""
    reset_hours: float = Field(24.0, gt=0, le=24 * 30)
    """How long a password-reset link is valid (it works once)."""


class ModerationSettings(Section):
    """Domain blocks (``coopub domain``, ``/admin/blocks``)."""

    public_blocklist: bool = False
    """Publish the blocked domains, their level and public reason at ``/about/blocks``."""


class MailSettings(Section):
    """Outgoing email (password resets), through an SMTP server. No host: no email is sent,
    and a member who forgot their password asks an admin for a reset link."""

    host: str = ""
    port: int = Field(587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = "starttls"
    """``starttls`` (port 587), ``ssl`` (implicit TLS, port 465) or ``none`` (a local relay)."""
    username: str = ""
    password: str = ""
    from_address: str = Field("", validate_default=True)
    """The ``From:`` of every email coopub sends; required with a host."""
    timeout_seconds: float = Field(10.0, gt=0, le=300)

    @field_validator("from_address")
    @classmethod
    def _sender(cls, value: str, info: ValidationInfo) -> str:
        if value and not re.match(r"^[^@\s]+@[^@\s]+$", value):
            raise ValueError("an email address such as coopub@velos.example")
        if info.data.get("host") and not value:
            raise ValueError("an email address when [mail] host is set")
        return value

    @property
    def enabled(self) -> bool:
        return bool(self.host)


class Config(Section):
    instance: InstanceSettings
    database: DatabaseSettings = DatabaseSettings()
    server: ServerSettings = ServerSettings()
    worker: WorkerSettings = WorkerSettings()
    federation: FederationSettings = FederationSettings()
    directory: DirectorySettings = DirectorySettings()
    organization: OrganizationSettings = OrganizationSettings()
    retention: RetentionSettings = RetentionSettings()
    metrics: MetricsSettings = MetricsSettings()
    limits: LimitSettings = LimitSettings()
    media: MediaSettings = MediaSettings()
    geocoder: GeocoderSettings = GeocoderSettings()
    signup: SignupSettings = SignupSettings()
    mail: MailSettings = MailSettings()
    moderation: ModerationSettings = ModerationSettings()
    _path: Path | None = PrivateAttr(default=None)

    @property
    def path(self) -> Path | None:
        """The file this configuration was read from."""
        return self._path

    @property
    def database_url(self) -> str:
        return self.database.url


def config_path() -> Path:
    return Path(os.environ.get("COOPUB_CONFIG", DEFAULT_CONFIG_PATH))


def resolve_database_url(url: str, base_dir: Path) -> str:
    """Make a relative SQLite path relative to the config file, not to the current directory."""
    prefix = "sqlite://"
    if url.startswith(prefix):
        path = url[len(prefix) :]
        if path and path != ":memory:" and not path.startswith("/"):
            return prefix + str((base_dir / path).resolve())
    if url.startswith("postgresql://"):
        return "postgres://" + url[len("postgresql://") :]
    return url


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "{…}"
    return json.dumps(value, ensure_ascii=False, default=str)


def _expected(error: ErrorDetails, model: type[Section] | None, key: str) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    if kind == "extra_forbidden":
        known = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {close[0]}? " if close else ""
        return f"unknown setting ({hint}known: {', '.join(known)})"
    if kind == "missing":
        return "required, missing"
    bounds = {
        "greater_than": "greater than {gt}",
        "greater_than_equal": "at least {ge}",
        "less_than": "less than {lt}",
        "less_than_equal": "at most {le}",
    }
    types = {
        "int_type": "an integer",
        "float_type": "a number",
        "bool_type": "true or false",
        "string_type": "a string in quotes",
        "tuple_type": "a list",
        "model_type": "a [section] table",
        "literal_error": "one of {expected}",
        "string_pattern_mismatch": "a value matching {pattern}",
        "string_too_short": "a non-empty string",
        "too_short": "a non-empty list",
        "value_error": "{reason}",
    }
    if kind == "string_pattern_mismatch" and ctx.get("pattern") in PATTERNS:
        return "expected " + PATTERNS[ctx["pattern"]]
    template = bounds.get(kind) or types.get(kind)
    if kind == "value_error":
        return "expected " + str(ctx.get("error", error["msg"])).removeprefix("Value error, ")
    if template is None:
        return "expected " + error["msg"][0].lower() + error["msg"][1:]
    return "expected " + template.format(**ctx)


def _describe(error: ErrorDetails, source: str, data: dict[str, Any]) -> str:
    """One line for the first error pydantic found, e.g.
    ``instance.toml: [server] port = 99999: expected at most 65535``."""
    loc = [str(part) for part in error["loc"]]
    if not loc:
        return f"{source}: {error['msg']}"
    section = loc[0]
    if len(loc) == 1:
        if error["type"] == "extra_forbidden":
            known = ", ".join(f"[{name}]" for name in Config.model_fields)
            return f"{source}: unknown section [{section}] (known: {known})"
        if error["type"] == "missing":
            return f"{source}: section [{section}] is required"
        return f"{source}: [{section}] must be a table of settings"
    key = loc[1]
    field = Config.model_fields.get(section)
    annotation = field.annotation if field else None
    model: type[Section] | None = None
    if isinstance(annotation, type) and issubclass(annotation, Section):
        model = annotation
    value: Any = data
    for part in error["loc"]:  # the offending value itself, inside lists too
        try:
            value = value[part]
        except (KeyError, IndexError, TypeError):
            value = None
            break
    where = f"[{section}] {key}"
    if len(loc) > 2:
        where += "".join(f"[{part}]" for part in loc[2:])
    if error["type"] == "missing":
        return f"{source}: {where} is required"
    if error["type"] == "extra_forbidden":
        return f"{source}: {where}: {_expected(error, model, key)}"
    return f"{source}: {where} = {_toml(value)}: {_expected(error, model, key)}"


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    source = str(path) if path else "configuration"
    try:
        config = Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc.errors()[0], source, data)) from None
    base_dir = path.parent if path else Path.cwd()
    url = resolve_database_url(config.database.url, base_dir)
    media = config.media.model_copy(
        update={"directory": str((base_dir / config.media.directory).resolve())}
    )
    config = config.model_copy(update={"database": DatabaseSettings(url=url), "media": media})
    config._path = path
    return config


def load_config(path: Path | None = None) -> Config:
    path = path or config_path()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(
            f"{path} not found: run `coopub init --domain DOMAIN` or set COOPUB_CONFIG"
        ) from None
    except PermissionError:
        raise ConfigError(f"{path}: permission denied (it is readable by its owner only)") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, path.resolve())


def set_setting(text: str, section: str, key: str, value: Any) -> str:
    """Replace ``key = …`` inside ``[section]`` of a TOML text, keeping its comments."""
    lines = text.splitlines(keepends=True)
    current = None
    for i, line in enumerate(lines):
        stripped = line.strip()
        if stripped.startswith("[") and stripped.endswith("]"):
            current = stripped[1:-1]
        elif current == section and re.match(rf"^{key}\s*=", stripped):
            lines[i] = f"{key} = {json.dumps(value)}\n"
            return "".join(lines)
    raise ConfigError(f"{key} not found in [{section}] of the example configuration")
