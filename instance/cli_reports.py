"""``coopub report``: the reports as the admins' page lists them, for a terminal (the same
services as ``/admin/reports``; closing a report stays on the page)."""

from __future__ import annotations

import argparse
from urllib.parse import urlsplit

from federation.context import Federation
from federation.services.reports_admin import get_report, list_reports, reported_objects
from instance.cli_common import with_db
from models.moderation import Report, ReportState


def _reporter(report: Report) -> str:
    if report.reporter is not None:
        return f"@{report.reporter.username}"
    return urlsplit(report.origin_uri or "").netloc or "?"


def _one_line(text: str, limit: int = 80) -> str:
    words = " ".join(text.split())
    return words if len(words) <= limit else words[: limit - 1] + "…"


@with_db
async def cmd_report_list(fed: Federation, args: argparse.Namespace) -> None:
    for r in await list_reports(ReportState(args.state), limit=1000):
        print(
            "\t".join(
                [
                    str(r.id),
                    ReportState(r.state).value,
                    r.created_at.isoformat(timespec="seconds"),
                    _reporter(r),
                    r.target_uri,
                    str(len(r.object_uris)),
                    _one_line(r.comment),
                ]
            )
        )


@with_db
async def cmd_report_show(fed: Federation, args: argparse.Namespace) -> None:
    report = await get_report(args.id)
    offers, posts, gone = await reported_objects(report)
    lines = [
        f"report {report.id}: {ReportState(report.state).value}",
        f"received: {report.created_at.isoformat(timespec='seconds')}",
        f"reported by: {_reporter(report)}"
        + (f" ({report.origin_uri})" if report.origin_uri else ""),
        f"account: {report.target_uri}",
    ]
    lines += [f"offer: {o.ap_id} {o.title}" for o in offers]
    lines += [f"post: {p.ap_id}" for p in posts]
    lines += [f"gone: {uri}" for uri in gone]
    if report.forward:
        when = report.forwarded_at.isoformat(timespec="seconds") if report.forwarded_at else "no"
        lines.append(f"forwarded: {when}")
    if report.resolved_at is not None:
        by = report.resolved_by.username if report.resolved_by else "command line"
        lines.append(f"closed: {report.resolved_at.isoformat(timespec='seconds')} by {by}")
    lines += ["comment:", report.comment or "(none)"]
    print("\n".join(lines))
