"""Web sessions: who is logged in, the CSRF token of the session, and the language choice.

The session is Starlette's signed cookie (itsdangerous, HttpOnly, SameSite=Lax, Secure when the
instance is served over https). It holds the member's id and a random CSRF token that every form
of the web pages carries in a hidden field and every POST checks.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from functools import cache
from typing import Any
from urllib.parse import parse_qsl

from starlette.datastructures import FormData, UploadFile
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from activitypub.json_body import NUL_MESSAGE
from instance.config import Config
from instance.i18n import SUPPORTED
from instance.passwords import verify_password
from instance.requests import read_body
from models.actors import ActorKind, LocalActor
from models.errors import Blocked, CoopubError, Malformed

SESSION_COOKIE = "coopub_session"
SESSION_DAYS = 14
LANG_COOKIE = "lang"
CSRF_FIELD = "csrf_token"
MAX_FORM = 64 * 1024
MAX_FIELDS = 200
MAX_FILES = 4


class CsrfRefused(Blocked):
    public_message = (
        "This form has expired or did not come from this site. "
        "Go back, reload the page and submit it again."
    )


class LanguageChoice:
    """Remember the language switch (``?lang=fr``) in a cookie, which ``i18n.negotiate``
    prefers over ``Accept-Language``: the choice then survives form posts and redirects."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        chosen = None
        if scope["type"] == "http":
            query = scope.get("query_string", b"").decode("latin-1")
            chosen = next((v for k, v in parse_qsl(query) if k == "lang"), None)
        if chosen not in SUPPORTED:
            await self.app(scope, receive, send)
            return

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = f"{LANG_COOKIE}={chosen}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax"
                message["headers"] = [*message.get("headers", []), (b"set-cookie", cookie.encode())]
            await send(message)

        await self.app(scope, receive, send_with_cookie)


def middleware(config: Config) -> list[Middleware]:
    # A key of its own for sessions, derived from the instance secret.
    key = hashlib.sha256(f"coopub-session:{config.instance.secret_key}".encode()).hexdigest()
    return [
        Middleware(
            SessionMiddleware,
            secret_key=key,
            session_cookie=SESSION_COOKIE,
            max_age=SESSION_DAYS * 24 * 3600,
            same_site="lax",
            https_only=config.instance.scheme == "https",
        ),
        Middleware(LanguageChoice),
    ]


def _session(request: Request) -> dict[str, Any]:
    return request.session if "session" in request.scope else {}


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created on first use (anonymous visitors get one too, for the
    login form)."""
    session = request.session
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


async def read_form(request: Request) -> FormData:
    """A bounded ``application/x-www-form-urlencoded`` body (the only kind our forms send)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise Malformed(f"form as {content_type!r}", "Expected a form (urlencoded)")
    body = await read_body(request, MAX_FORM)
    try:
        pairs = parse_qsl(
            body.decode("utf-8"),
            keep_blank_values=True,
            strict_parsing=False,
            max_num_fields=MAX_FIELDS,
        )
    except (UnicodeDecodeError, ValueError) as exc:
        raise Malformed("bad form body", "The form could not be read") from exc
    if any("\x00" in key or "\x00" in value for key, value in pairs):  # no text column holds it
        raise Malformed("NUL in a form", NUL_MESSAGE)
    items: list[tuple[str, str | UploadFile]] = list(pairs)  # FormData wants this (invariant) list
    return FormData(items)


async def checked_form(request: Request) -> FormData:
    """The posted form, after checking its CSRF token against the session's (a POST that is
    not a form cannot carry the token: refused the same way)."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        raise CsrfRefused(f"POST as {content_type!r}, no CSRF token")
    form = await read_form(request)
    _check_token(request, form)
    return form


def _check_token(request: Request, form: FormData) -> None:
    expected = _session(request).get("csrf")
    given = form.get(CSRF_FIELD)
    if (
        not isinstance(expected, str)
        or not isinstance(given, str)
        or not secrets.compare_digest(expected.encode(), given.encode())
    ):
        raise CsrfRefused("CSRF token missing or wrong")


async def checked_upload_form(request: Request, limit: int) -> FormData:
    """A posted form that may carry files (``multipart/form-data``, at most ``limit`` bytes in
    all), after the same CSRF check as ``checked_form``; its files are ``UploadFile``s, an
    empty file input an ``UploadFile`` of size 0. A plain urlencoded form is read as usual."""
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "multipart/form-data":
        return await checked_form(request)
    body = await read_body(request, limit)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        form = await Request(request.scope, replay).form(
            max_files=MAX_FILES, max_fields=MAX_FIELDS, max_part_size=MAX_FORM
        )
    except HTTPException as exc:  # Starlette's answer to a malformed multipart body
        raise Malformed(f"bad multipart body: {exc.detail}", "The form could not be read") from exc
    try:
        if any(isinstance(v, str) and ("\x00" in k or "\x00" in v) for k, v in form.multi_items()):
            raise Malformed("NUL in a form", NUL_MESSAGE)
        _check_token(request, form)
    except CoopubError:
        await form.close()  # its files' temporary copies
        raise
    return form


async def current_member(request: Request) -> LocalActor | None:
    member_id = _session(request).get("member")
    if not isinstance(member_id, int):
        return None
    member = await LocalActor.get_or_none(id=member_id, kind=ActorKind.MEMBER)
    stamp = _session(request).get("stamp")
    if (
        member is None
        or not may_log_in(member)  # deleted or disabled since: logged out
        or not isinstance(stamp, str)
        or not secrets.compare_digest(stamp, password_stamp(member))  # password changed since
    ):
        request.session.clear()
        return None
    return member


def password_stamp(member: LocalActor) -> str:
    """Derived from the password hash: a new password (``coopub member passwd``) ends every
    session opened with the old one."""
    return hashlib.sha256(f"session:{member.password_hash or ''}".encode()).hexdigest()[:32]


def may_log_in(member: LocalActor) -> bool:
    """Not disabled, deleted, nor suspended by a moderator (a session open then ends)."""
    return not member.disabled and member.deleted_at is None and member.suspended_at is None


@cache
def _dummy_hash() -> str:
    from instance.passwords import hash_password

    return hash_password("not a real password, for timing only")


async def authenticate(username: str, password: str) -> LocalActor | None:
    """The member with this username and password, or None (same work either way). A disabled
    member is refused as for a wrong password: the form tells nobody which accounts exist."""
    member = await LocalActor.get_or_none(username=username.strip().lower(), kind=ActorKind.MEMBER)
    stored = member.password_hash if member else None
    if not stored:  # no such member, or no password: the same hashing work, on a dummy hash
        stored = await asyncio.to_thread(_dummy_hash)
    ok = await asyncio.to_thread(verify_password, stored, password)
    if not ok or member is None or not member.password_hash or not may_log_in(member):
        return None
    return member


def log_in(request: Request, member: LocalActor, actor_uri: str) -> None:
    """A fresh session (and a fresh CSRF token) for this member."""
    session = request.session
    session.clear()
    session["member"] = member.id
    session["username"] = member.username
    session["actor"] = actor_uri
    session["stamp"] = password_stamp(member)
    session["csrf"] = secrets.token_urlsafe(32)


def log_out(request: Request) -> None:
    request.session.clear()
