"""French and English: the page language comes from a ``lang`` cookie, else ``Accept-Language``.

Catalogs are kept as ``.po`` text in ``instance/locale`` and compiled in memory when first used
(``activitypub/catalogue.py``, which the Fediverse posts use too), so no binary file is committed
and no build step is needed.
"""

from __future__ import annotations

from starlette.requests import Request

from activitypub.catalogue import LOCALE_DIR, SUPPORTED, translations

__all__ = ["LOCALE_DIR", "SUPPORTED", "negotiate", "translations"]


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
