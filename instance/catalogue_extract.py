"""The Babel extractor for coopub's Python code (``babel.cfg``), on the syntax tree.

Babel's own Python extractor reads tokens, so it misses the routes' usual call,
``gettext(request)("Saved.")`` (a call on a call's result), and the messages the code passes
around as data and translates where they are shown. This one walks the tree and finds:

- a literal first argument of ``_("…")``, ``gettext("…")``, ``trans.gettext("…")``,
  ``gettext(request)("…")`` and ``N_("…")`` (a table's entry: ``models/i18n.py``), both
  texts of ``ngettext("…", "…", n)``, and the context and text of ``pgettext("post", "…")``
  and ``pN_("post", "…")``;
- an error's public message (``models/errors.py``), shown translated on the HTML error page:
  ``public_message = "…"`` in a class, ``public_message="…"`` in a call, and the second
  argument of ``raise NotFound(detail, "…")`` (the error classes of ``models/errors.py``);
- the ``title`` of an offer field, ``Field(title="…")``: the form's label
  (``activitypub/offer_schema.py``). Descriptions are API documentation; the few a form shows
  as help are in the catalogue, not extracted.

It yields what Babel's extractors yield, so ``pybabel extract -F babel.cfg`` and
tests/test_catalogue.py read the same messages.
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterator, Mapping
from typing import IO, Any

from models import errors

PLURAL = ("ngettext",)
CONTEXT = {"pgettext": "pgettext", "pN_": "pgettext"}
"""Calls whose first argument is the context (``msgctxt``), as Babel's ``pgettext`` keyword."""
PUBLIC = "public_message"
FIELD_TEXTS = ("title",)
ERRORS = frozenset(
    name
    for name, value in vars(errors).items()
    if isinstance(value, type) and issubclass(value, errors.CoopubError)
)
"""The classes whose second argument is the public message: ``NotFound(detail, public)``."""
Extracted = tuple[int, str | None, str | tuple[str, ...], list[str]]
"""Line, keyword (None for a message held as data), message, comments: as Babel expects."""


def _name(func: ast.expr) -> str | None:
    """The name a call goes through: ``_``, ``x.gettext`` or ``gettext(request)``."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Call):
        return _name(func.func)
    return None


def _literal(node: ast.expr | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value:
        return node.value
    return None


def _keyword_call(node: ast.Call, keywords: Collection[str]) -> Iterator[Extracted]:
    name = _name(node.func)
    if name in CONTEXT:
        name = CONTEXT[name]
    elif name not in keywords:
        return
    texts = [_literal(arg) for arg in node.args[: 2 if name in (*PLURAL, "pgettext") else 1]]
    if texts and all(texts):
        message = tuple(t for t in texts if t) if len(texts) > 1 else texts[0]
        yield (node.lineno, name, message or "", [])


def _data_messages(node: ast.AST) -> Iterator[Extracted]:
    """Messages held as data: public messages and offer fields' labels."""
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        text = _literal(node.value)
        if text and any(isinstance(t, ast.Name) and t.id == PUBLIC for t in targets):
            yield (node.lineno, None, text, [])
    elif isinstance(node, ast.Call):
        named = _name(node.func) == "Field"
        for keyword in node.keywords:
            text = _literal(keyword.value)
            if text and (keyword.arg == PUBLIC or (named and keyword.arg in FIELD_TEXTS)):
                yield (keyword.value.lineno, None, text, [])
    elif (
        isinstance(node, ast.Raise)
        and isinstance(node.exc, ast.Call)
        and _name(node.exc.func) in ERRORS
    ):
        arguments = node.exc.args
        text = _literal(arguments[1]) if len(arguments) >= 2 else None
        if text:
            yield (arguments[1].lineno, None, text, [])


def messages_of(source: str, keywords: Collection[str]) -> Iterator[Extracted]:
    """Every translatable literal in ``source`` (Python text), in the order of the file."""
    found: list[Extracted] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            found.extend(_keyword_call(node, keywords))
        found.extend(_data_messages(node))
    yield from sorted(found, key=lambda item: item[0])


def extract(
    fileobj: IO[bytes],
    keywords: Mapping[str, Any],
    comment_tags: Collection[str],
    options: Mapping[str, Any],
) -> Iterator[Extracted]:
    """Babel's extractor interface (``[instance.catalogue_extract.extract: **.py]`` in
    babel.cfg)."""
    encoding = str(options.get("encoding", "utf-8"))
    yield from messages_of(fileobj.read().decode(encoding), keywords)
