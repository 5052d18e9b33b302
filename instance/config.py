"""Reading `instance.toml` into typed settings.

The file is found through `COOPUB_CONFIG`, else `./instance.toml`. Every setting is documented in
`instance.example.toml`; a missing or misspelled setting is an error at start-up, not a surprise
at run time.
"""

from __future__ import annotations

import json
import os
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from federation.settings import DirectorySettings, FederationSettings
from models.errors import CoopubError


class ConfigError(CoopubError):
    public_message = "Configuration error"


DEFAULT_CONFIG_PATH = "instance.toml"


@dataclass(frozen=True)
class InstanceSettings:
    domain: str
    scheme: str = "https"
    title: str = "coopub"
    description: str = ""
    languages: tuple[str, ...] = ("fr", "en")
    secret_key: str = ""
    contact_email: str = ""

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.domain}"


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8000
    run_worker: bool = True


@dataclass(frozen=True)
class OrganizationSettings:
    """Who runs this instance, published as ChatonsInfos ``organization.properties``."""

    name: str = ""
    description: str = ""
    website: str = ""
    email: str = ""
    country_code: str = ""
    city: str = ""
    latitude: float | None = None
    longitude: float | None = None
    chatons_member_since: str = ""


@dataclass(frozen=True)
class Config:
    instance: InstanceSettings
    database_url: str
    server: ServerSettings = field(default_factory=ServerSettings)
    federation: FederationSettings = field(default_factory=FederationSettings)
    directory: DirectorySettings = field(default_factory=DirectorySettings)
    organization: OrganizationSettings = field(default_factory=OrganizationSettings)
    path: Path | None = None


def config_path() -> Path:
    return Path(os.environ.get("COOPUB_CONFIG", DEFAULT_CONFIG_PATH))


def _build(cls: type, section: str, data: dict[str, Any]) -> Any:
    known = {f.name: f for f in fields(cls)}
    unknown = sorted(set(data) - set(known))
    if unknown:
        raise ConfigError(f"unknown setting(s) in [{section}]: {', '.join(unknown)}")
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
    try:
        return cls(**values)
    except TypeError as exc:
        raise ConfigError(f"[{section}]: {exc}") from exc


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


def parse_config(data: dict[str, Any], path: Path | None = None) -> Config:
    sections = {"instance", "database", "server", "federation", "directory", "organization"}
    unknown = sorted(set(data) - sections)
    if unknown:
        raise ConfigError(f"unknown section(s): {', '.join(unknown)}")
    inst_data = dict(data.get("instance", {}))
    if not inst_data.get("domain"):
        raise ConfigError("[instance] domain is required")
    instance = _build(InstanceSettings, "instance", inst_data)
    if instance.scheme not in ("http", "https"):
        raise ConfigError("[instance] scheme must be 'http' or 'https'")
    if not instance.secret_key:
        raise ConfigError("[instance] secret_key is required (coopub init generates one)")
    db = dict(data.get("database", {}))
    url = db.pop("url", "sqlite://data/coopub.sqlite3")
    if db:
        raise ConfigError(f"unknown setting(s) in [database]: {', '.join(sorted(db))}")
    base_dir = path.parent if path else Path.cwd()
    return Config(
        instance=instance,
        database_url=resolve_database_url(url, base_dir),
        server=_build(ServerSettings, "server", data.get("server", {})),
        federation=_build(FederationSettings, "federation", data.get("federation", {})),
        directory=_directory(data.get("directory", {})),
        organization=_build(OrganizationSettings, "organization", data.get("organization", {})),
        path=path,
    )


def _directory(data: dict[str, Any]) -> DirectorySettings:
    settings = _build(DirectorySettings, "directory", data)
    if settings.admission not in ("open", "manual"):
        raise ConfigError("[directory] admission must be 'open' or 'manual'")
    return settings


def load_config(path: Path | None = None) -> Config:
    path = path or config_path()
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError as exc:
        raise ConfigError(
            f"{path} not found: run `coopub init` or set COOPUB_CONFIG",
            f"{path} not found",
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc
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
