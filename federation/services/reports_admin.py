"""The admins' side of reports (``/admin/reports``, ``coopub report``): the reports by state,
one report with what it names as we still have it, and closing it with one moderation action
(``account_moderation``: silence, suspend, remove an offer or a post) or a dismissal, logged as
a ``ModerationAction`` of its own. The report then records who closed it, and when."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from enum import StrEnum

from federation.context import Federation
from federation.services import account_moderation as moderation
from federation.services.reports import MAX_COMMENT
from models.actors import LocalActor
from models.errors import Conflict, Malformed, NotFound
from models.moderation import ActionKind, ModerationAction, Report, ReportState
from models.offers import Offer
from models.posts import Post

log = logging.getLogger(__name__)

PAGE_SIZE = 50


class Resolution(StrEnum):
    """What an admin may do with a report (``remove`` takes the offer or post id)."""

    DISMISS = "dismiss"
    SILENCE = "silence"
    SUSPEND = "suspend"
    REMOVE = "remove"


class AlreadyClosed(Conflict):
    public_message = "This report is already closed"


class NotReported(Malformed):
    public_message = "That offer or post is not part of the report"


async def list_reports(
    state: ReportState = ReportState.OPEN, limit: int = PAGE_SIZE
) -> list[Report]:
    return list(
        await Report.filter(state=state)
        .order_by("-created_at", "-id")
        .limit(limit)
        .prefetch_related("reporter", "resolved_by")
    )


async def get_report(report_id: int) -> Report:
    report = await Report.get_or_none(id=report_id).prefetch_related("reporter", "resolved_by")
    if report is None:
        raise NotFound(f"no report {report_id}", "No such report")
    return report


async def reported_objects(report: Report) -> tuple[list[Offer], list[Post], list[str]]:
    """The report's offers and posts as we still have them, and the ids of those gone."""
    offers = {o.ap_id: o for o in await Offer.filter(ap_id__in=report.object_uris)}
    posts = {p.ap_id: p for p in await Post.filter(ap_id__in=report.object_uris)}
    gone = [u for u in report.object_uris if u not in offers and u not in posts]
    ordered = report.object_uris
    return (
        [offers[u] for u in ordered if u in offers],
        [posts[u] for u in ordered if u in posts],
        gone,
    )


async def actions_on(report: Report) -> list[ModerationAction]:
    return list(await ModerationAction.filter(report_id=report.id).order_by("created_at", "id"))


async def _close(report: Report, state: ReportState, moderator: LocalActor | None) -> None:
    report.state = state
    report.resolved_by = moderator
    report.resolved_at = datetime.now(UTC)
    await report.save(update_fields=["state", "resolved_by_id", "resolved_at"])


async def resolve(
    fed: Federation,
    report: Report,
    how: Resolution,
    *,
    reason: str = "",
    moderator: LocalActor | None = None,
    object_uri: str = "",
) -> ModerationAction:
    """Close an open report with one moderation action (or a dismissal), logged with
    ``reason``; the report is then resolved (or dismissed) by ``moderator``."""
    if report.state != ReportState.OPEN:
        raise AlreadyClosed(f"report {report.id} is {report.state}")
    reason = reason.strip()[:MAX_COMMENT]
    if how is Resolution.DISMISS:
        action = await ModerationAction.create(
            kind=ActionKind.DISMISS,
            target_uri=report.target_uri,
            reason=reason,
            moderator=moderator,
            report=report,
        )
        await _close(report, ReportState.DISMISSED, moderator)
    else:
        if how is Resolution.SILENCE:
            action = await moderation.silence(
                fed, report.target_uri, reason=reason, moderator=moderator, report=report
            )
        elif how is Resolution.SUSPEND:
            action = await moderation.suspend(
                fed, report.target_uri, reason=reason, moderator=moderator, report=report
            )
        else:
            if object_uri not in report.object_uris:
                raise NotReported(f"{object_uri[:200]} not in report {report.id}")
            offer = await Offer.get_or_none(ap_id=object_uri)
            post = None if offer else await Post.get_or_none(ap_id=object_uri)
            if offer is not None:
                action = await moderation.remove_offer(
                    fed, offer, reason=reason, moderator=moderator, report=report
                )
            elif post is not None:
                action = await moderation.remove_post(
                    fed, post, reason=reason, moderator=moderator, report=report
                )
            else:
                raise NotFound(f"{object_uri[:200]} is gone", "That offer or post is gone")
        await _close(report, ReportState.RESOLVED, moderator)
    log.info(
        "report closed",
        extra={
            "report": report.id,
            "action": action.kind.value if isinstance(action.kind, ActionKind) else action.kind,
            "moderator": moderator.username if moderator else None,
        },
    )
    return action
