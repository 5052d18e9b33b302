"""The message catalogues (``instance/locale/<lang>.po``), compiled in memory when first used.

In the lowest layer that writes text for people, so that the pages (``instance/i18n``) and the
posts sent to the Fediverse (``offer_text``) read the same catalogue: a post's words are
translated like a page's, and tests/test_catalogue.py checks both. The files stay next to the
web layer, where translators look for them; no binary ``.mo`` is committed.
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

LOCALE_DIR = Path(__file__).resolve().parent.parent / "instance" / "locale"
SUPPORTED = ("en", "fr")
POST = "post"
"""The context (``msgctxt``) of the words sent to the Fediverse (posts, direct messages), kept
apart from the pages' own: the post says "Complet" where the offer page says "Complète". Tables
write it as a literal, ``pN_("post", "Full")``, which is what the extractor reads."""


@cache
def translations(lang: str) -> NullTranslations:
    """English is the msgids themselves; a language without a catalogue falls back to them."""
    po = LOCALE_DIR / f"{lang}.po"
    if not po.exists():
        return NullTranslations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=lang)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)
