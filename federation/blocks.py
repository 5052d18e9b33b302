"""Domain blocks at the protocol level: is this host suspended or limited here?

A block covers the domain it names and every subdomain, on any port (Mastodon applies a block
of ``example.com`` to ``*.example.com``); a block naming a port (``host:8443``) covers that
authority only. The most specific block wins (a suspended ``bad.example.org`` under a limited
``example.org``).

The rules are read from the database and kept in this process for ``CACHE_SECONDS``, so that
every inbox request and every delivery costs no query, and several processes sharing the
database (``coopub serve``, ``coopub worker``, a CLI command) agree within seconds. A change
made in this process (``invalidate``) is seen at once.
"""

from __future__ import annotations

import ipaddress
import logging
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from tortoise.expressions import Q

from activitypub.urls import host_of
from models.actors import RemoteActor
from models.errors import Blocked, Malformed
from models.moderation import BlockSeverity, DomainBlock

log = logging.getLogger(__name__)

CACHE_SECONDS = 5.0
"""How long a process trusts its copy of the rules (a change elsewhere is seen within this)."""


class DomainSuspended(Blocked):
    """A request from, to or about a suspended domain: refused with 403 (inbox, signed GET),
    or not sent at all (deliveries, fetches)."""

    public_message = "This server does not federate with that domain"


class ActorSuspended(Blocked):
    """A request from or to one remote account the moderators suspended (its domain may be
    fine): refused with 403 at the inbox, nothing delivered to it."""

    public_message = "This server does not federate with that account"


@dataclass
class _Rules:
    by_domain: dict[str, BlockSeverity] = field(default_factory=dict)
    loaded_at: float = -math.inf
    logged: set[str] = field(default_factory=set)
    """Hosts whose refused outgoing request was logged already (once per host and load)."""


_rules = _Rules()


def invalidate() -> None:
    """Forget this process's copy: the next question reads the database."""
    _rules.loaded_at = -math.inf
    _rules.logged.clear()


async def rules() -> dict[str, BlockSeverity]:
    """Every block, domain → severity, as read at most ``CACHE_SECONDS`` ago."""
    now = time.monotonic()
    if now - _rules.loaded_at > CACHE_SECONDS:
        rows = await DomainBlock.all().values_list("domain", "severity")
        _rules.by_domain = {str(d): BlockSeverity(s) for d, s in rows}
        _rules.loaded_at = now
    return _rules.by_domain


def split_authority(authority: str) -> tuple[str, str | None]:
    """``host[:port]`` → (host, port or None); ``[::1]:80`` → (``[::1]``, ``80``)."""
    if authority.startswith("["):
        host, _, rest = authority.partition("]")
        port = rest[1:] if rest.startswith(":") and rest[1:].isdigit() else None
        return host + "]", port
    host, sep, port = authority.rpartition(":")
    if sep and port.isdigit():
        return host, port
    return authority, None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


def candidates(authority: str) -> list[str]:
    """The block domains that would cover ``authority``, most specific first:
    ``a.b.example:8443`` → ``a.b.example:8443``, ``a.b.example``, ``b.example``, ``example``."""
    authority = authority.lower().rstrip(".")
    host, port = split_authority(authority)
    host = host.rstrip(".")
    found = [f"{host}:{port}"] if port else []
    if _is_ip(host):
        return [*found, host]
    labels = host.split(".")
    return [*found, *(".".join(labels[i:]) for i in range(len(labels)))]


def covers(block_domain: str, authority: str) -> bool:
    """Whether a block of ``block_domain`` applies to ``authority``."""
    return block_domain in candidates(authority)


def rule_for(
    authority: str, by_domain: dict[str, BlockSeverity]
) -> tuple[str, BlockSeverity] | None:
    """The most specific block covering ``authority``: (its domain, its severity), or None."""
    for candidate in candidates(authority):
        if candidate in by_domain:
            return candidate, by_domain[candidate]
    return None


async def severity_of(authority: str) -> BlockSeverity | None:
    found = rule_for(authority, await rules()) if authority else None
    return found[1] if found else None


async def is_suspended(authority: str) -> bool:
    return await severity_of(authority) == BlockSeverity.SUSPEND


async def check_host(authority: str) -> None:
    """``DomainSuspended`` when ``authority`` is suspended."""
    if await is_suspended(authority):
        raise DomainSuspended(f"domain suspended: {authority}")


async def check_uri(uri: str | None) -> None:
    """``DomainSuspended`` when the URI's host is suspended (an unparseable URI is not ours to
    judge here: it is refused where it is read)."""
    if not uri:
        return
    try:
        authority = host_of(uri)
    except Malformed:
        return
    await check_host(authority)


async def refuse_outgoing(url: str) -> None:
    """The outbound client's guard: no request ever goes to a suspended host (logged once per
    host, not once per request)."""
    try:
        await check_uri(url)
    except DomainSuspended:
        authority = host_of(url)
        if authority not in _rules.logged:
            _rules.logged.add(authority)
            log.warning("request to a suspended domain refused", extra={"host": authority})
        raise


async def check_actor(uri: str | None) -> None:
    """``ActorSuspended`` when ``uri`` is a remote account suspended here. Read from the
    database each time (one lookup on a unique column): a suspension made by another process
    applies at once."""
    if uri and await RemoteActor.exists(ap_id=uri, suspended_at__isnull=False):
        raise ActorSuspended(f"actor suspended: {uri}")


async def suspended_inboxes(inboxes: Iterable[str]) -> set[str]:
    """Which of these inboxes are the own inbox of a suspended remote account."""
    wanted = set(inboxes)
    if not wanted:
        return set()
    found = await RemoteActor.filter(suspended_at__isnull=False).values_list("inbox", flat=True)
    return wanted & {str(i) for i in found}


async def suspended_among(authorities: Iterable[str]) -> set[str]:
    """Which of these hosts are suspended (one read of the rules for all)."""
    by_domain = await rules()
    return {
        a
        for a in authorities
        if (found := rule_for(a, by_domain)) and found[1] == BlockSeverity.SUSPEND
    }


async def domains_with(severity: BlockSeverity) -> list[str]:
    return sorted(d for d, s in (await rules()).items() if s == severity)


def authority_q(column: str, domains: Iterable[str]) -> Q | None:
    """A filter on a column holding authorities (``host[:port]``, lowercased: ``Offer.
    instance_domain``, ``RemoteActor.domain``, ``Delivery.host``) matching any of these blocks
    and their subdomains; None when there is none."""
    parts: list[Q] = []
    for domain in domains:
        parts.append(Q(**{column: domain}))
        if split_authority(domain)[1] is not None:
            continue  # a block naming a port covers that authority only
        parts.append(Q(**{f"{column}__startswith": f"{domain}:"}))
        if not _is_ip(domain):
            parts.append(Q(**{f"{column}__endswith": f".{domain}"}))
            parts.append(Q(**{f"{column}__contains": f".{domain}:"}))
    if not parts:
        return None
    return Q(*parts, join_type="OR")
