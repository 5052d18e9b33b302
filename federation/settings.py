"""Protocol settings, declared once as typed models and filled from the TOML by `instance/config`.

Each field carries its type and range; `instance/config` turns a violation into one line naming
the file, section, key, value and what was expected. Defaults are the production values, and
`instance.example.toml` is tested to show exactly these defaults.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


class Section(BaseModel):
    """One ``[section]`` of ``instance.toml``: strict types (no ``"yes"`` for a boolean, no
    ``"3600"`` for a number), unknown keys refused, immutable once read."""

    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class FederationSettings(Section):
    """How this instance talks to others."""

    allow_private_addresses: bool = False
    """Permit outgoing requests to loopback/private/link-local addresses (tests, LANs only)."""
    clock_skew_seconds: int = Field(3600, ge=0, le=86_400)
    """Accepted difference between a signature's date and our clock, either way."""
    max_body_bytes: int = Field(1_048_576, ge=1024, le=100 * 1_048_576)
    authorized_fetch: bool = False
    """Refuse unsigned GETs of AS2 documents (the instance actor stays public)."""
    request_timeout_seconds: float = Field(10.0, gt=0, le=300)
    actor_refresh_hours: int = Field(24, ge=1, le=8760)
    retry_base_seconds: float = Field(60.0, gt=0, le=86_400)
    retry_max_delay_seconds: float = Field(86_400.0, gt=0, le=7 * 86_400)
    give_up_after_hours: float = Field(72.0, gt=0, le=720)
    unreachable_after_days: float = Field(7.0, gt=0, le=365)
    per_host_concurrency: int = Field(4, ge=1, le=64)
    worker_batch_size: int = Field(20, ge=1, le=1000)
    worker_poll_seconds: float = Field(1.0, gt=0, le=60)
    lease_seconds: float = Field(60.0, ge=1, le=3600)
    """How long a worker's claim on a queue row holds without renewal: a worker that dies leaves
    its rows to the others after at most this long."""
    lease_renew_seconds: float = Field(20.0, gt=0, le=1200)
    """How often a worker renews the lease of the rows it is still working on."""

    @field_validator("lease_renew_seconds")
    @classmethod
    def _renewed_within_lease(cls, value: float, info: ValidationInfo) -> float:
        lease = info.data.get("lease_seconds")
        if lease is not None and value >= lease:
            raise ValueError(f"less than lease_seconds ({lease})")
        return value


class DirectorySettings(Section):
    """Directory mode: this instance lists other instances and relays their public offers."""

    enabled: bool = False
    admission: Literal["open", "manual"] = "manual"
    """``open``: every candidate that passes the checks is admitted; ``manual``: an operator
    admits or rejects (``coopub directory admit|reject DOMAIN``)."""
    name: str = ""
    description: str = ""
    refresh_hours: float = Field(24.0, gt=0, le=8760)
    unreachable_days: float = Field(7.0, gt=0, le=365)
    remove_days: float = Field(30.0, gt=0, le=3650)


class RetentionSettings(Section):
    """How long finished background work is kept before the worker's upkeep purges it."""

    inbox_days: float = Field(14.0, gt=0, le=3650)
    """Processed incoming activities (done, ignored or failed)."""
    deliveries_days: float = Field(30.0, gt=0, le=3650)
    """Delivered or failed deliveries, and the non-public activities they carried."""
