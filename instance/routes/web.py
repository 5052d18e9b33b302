"""The member's web pages: log in and out, post / edit / close / delete offers, search, my offers.

Thin handlers over the same services as the JSON API (``federation.services.offers``,
``federation.services.search``). Every POST checks the session's CSRF token first. Errors on
these pages are always shown as HTML pages, whatever the ``Accept`` header says.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Awaitable, Callable
from types import SimpleNamespace
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from activitypub.offer_errors import InvalidOffer, OfferError
from activitypub.offer_facts import field_facts
from activitypub.offer_model import describe
from activitypub.urls import path_for
from federation.services import offers as service
from federation.services.offers import CLOSED_STATES
from federation.services.search import InvalidSearch, parse_search, search_offers
from instance import sessions
from instance.errors import status_for
from instance.forms.display import register_template_helpers
from instance.forms.labels import ERROR_LABELS, KIND_LABELS, timezone_choices
from instance.forms.layout import FORM_FIELDS, FORMS
from instance.forms.messages import refusal_text, search_refusal
from instance.forms.places import Confirmation, confirm_places
from instance.forms.prefill import new_offer_values, offer_values
from instance.forms.read import form_to_offer, form_values
from instance.i18n import negotiate, translations
from instance.login_limits import LoginLimits, LoginLocked
from instance.negotiation import wants_html
from instance.offer_view import SUMMARY_COLUMNS, offer_summary, offer_to_api, pages_of
from instance.page_cache import kept_for_visitors
from instance.place_names import finder
from instance.rate_limits import client_address
from instance.templating import env, render
from models.actors import LocalActor
from models.errors import CoopubError
from models.offers import Offer, OfferKind, OfferStatus

log = logging.getLogger(__name__)
register_template_helpers(env)

NO_STORE = {"Cache-Control": "private, no-store"}
Handler = Callable[[Request], Awaitable[Response]]


def gettext(request: Request) -> Callable[[str], str]:
    return translations(negotiate(request)).gettext


def page(handler: Handler) -> Handler:
    """Refusals on the web pages as an HTML page, in the page's language."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        try:
            return await handler(request)
        except CoopubError as exc:
            status = status_for(exc)
            log.info(
                "request refused",
                extra={"path": request.url.path, "status": status, "detail": exc.detail},
            )
            message = refusal_text(exc, gettext(request))
            context = {"status": status, "message": message, "errors": {}}
            return render(request, "error.html", context, status, headers=NO_STORE)

    return wrapper


def safe_next(target: str | None, default: str | None = None) -> str:
    """Only a path on this site (no ``//host`` or backslash tricks); else ``default``, or the
    member's offers."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default or path_for("my_offers")
    return target


def login_path(target: str) -> str:
    """The login page, coming back to ``target`` (a path on this site) once logged in."""
    return path_for("login", query={"next": target})


def to_login(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(login_path(target), status_code=303)


def see_other(path: str) -> Response:
    return RedirectResponse(path, status_code=303)


def offer_path(offer: Offer, name: str = "offer") -> str:
    """The offer's page, or the path ``name`` of one of its actions (``edit_offer``…)."""
    return path_for(name, uuid=offer.local_uuid)


def form_page(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> Response:
    context = {"csrf_token": sessions.csrf_token(request), **context}
    return render(request, template, context, status, headers=NO_STORE)


# --- logging in -----------------------------------------------------------------------------


@page
async def login_page(request: Request) -> Response:
    member = await sessions.current_member(request)
    context = {
        "member": member,
        "next": safe_next(request.query_params.get("next")),
        "username": "",
        "failed": False,
    }
    return form_page(request, "login.html", context)


@page
async def login(request: Request) -> Response:
    form = await sessions.checked_form(request)
    username, password, target = (form.get(k) for k in ("username", "password", "next"))
    username = username.strip() if isinstance(username, str) else ""
    password = password if isinstance(password, str) else ""
    target = safe_next(target if isinstance(target, str) else None)
    limits: LoginLimits = request.app.state.limits.login
    address = client_address(request.scope)
    member = None
    try:
        await limits.check(username[:64], address)  # before any hashing work
    except LoginLocked as locked:
        return _login_locked(request, locked, username, target)
    if username and password:
        member = await sessions.authenticate(username[:64], password[:1024])
    if member is None:
        log.info("login refused", extra={"path": request.url.path, "username": username[:64]})
        if username and password:
            await limits.failed(username[:64], address)
        context = {"member": None, "next": target, "username": username, "failed": True}
        return form_page(request, "login.html", context, 401)
    await limits.succeeded(username[:64])
    sessions.log_in(request, member, request.app.state.fed.urls.actor(member))
    request.session["admin"] = member.is_admin  # only shows the nav's Admin link
    log.info("logged in", extra={"member": member.username})
    return see_other(target)


def _login_locked(request: Request, locked: LoginLocked, username: str, target: str) -> Response:
    """429 with ``Retry-After``: the login form saying how long to wait (JSON for programs)."""
    log.info("login locked", extra={"username": username[:64], "retry_after": locked.retry_after})
    headers = {**NO_STORE, "Retry-After": str(locked.retry_after)}
    if not wants_html(request):
        body = {"error": locked.public_message, "status": 429}
        return JSONResponse(body, status_code=429, headers=headers)
    minutes = max(1, math.ceil(locked.retry_after / 60))
    text = gettext(request)("Too many failed logins. Try again in %(minutes)d min.")
    context = {
        "csrf_token": sessions.csrf_token(request),
        "member": None,
        "next": target,
        "username": username,
        "failed": False,
        "locked": text % {"minutes": minutes},
    }
    return render(request, "login.html", context, 429, headers=headers)


@page
async def logout(request: Request) -> Response:
    await sessions.checked_form(request)
    sessions.log_out(request)
    return see_other(path_for("home"))


# --- posting and editing offers ---------------------------------------------------------------


def _error_labels(kind: str | None, errors: dict[str, OfferError]) -> dict[str, str]:
    """Labels of the problems shown above the form (about no input of it)."""
    labels = {}
    for name in errors:
        facts = field_facts(kind, name) if kind in FORMS else None
        labels[name] = ERROR_LABELS.get(name) or (facts.title if facts else name)
    return labels


def _offer_form(
    request: Request,
    *,
    kind: str | None,
    values: dict[str, Any],
    errors: InvalidOffer | None = None,
    action: str | None = None,
    offer: Offer | None = None,
    places: Confirmation | None = None,
    status: int = 200,
) -> Response:
    known = kind if kind in FORMS else None
    shown: dict[str, OfferError] = {}
    for problem in errors.problems if errors else ():
        shown.setdefault(problem.field, problem)
    context = {
        "kind": known,
        "kinds": KIND_LABELS,
        "fieldsets": FORMS[known] if known else (),
        "field_names": FORM_FIELDS.get(known or "", set()),
        "error_labels": _error_labels(known, shown),
        "values": values,
        "errors": shown,
        "action": action or path_for("new_offer"),
        "offer": offer,
        "timezones": timezone_choices(values.get("timezone") or ""),
        "places": places.view() if places else {},  # found by name, to confirm
    }
    return form_page(request, "offer_form.html", context, status)


@page
async def new_offer_page(request: Request) -> Response:
    if await sessions.current_member(request) is None:
        return to_login(request)
    kind = request.query_params.get("kind") or None
    values = new_offer_values(kind or "", negotiate(request))
    if kind is not None and kind not in FORMS:
        choices = {"choices": list(FORMS)}
        errors = InvalidOffer([OfferError("kind", "not_a_choice", choices)])
        return _offer_form(request, kind=None, values=values, errors=errors, status=400)
    return _offer_form(request, kind=kind, values=values)


@page
async def new_offer(request: Request) -> Response:
    form = await sessions.checked_form(request)
    member = await sessions.current_member(request)
    if member is None:
        return to_login(request)
    fed = request.app.state.fed
    values = form_values(form)
    kind = values.get("kind")
    places = await confirm_places(values, finder(request))
    try:
        described = form_to_offer(values, default_language=fed.site.languages[0])
        places.raise_problems()
        if places.pending:
            return _offer_form(request, kind=kind, values=values, places=places)
        offer = await service.create_offer(fed, member, described)
    except InvalidOffer as exc:
        errors = places.merged(exc)
        return _offer_form(
            request, kind=kind, values=values, errors=errors, places=places, status=422
        )
    return see_other(offer_path(offer))


async def _own_offer(request: Request) -> tuple[LocalActor, Offer] | None:
    member = await sessions.current_member(request)
    if member is None:
        return None
    return member, await service.local_offer(member, request.path_params["uuid"])


@page
async def edit_offer_page(request: Request) -> Response:
    own = await _own_offer(request)
    if own is None:
        return to_login(request)
    _, offer = own
    values = offer_values(describe(offer, owner=True))
    action = offer_path(offer, "edit_offer")
    return _offer_form(request, kind=values["kind"], values=values, action=action, offer=offer)


@page
async def edit_offer(request: Request) -> Response:
    form = await sessions.checked_form(request)
    own = await _own_offer(request)
    if own is None:
        return to_login(request)
    member, offer = own
    values = form_values(form)
    values["kind"] = OfferKind(offer.kind).value
    places = await confirm_places(values, finder(request))
    action = offer_path(offer, "edit_offer")
    try:
        described = form_to_offer(
            values, default_language=offer.language, previous=describe(offer, owner=True)
        )
        places.raise_problems()
        if places.pending:
            kind = values["kind"]
            return _offer_form(
                request, kind=kind, values=values, action=action, offer=offer, places=places
            )
        await service.update_offer(request.app.state.fed, member, offer, described)
    except InvalidOffer as exc:
        return _offer_form(
            request,
            kind=values["kind"],
            values=values,
            errors=places.merged(exc),
            action=action,
            offer=offer,
            places=places,
            status=422,
        )
    return see_other(offer_path(offer))


async def _change_status(request: Request, status: OfferStatus) -> Response:
    await sessions.checked_form(request)
    own = await _own_offer(request)
    if own is None:
        return to_login(request)
    member, offer = own
    await service.set_status(request.app.state.fed, member, offer, status)
    return see_other(offer_path(offer))


@page
async def close_offer(request: Request) -> Response:
    return await _change_status(request, OfferStatus.CLOSED)


@page
async def cancel_offer(request: Request) -> Response:
    return await _change_status(request, OfferStatus.CANCELLED)


@page
async def delete_offer_page(request: Request) -> Response:
    own = await _own_offer(request)
    if own is None:
        return to_login(request)
    _, offer = own
    return form_page(request, "offer_delete.html", {"offer": offer})


@page
async def delete_offer(request: Request) -> Response:
    await sessions.checked_form(request)
    own = await _own_offer(request)
    if own is None:
        return to_login(request)
    member, offer = own
    await service.delete_offer(request.app.state.fed, member, offer)
    return see_other(path_for("my_offers"))


# --- search and lists -------------------------------------------------------------------------


@kept_for_visitors
@page
async def search_page(request: Request) -> Response:
    query = {k: v for k, v in request.query_params.items() if k != "lang"}
    results: list[SimpleNamespace] = []
    error = None
    next_page = None
    try:
        params = parse_search(query)
        viewer = await sessions.current_member(request)
        found = await search_offers(params, viewer, columns=SUMMARY_COLUMNS)
    except InvalidSearch as exc:
        error = search_refusal(exc.problem, gettext(request))
    else:
        pages = await pages_of(found)
        results = [offer_summary(o, pages[o.id]) for o in found]
        if len(found) >= params.limit:
            more = {**query, "offset": params.offset + params.limit}
            next_page = path_for("search", query=more)
    context = {
        "values": query,
        "results": results,
        "error": error,
        "searched": bool(query),
        "next_page": next_page,
        "kinds": KIND_LABELS,
    }
    return render(request, "search.html", context, 400 if error else 200)


@page
async def my_offers(request: Request) -> Response:
    member = await sessions.current_member(request)
    if member is None:
        return to_login(request)
    fed = request.app.state.fed
    offers = await Offer.filter(author_id=member.id).order_by("starts_at", "id")
    items = [
        {
            **offer_to_api(fed, o),
            "closed": o.status in CLOSED_STATES,
            "pinned": o.pinned_at is not None,
        }
        for o in offers
    ]
    return form_page(request, "my_offers.html", {"offers": items, "member": member})
