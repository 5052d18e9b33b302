"""Protocol settings as plain data, filled from the TOML by `instance/config`."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class FederationSettings:
    """How this instance talks to others. Defaults are the production values."""

    allow_private_addresses: bool = False
    """Permit outgoing requests to loopback/private/link-local addresses (tests, LANs only)."""
    clock_skew_seconds: int = 3600
    """Accepted difference between a signature's date and our clock, either way."""
    max_body_bytes: int = 1_048_576
    authorized_fetch: bool = False
    """Refuse unsigned GETs of AS2 documents (the instance actor stays public)."""
    request_timeout_seconds: float = 10.0
    actor_refresh_hours: int = 24
    retry_base_seconds: float = 60.0
    retry_max_delay_seconds: float = 86_400.0
    give_up_after_hours: float = 72.0
    unreachable_after_days: float = 7.0
    per_host_concurrency: int = 4
    worker_batch_size: int = 20
    worker_poll_seconds: float = 1.0


@dataclass(frozen=True)
class DirectorySettings:
    """Directory mode: this instance lists other instances and relays their public offers."""

    enabled: bool = False
    admission: str = "manual"
    """``open``: every candidate that passes the checks is admitted; ``manual``: an operator
    admits or rejects (``coopub directory admit|reject DOMAIN``)."""
    name: str = ""
    description: str = ""
    refresh_hours: float = 24.0
    unreachable_days: float = 7.0
    remove_days: float = 30.0
