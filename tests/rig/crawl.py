"""A crawl of a site's pages in a browser, each page checked for accessibility on the way
(``tests/rig/axe.py``): from a list of paths, then every same-origin link found on the pages."""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

from playwright.async_api import Page

from tests.rig.axe import problems

MAX_PAGES = 150
"""Per crawl: far more than the app has; stops a runaway one (pagination)."""
HTML = {"Accept": "text/html,application/xhtml+xml"}
TITLE = re.compile(r"<title>(.*?)</title>", re.S)
SKIPPED_PATHS = ("/logout",)
IGNORED_PARAMS = ("lang", "next")
"""The language switch (each crawl keeps its language) and the login form's way back."""


def key_of(url: str) -> str | None:
    """The page a same-origin link leads to, as ``path?query`` without the language switch,
    the login's way back and the fragment; None for a link the crawl does not follow."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.path in SKIPPED_PATHS:
        return None
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k not in IGNORED_PARAMS])
    return parts.path + (f"?{query}" if query else "")


@dataclass
class Crawl:
    """One person's pages in one language at one viewport: each page answering HTML is
    checked once (a redirect's target once, an error page once per status and title)."""

    page: Page
    base: str
    label: str
    seen: set[str] = field(default_factory=set)
    checked: set[str] = field(default_factory=set)
    visited: list[str] = field(default_factory=list)
    failures: dict[str, list[str]] = field(default_factory=dict)

    async def run(self, start: list[str]) -> None:
        queue = deque(start)
        while queue and len(self.visited) < MAX_PAGES:
            target = queue.popleft()
            if target in self.seen:
                continue
            self.seen.add(target)
            if not await self.is_new_page(target):
                continue
            await self.page.goto(self.base + target)
            self.visited.append(target)
            if found := await problems(self.page):
                self.failures[f"{self.label} {target}"] = found
            if self.page.url.startswith(self.base):
                queue.extend(k for k in await self.links() if k not in self.seen)

    async def is_new_page(self, target: str) -> bool:
        """Whether ``target`` answers an HTML page not checked yet (the browser would download
        a calendar, show JSON as text)."""
        answer = await self.page.request.get(self.base + target, headers=HTML)
        if not answer.headers.get("content-type", "").startswith("text/html"):
            return False
        final = key_of(answer.url)
        if answer.status >= 400:  # an error page once, a form shown again with its errors too
            title = TITLE.search(await answer.text())
            final = f"{answer.status} {title[1] if title else ''}"
        if final is None or final in self.checked:
            return False
        self.checked.add(final)
        return True

    async def links(self) -> list[str]:
        hrefs: list[str] = await self.page.eval_on_selector_all(
            "a[href]", "links => links.map(a => a.href)"
        )
        keys = [key_of(h) for h in hrefs if h.startswith(self.base)]
        return [k for k in keys if k]
