"""French and English: the page language comes from a ``lang`` cookie, else ``Accept-Language``.

Catalogs are kept as ``.po`` text in ``instance/locale`` and compiled in memory at start-up, so no
binary file is committed and no build step is needed.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.requests import Request

LOCALE_DIR = Path(__file__).parent / "locale"
SUPPORTED = ("en", "fr")


@cache
def translations(lang: str) -> NullTranslations:
    po = LOCALE_DIR / f"{lang}.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def negotiate(request: Request, default: str = "en") -> str:
    chosen = request.query_params.get("lang") or request.cookies.get("lang")
    if chosen in SUPPORTED:
        return chosen
    header = request.headers.get("accept-language", "")
    ranked: list[tuple[float, str]] = []
    for part in header.split(","):
        piece = part.strip().split(";")
        tag = piece[0].strip().lower().split("-")[0]
        quality = 1.0
        for param in piece[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if tag in SUPPORTED:
            ranked.append((quality, tag))
    return max(ranked)[1] if ranked else default
