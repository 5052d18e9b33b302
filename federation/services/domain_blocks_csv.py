"""Domain blocks in Mastodon's CSV format, both ways, so a list moves between servers.

Mastodon (``Admin::ExportDomainBlocksController``) writes one header line,
``#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate``, then a line per
block, its booleans ``true``/``false`` and its severity ``suspend``, ``silence`` (our limit) or
``noop``. An import keeps every valid line and reports each refused one with its line number
and the reason; a domain already blocked here is left as it is (as Mastodon does).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from federation.context import Federation
from federation.services.domain_blocks import block_domain, list_blocks, normalize_domain
from models.errors import CoopubError, Malformed
from models.i18n import N_
from models.moderation import BlockSeverity, DomainBlock

HEADER = (
    "#domain",
    "#severity",
    "#reject_media",
    "#reject_reports",
    "#public_comment",
    "#obfuscate",
)
SEVERITY_OUT = {BlockSeverity.SUSPEND: "suspend", BlockSeverity.LIMIT: "silence"}
SEVERITY_IN = {
    "suspend": BlockSeverity.SUSPEND,
    "silence": BlockSeverity.LIMIT,
    "limit": BlockSeverity.LIMIT,
}
BOOLEANS = {"true": True, "false": False, "1": True, "0": False, "": False}
MAX_LINES = 20_000
"""As Mastodon: lines past this are not read."""

# Reasons a line is refused (msgids: the admin page shows them translated).
NO_DOMAIN = N_("no domain")
BAD_SEVERITY = N_("unknown severity: suspend, silence or limit")
BAD_BOOLEAN = N_("a flag that is neither true nor false")
ALREADY = N_("already blocked")


class NotBlocklist(Malformed):
    public_message = (
        "Not a domain block list: the first line must be Mastodon's header (#domain,#severity,…)"
    )


@dataclass(frozen=True)
class RefusedLine:
    line: int
    text: str
    """The domain as written (or the start of the line)."""
    reason: str
    """A msgid: ``NO_DOMAIN``, ``BAD_SEVERITY``… or an error's ``public_message``."""


@dataclass
class ImportReport:
    blocked: list[str] = field(default_factory=list)
    refused: list[RefusedLine] = field(default_factory=list)


def _flag(value: str | None) -> bool:
    text = (value or "").strip().lower()
    if text not in BOOLEANS:
        raise ValueError(text)
    return BOOLEANS[text]


def export_csv(blocks: list[DomainBlock]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for b in blocks:
        writer.writerow(
            [
                b.domain,
                SEVERITY_OUT[BlockSeverity(b.severity)],
                str(b.reject_media).lower(),
                str(b.reject_reports).lower(),
                b.public_comment,
                str(b.obfuscate).lower(),
            ]
        )
    return out.getvalue()


async def export_blocks() -> str:
    return export_csv(await list_blocks())


def _rows(text: str) -> csv.DictReader[str]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    names = [n.strip().lower() for n in reader.fieldnames or []]
    if "#domain" not in names:
        raise NotBlocklist(f"header {names[:6]}")
    reader.fieldnames = names
    return reader


async def import_csv(fed: Federation, text: str, *, private_comment: str = "") -> ImportReport:
    """Block every valid line's domain not blocked yet; report the others."""
    report = ImportReport()
    reader = _rows(text)
    existing = {b.domain for b in await list_blocks()}
    for count, row in enumerate(reader):
        if count >= MAX_LINES:
            break
        line = reader.line_num
        written = (row.get("#domain") or "").strip()
        if not written:
            report.refused.append(RefusedLine(line, "", NO_DOMAIN))
            continue
        severity = SEVERITY_IN.get((row.get("#severity") or "suspend").strip().lower() or "suspend")
        if severity is None:
            report.refused.append(RefusedLine(line, written, BAD_SEVERITY))
            continue
        try:
            flags = {
                k: _flag(row.get(f"#{k}")) for k in ("reject_media", "reject_reports", "obfuscate")
            }
        except ValueError:
            report.refused.append(RefusedLine(line, written, BAD_BOOLEAN))
            continue
        try:
            domain = normalize_domain(written)
            if domain in existing:
                report.refused.append(RefusedLine(line, written, ALREADY))
                continue
            await block_domain(
                fed,
                domain,
                severity,
                public_comment=row.get("#public_comment") or "",
                private_comment=private_comment,
                **flags,
            )
        except CoopubError as exc:  # not a domain, our own domain
            report.refused.append(RefusedLine(line, written, exc.public_message))
            continue
        existing.add(domain)
        report.blocked.append(domain)
    return report
