"""Anonymous visitors' pages, kept a few seconds and served again while nothing was written.

A visitor without a cookie, a token or a signature sees the same page for the same URL and the
same ``Accept`` / ``Accept-Language``: the search page, an offer's page and the home page are
then rendered once and sent again, as Mastodon lets any cache keep its public pages for
anonymous visitors (``expires_in 10.seconds, public: true if current_account.nil?``). Unlike a
cache that only waits for the time to pass, a kept page is used only while the database's
``data_version`` (``models/data_version.py``: any write, by any process) is the one it was read
at: a new, changed or removed offer shows at once. The time bound (``[server]
page_cache_seconds``, 0: off) covers what changes without a write: the clock.

Members (a session cookie), API clients (a token) and servers (a signature) never get a kept
page, and a page is kept only when it is a plain 200 HTML answer that sets no cookie. Each web
process keeps its own few pages (``MAX_PAGES``).
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from models.data_version import data_version

MAX_PAGES = 256
"""Pages kept per web process (a search page is some 35 kB: under 9 MB)."""
PERSONAL = ("cookie", "authorization", "signature", "signature-input")
"""A request with any of these may be answered for who sends it: never from the cache."""
VARY = ("accept", "accept-language", "host")

Key = tuple[str, ...]
Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class KeptPage:
    version: str
    until: float
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes

    def response(self) -> Response:
        response = Response(self.body, status_code=self.status)
        response.raw_headers = list(self.headers)
        return response


class PageCache:
    """The kept pages of one web process, the least recently used first out."""

    def __init__(
        self, seconds: float, size: int = MAX_PAGES, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.seconds = seconds
        self.size = size
        self.clock = clock
        self.pages: OrderedDict[Key, KeptPage] = OrderedDict()
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(request: Request) -> Key | None:
        """What the page depends on besides the data, or None: not a page to keep."""
        if request.method not in ("GET", "HEAD") or any(h in request.headers for h in PERSONAL):
            return None
        scope = request.scope
        path = scope.get("root_path", "") + scope["path"]
        query = scope.get("query_string", b"").decode("latin-1")
        return (request.method, path, query, *(request.headers.get(h, "") for h in VARY))

    async def serve(self, request: Request, handler: Handler) -> Response:
        key = self.key(request) if self.seconds > 0 else None
        if key is None:
            return await handler(request)
        version = await data_version()  # before the page is read: a write after changes it
        kept = self.pages.get(key)
        if kept is not None and kept.version == version and self.clock() < kept.until:
            self.pages.move_to_end(key)
            self.hits += 1
            return kept.response()
        self.misses += 1
        response = await handler(request)
        if _keepable(response):
            self.pages[key] = KeptPage(
                version,
                self.clock() + self.seconds,
                response.status_code,
                list(response.raw_headers),
                bytes(response.body),
            )
            self.pages.move_to_end(key)
            while len(self.pages) > self.size:
                self.pages.popitem(last=False)
        return response


def _keepable(response: Response) -> bool:
    """A plain page: 200, HTML, whole in memory, no cookie set, not marked private."""
    headers = response.headers
    return (
        response.status_code == 200
        and headers.get("content-type", "").startswith("text/html")
        and "set-cookie" not in headers
        and "no-store" not in headers.get("cache-control", "")
        and isinstance(getattr(response, "body", None), bytes)
    )


def kept_for_visitors(handler: Handler) -> Handler:
    """``handler``'s pages kept for anonymous visitors by the app's ``PageCache``
    (``app.state.page_cache``; none: always rendered)."""

    @functools.wraps(handler)
    async def wrapper(request: Request) -> Response:
        cache: PageCache | None = getattr(request.app.state, "page_cache", None)
        if cache is None:
            return await handler(request)
        return await cache.serve(request, handler)

    return wrapper
