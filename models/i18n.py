"""The catalogue's marker for messages kept as data (tables of labels, error templates).

``N_("Cargo bike")`` returns its text unchanged: the table is translated where it is shown
(``gettext(VEHICLE_LABELS[v])``), and ``pybabel extract -F babel.cfg`` finds the message, so
tests/test_catalogue.py checks that it has a French translation. In the lowest layer so that
every layer can mark its tables.
"""

from __future__ import annotations


def N_(message: str) -> str:
    return message


def pN_(context: str, message: str) -> str:
    """``N_`` for a message with a context (``msgctxt``), looked up with ``pgettext(context,
    message)``: the same English said otherwise in French in another place."""
    return message
