"""The French catalogue covers every message Babel extracts (babel.cfg: the Python code and the
templates), holds each msgid once, and keeps each message's placeholders."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

from babel.messages.pofile import read_po

from activitypub import bookings_errors, offer_errors, offer_words
from activitypub.catalogue import POST
from federation.services import bookings_texts
from instance import interactions_view
from instance.catalogue_extract import messages_of
from instance.forms import booking, labels
from instance.i18n import translations
from instance.routes import admin, bookings_web, dispatch
from tests.catalogue import CONFIG, FRENCH, ROOT, entries, extracted

PLACEHOLDER = re.compile(r"%\((\w+)\)[sdfr]|\{(\w*)\}")


def test_every_extracted_message_has_a_french_translation() -> None:
    """Missing, empty or fuzzy: each listed with where the code or a template uses it."""
    french = {e.key: e for e in entries()}
    missing = [
        str(m) + (" (fuzzy)" if m.key in french and french[m.key].fuzzy else "")
        for m in extracted().values()
        if m.key not in french or not french[m.key].msgstr or french[m.key].fuzzy
    ]
    assert not missing, f"{len(missing)} message(s) without French in {FRENCH.name}:\n" + "\n".join(
        missing
    )


def test_no_msgid_twice_in_the_catalogue() -> None:
    counted = Counter(e.key for e in entries())
    twice = [f"line {e.line}: {e.msgid!r}" for e in entries() if counted[e.key] > 1]
    assert not twice, "msgids written more than once in fr.po:\n" + "\n".join(twice)


def test_translations_keep_their_placeholders() -> None:
    """A msgstr that drops or renames ``%(max)s`` or ``{directory}`` breaks the page."""
    wrong = [
        f"line {e.line}: {e.msgid!r} -> {e.msgstr!r}"
        for e in entries()
        if e.msgstr
        and sorted(PLACEHOLDER.findall(e.msgid)) != sorted(PLACEHOLDER.findall(e.msgstr))
    ]
    assert not wrong, "placeholders differ:\n" + "\n".join(wrong)


def test_the_catalogue_compiles_and_is_used() -> None:
    with FRENCH.open("rb") as fh:
        catalog = read_po(fh, locale="fr")
    assert len(catalog) == len({e.key for e in entries()})
    assert translations("fr").gettext("Kind of offers") == "Type d’offres"
    assert translations("fr").pgettext("post", "Full") == "Complet"
    assert translations("fr").gettext("Full") == "Complète"  # the page's word, not the post's


def test_the_extractor_finds_the_routes_calls() -> None:
    source = (
        'flash(request, gettext(request)("Saved."))\n'
        '_ = gettext(request)\n_("Hello")\n'
        'trans.gettext("Bye")\n'
        'LABELS = {"a": N_("Ride")}\n'
        'ngettext("%(n)s seat", "%(n)s seats", n)\n'
        'WORDS = {"full": pN_("post", "Full")}\n'
        'raise NotFound(f"no {x}", "No such offer")\n'
        'class Refused(CoopubError):\n    public_message = "Refused."\n'
        'gettext(variable)\n_(f"{x}")\n'
    )
    found = [m for _line, _name, m, _c in messages_of(source, ("_", "gettext", "N_", "ngettext"))]
    assert found == [
        "Saved.",
        "Hello",
        "Bye",
        "Ride",
        ("%(n)s seat", "%(n)s seats"),
        ("post", "Full"),
        "No such offer",
        "Refused.",
    ]


def test_pybabel_extract_reads_the_same_messages(tmp_path: Path) -> None:
    """The command line, with babel.cfg, extracts what the test checks (the .pot goes to a
    temporary directory, never into the repository)."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "-q",
            "extract",
            "-F",
            str(CONFIG),
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
    )
    with pot.open("rb") as fh:
        command_line = {
            (m.context, m.id if isinstance(m.id, str) else m.id[0]) for m in read_po(fh) if m.id
        }
    assert command_line == set(extracted())


def _texts(table: object) -> Iterator[str]:
    if isinstance(table, dict):
        for value in table.values():
            yield from _texts(value)
    elif isinstance(table, tuple) and len(table) == 2 and isinstance(table[1], str):
        yield table[1]  # a (key, label) pair
    elif isinstance(table, tuple | list):
        for item in table:
            yield from _texts(item)
    elif isinstance(table, str):
        yield table


def test_every_label_table_is_marked() -> None:
    """The tables a page translates where it shows them (``gettext(KIND_LABELS[kind])``) hold
    only marked messages (``N_``): an entry added without it would escape the check above."""
    tables = {
        "labels": [getattr(labels, name) for name in dir(labels) if name.endswith("_LABELS")],
        "purposes": [labels.PURPOSE_LABELS, labels.SHORT_PURPOSE, labels.BOOKING_STATE_WORDS],
        "booking forms": [booking.FIELD_LABELS, booking.ASK_BUTTONS, booking.PRIVATE_LABELS],
        "dispatch": [dispatch.BOARD_STATUS_LABELS, dispatch.CLAIM_LABELS],
        "admin": [admin.MEMBERSHIP, admin.CHECK_LABELS, admin.QUEUE_LABELS],
        "flash": [bookings_web.DONE],
        "notifications": [interactions_view.WHAT],
        "refusals": [offer_errors.TEMPLATES, bookings_errors.TEMPLATES],
    }
    known = {msgid for _context, msgid in extracted()}
    unmarked = [
        f"{name}: {text!r}"
        for name, found in tables.items()
        for text in _texts(found)
        if text not in known
    ]
    assert not unmarked, "table entries not marked N_(...):\n" + "\n".join(unmarked)
    posts = {msgid for context, msgid in extracted() if context == POST}
    words = [
        *_texts([offer_words.LABELS, offer_words.STATUS_WORDS, offer_words.VEHICLE_WORDS]),
        *_texts([bookings_texts.TEXTS, bookings_texts.UNITS, bookings_texts.REFUSED]),
        *_texts(bookings_texts.OFFER_STATUS),
    ]
    assert not set(words) - posts, 'post words not marked pN_("post", ...)'
