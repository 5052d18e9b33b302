"""Jinja2 rendering with the page language chosen per request, and links from the path table."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from activitypub.urls import path_for
from instance.i18n import SUPPORTED, negotiate, translations
from instance.stylesheet import stylesheet_path

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"

env = Environment(
    loader=FileSystemLoader(TEMPLATE_DIR),
    autoescape=select_autoescape(["html"]),
    extensions=["jinja2.ext.i18n"],
    enable_async=False,
)
env.globals["path_for"] = path_for
"""Every link and form action in a template: ``path_for("edit_offer", uuid=offer.id)``."""
env.globals["stylesheet_path"] = stylesheet_path


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
