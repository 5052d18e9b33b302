"""Jinja2 rendering with the page language chosen per request, and links from the path table."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from activitypub.urls import path_for
from instance.favicon import favicon_svg_path
from instance.i18n import SUPPORTED, negotiate, translations
from instance.number_format import register_number_filters
from instance.stylesheet import stylesheet_path
from models.i18n import N_

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    enable_async=False,
    auto_reload=False,  # templates change with a new release, not while serving: no stat per page
)


@cache
def _fixed_path(route: str) -> str:
    return path_for(route)


def _path_for(route: str, /, query: Mapping[str, Any] | None = None, **params: Any) -> str:
    """``path_for``, a path without parameters made once (the navigation's, on every page)."""
    if query is None and not params:
        return _fixed_path(route)
    return path_for(route, query=query, **params)


env.globals["path_for"] = _path_for
"""Every link and form action in a template: ``path_for("edit_offer", uuid=offer.id)``."""
env.globals["stylesheet_path"] = cache(stylesheet_path)
env.globals["favicon_svg_path"] = cache(favicon_svg_path)
"""Both digest a file that does not change while serving: once per process, not per page."""
register_number_filters(env)
env.globals["N_"] = N_
"""Marks a macro's label for the catalogue: ``text_field("s", "q", N_("Text"))``."""


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    lang = negotiate(request)
    trans = translations(lang)
    site = getattr(request.app.state, "fed", None)
    values = {
        "request": request,
        "lang": lang,
        "languages": SUPPORTED,
        "site": site.site if site else None,
        "_": trans.gettext,
        "gettext": trans.gettext,
        "ngettext": trans.ngettext,
        **(context or {}),
    }
    html = env.get_template(template).render(values)
    all_headers = {"Vary": "Accept, Accept-Language, Cookie", "Content-Language": lang}
    all_headers.update(headers or {})
    return HTMLResponse(html, status_code=status_code, headers=all_headers)
