"""Pages as a browser-like client sees them: the CSRF token of a form, and a session on a served
instance (the members that tests/rig/instances.py creates share one password)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from tests.rig.instances import Instance

PASSWORD = "correct horse battery"
HTML = {"Accept": "text/html"}


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


@asynccontextmanager
async def logged_in(instance: Instance, username: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client with a session on ``instance``, logged in through the login form."""
    async with httpx.AsyncClient(base_url=instance.base_url, headers=HTML) as http:
        page = await http.get("/login")
        r = await http.post(
            "/login",
            data={"csrf_token": csrf_of(page.text), "username": username, "password": PASSWORD},
        )
        assert r.status_code == 303, r.text
        yield http
