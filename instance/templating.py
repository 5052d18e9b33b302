"""Jinja2 rendering with the page language chosen per request, and links from the path table."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from activitypub.urls import path_for
from instance.favicon import favicon_svg_path
from instance.forms.labels import KIND_LABELS, SHORT_PURPOSE, STATUS_LABELS, VEHICLE_LABELS
from instance.i18n import SUPPORTED, negotiate, translations
from instance.number_format import register_number_filters
from instance.stylesheet import stylesheet_path
from models.i18n import N_
from models.offers import OfferKind, OfferStatus, Purpose

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


_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-~/]")
"""What ``quote(text, safe="/")`` changes in ASCII text (each to ``%XX``)."""


def _percent(match: re.Match[str]) -> str:
    return f"%{ord(match[0]):02X}"


def _quoted(value: Any) -> str:
    """``quote(str(value), safe="/")``, as ``query_string`` quotes a key or a value: a fifth
    of its time for ASCII text (a search page quotes an offer's id in each result, whose
    only such character is most often the ``:`` of ``https:``)."""
    if isinstance(value, bytes):
        return quote(value, safe="/")
    text = str(value)
    return _UNSAFE.sub(_percent, text) if text.isascii() else quote(text, safe="/")


def _path_for(route: str, /, query: Mapping[str, Any] | None = None, **params: Any) -> str:
    """``path_for``, a path without parameters made once (the navigation's, on every page),
    and its query string quoted as ``query_string`` quotes it, faster."""
    if params or (query and not isinstance(query, dict)):
        return path_for(route, query=query, **params)
    if not query:
        return _fixed_path(route)
    pairs = (f"{_quoted(key)}={_quoted(value)}" for key, value in query.items())
    return f"{_fixed_path(route)}?{'&'.join(pairs)}"


env.globals["path_for"] = _path_for
"""Every link and form action in a template: ``path_for("edit_offer", uuid=offer.id)``."""
env.globals["stylesheet_path"] = cache(stylesheet_path)
env.globals["favicon_svg_path"] = cache(favicon_svg_path)
"""Both digest a file that does not change while serving: once per process, not per page."""
register_number_filters(env)


class Labels(dict[str, str]):
    """Values' labels in one language (``{"ride": "Trajet"}``); a value without a label is
    translated as itself, as ``kind_label`` and the other label helpers do."""

    def __init__(
        self, labels: Mapping[str, str], values: Iterable[str], gettext: Callable[[str], str]
    ) -> None:
        known = [str(v) for v in values]  # an enum's members as their values
        super().__init__({v: gettext(labels.get(v, v)) for v in known})
        self._labels, self._gettext = labels, gettext

    def __missing__(self, value: str) -> str:
        return self._gettext(self._labels.get(value, value))


@cache
def list_labels(lang: str) -> SimpleNamespace:
    """The labels a list of offers shows on each line (``kind_label(o.kind)``,
    ``purpose_label(o.kind, o.purpose, true)``, ``status_label``, ``vehicle_label``), made
    once per language: a dictionary look-up per line instead of a call of a helper."""
    gettext = translations(lang).gettext
    return SimpleNamespace(
        kind=Labels(KIND_LABELS, OfferKind, gettext),
        short_purpose=Labels(SHORT_PURPOSE, Purpose, gettext),
        status=Labels(STATUS_LABELS, OfferStatus, gettext),
        vehicle=Labels(VEHICLE_LABELS, VEHICLE_LABELS, gettext),
    )


env.globals["list_labels"] = list_labels
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
