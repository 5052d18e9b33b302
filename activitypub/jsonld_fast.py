"""Reading JSON-LD without an expand/compact round trip when the document's terms already mean
what ours mean.

Compacting an offer with pyld costs milliseconds, and almost every document we receive uses the
contexts we bundle (AS2, security v1, ours, Mastodon's usual extensions inline): then the
compacted form is the document itself, but for what compaction normalises (one-element arrays
become scalars, ``as:Public`` spelled as we spell it, nulls dropped, language tags lowercased).
``fast_compact`` does exactly that, term by term, and declines (returns None, and the caller runs
pyld) at the first thing it does not handle: a context URL we do not bundle, a term defined
differently from ours, a keyword, a scoped context, a value of an unusual shape. IRIs are
expanded and compacted by pyld's own functions, so the result is the one pyld gives
(``tests/test_jsonld_fast.py`` checks every fixture both ways).

Processed contexts are cached by their canonical JSON, so a context is processed once per
process.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import Any

from pyld import jsonld
from pyld.context_resolver import ContextResolver

Loader = Callable[[str, dict[str, Any]], dict[str, Any]]

_PROC = jsonld.JsonLdProcessor()
_CACHE_SIZE = 256
_DEF_KEYS = ("@id", "@type", "@language", "@direction", "@index", "@nest", "reverse", "@context")
_PLAIN_KEYWORDS = {"@id", "@type"}


class _Decline(Exception):
    """Something the fast path does not handle: pyld reads the document instead."""


def canonical(context: Any) -> str:
    return json.dumps(context, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Context:
    """A processed context, with what the fast path asks of it memoised."""

    def __init__(self, context: Any, loader: Loader) -> None:
        options = {
            "documentLoader": loader,
            "base": "",
            "contextResolver": ContextResolver(jsonld._resolved_context_cache, loader),
        }
        initial = _PROC._get_initial_context(options)
        self.active: dict[str, Any] = _PROC.process_context(initial, context, options)
        self.mappings: dict[str, Any] = self.active["mappings"]
        if any(m and "@context" in m for m in self.mappings.values()):
            self.usable = False  # scoped contexts change meaning by position
        else:
            self.usable = not any(self.active.get(k) for k in ("@language", "@direction"))
        self.terms_of: dict[str, list[str]] = {}
        for term, mapping in self.mappings.items():
            if mapping and mapping.get("@id"):
                self.terms_of.setdefault(mapping["@id"], []).append(term)
        # what pyld's IRI compaction would look for in an ``@id`` value: when none of these
        # starts it, the IRI comes back as it is (``compact`` skips pyld's loop over every term)
        self._curie_ids = tuple(
            m["@id"] for t, m in self.mappings.items() if ":" not in t and m and m.get("@id")
        )
        self._prefixes = tuple(t + ":" for t, m in self.mappings.items() if m and m["_prefix"])
        self._plain_ids = "@base" not in self.active
        self._definitions: dict[str, dict[str, Any] | None] = {}
        self._expanded: dict[tuple[str, bool, str | None], str | None] = {}
        self._compacted: dict[tuple[str, bool, str | None], str] = {}

    def definition(self, term: str) -> dict[str, Any] | None:
        if term in self._definitions:
            return self._definitions[term]
        mapping = self.mappings.get(term)
        found = None
        if mapping:
            found = {k: mapping.get(k) for k in _DEF_KEYS}
            found["@container"] = sorted(mapping.get("@container") or [])
        if len(self._definitions) < 4096:
            self._definitions[term] = found
        return found

    def expand(self, value: str, *, vocab: bool, base: str | None = "") -> str | None:
        """pyld's IRI expansion: keys with ``base=None``, ``@id`` and ``@type`` values with
        ``""``, as pyld's expansion calls it."""
        key = (value, vocab, base)
        if vocab and key in self._expanded:
            return self._expanded[key]
        found: str | None = _PROC._expand_iri(self.active, value, base=base, vocab=vocab)
        if vocab and len(self._expanded) < 4096:
            self._expanded[key] = found
        return found

    def compact(self, iri: str, *, vocab: bool, base: str | None = None) -> str:
        """pyld's IRI compaction: ``@id`` values with ``base=""``, keys and types without."""
        plain = not vocab and base == "" and self._plain_ids and not iri.startswith("@")
        if plain and not iri.startswith(self._curie_ids) and not iri.startswith(self._prefixes):
            return iri
        key = (iri, vocab, base)
        if vocab and key in self._compacted:
            return self._compacted[key]
        found: str = _PROC._compact_iri(self.active, iri, vocab=vocab, base=base)
        if vocab and len(self._compacted) < 4096:
            self._compacted[key] = found
        return found


_contexts: dict[str, Context] = {}


def processed(context: Any, loader: Loader) -> Context:
    """The processed ``context``, from this process's cache (keyed by its canonical JSON)."""
    key = canonical(context)
    found = _contexts.get(key)
    if found is None:
        if len(_contexts) >= _CACHE_SIZE:
            _contexts.pop(next(iter(_contexts)))
        found = _contexts[key] = Context(context, loader)
    return found


def known_context(context: Any, known_urls: frozenset[str]) -> bool:
    """A context made only of bundled URLs and inline term definitions (no keywords)."""
    parts = context if isinstance(context, list) else [context]
    for part in parts:
        if isinstance(part, str):
            if part.split("#")[0].rstrip("/") not in known_urls:
                return False
        elif isinstance(part, dict):
            if any(not isinstance(k, str) or k.startswith("@") for k in part):
                return False
            if any(not isinstance(v, str | dict) for v in part.values()):
                return False
        else:
            return False
    return True


def fast_compact(document: dict[str, Any], theirs: Context, ours: Context) -> dict[str, Any] | None:
    """``document`` compacted against ``ours`` as pyld would, or None when that needs pyld."""
    if not (theirs.usable and ours.usable):
        return None
    try:
        out = _Reader(theirs, ours).node(document, top=True)
    except _Decline:
        return None
    return out


class _Reader:
    def __init__(self, theirs: Context, ours: Context) -> None:
        self.theirs, self.ours = theirs, ours

    def node(self, obj: dict[str, Any], *, top: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in obj.items():
            if key == "@context":
                if top:
                    continue
                raise _Decline
            if not isinstance(key, str) or key.startswith("@") or key == "":
                raise _Decline
            iri = self.theirs.expand(key, vocab=True, base=None)
            if iri is None or not (jsonld._is_absolute_iri(iri) or jsonld._is_keyword(iri)):
                continue  # pyld drops a key that means nothing
            if iri in _PLAIN_KEYWORDS:
                out_key = self.ours.compact(iri, vocab=True)
                compacted = self.ids(value) if iri == "@id" else self.types(value)
            elif iri.startswith("@"):
                raise _Decline
            else:
                out_key, compacted = self.property(key, iri, value)
            if compacted is _DROPPED:
                continue
            if out_key in out:
                raise _Decline  # two keys merge into one: leave that to pyld
            out[out_key] = compacted
        if top and not any(k != "id" for k in out):
            raise _Decline  # a free-floating node: pyld drops it
        return out

    def ids(self, value: Any) -> str:
        if not isinstance(value, str):
            raise _Decline
        return self.iri_value(value)

    def iri_value(self, value: str) -> str:
        expanded = self.theirs.expand(value, vocab=False)
        if not isinstance(expanded, str) or expanded.startswith("@"):
            raise _Decline
        return self.ours.compact(expanded, vocab=False, base="")

    def types(self, value: Any) -> Any:
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) for v in values):
            raise _Decline
        types = []
        for v in values:
            expanded = self.theirs.expand(v, vocab=True)
            if not isinstance(expanded, str) or expanded.startswith("@"):
                raise _Decline
            types.append(self.ours.compact(expanded, vocab=True))
        return types[0] if len(types) == 1 else types

    def property(self, key: str, iri: str, value: Any) -> tuple[str, Any]:
        theirs = self.theirs.definition(key)
        ours = self.ours.definition(key)
        same_terms = self.ours.terms_of.get(iri, [])
        if theirs is not None and theirs == ours and theirs["@id"] == iri:
            if theirs["reverse"] or theirs["@nest"] or theirs["@index"]:
                raise _Decline
            if len(same_terms) > 1:
                if not self.language_pair(same_terms):
                    raise _Decline
                texts = value if isinstance(value, list) else [value]
                if not theirs["@container"] and not all(isinstance(t, str | None) for t in texts):
                    raise _Decline  # only plain texts are surely chosen for the plain term
            return key, self.values(value, theirs["@type"], theirs["@container"], same=True)
        if theirs is not None and ours is not None:
            raise _Decline  # a term of ours redefined: pyld reads what the sender means
        if theirs is None and len(same_terms) == 1:  # ``cp:kind``: our ``kind``, untyped
            term = same_terms[0]
            plain = self.ours.definition(term)
            if plain is None or plain["@type"] or plain["@container"] or plain["reverse"]:
                raise _Decline
            if plain["@nest"] or plain["@index"] or isinstance(value, list | dict):
                raise _Decline
            return term, self.values(value, None, [], same=True)
        if same_terms:
            raise _Decline  # a term of ours means this IRI: pyld's term selection decides
        out_key = self.ours.compact(iri, vocab=True)
        if theirs is None:
            return out_key, self.values(value, None, [], same=True)
        if theirs["reverse"] or theirs["@nest"] or theirs["@index"]:
            raise _Decline
        if theirs["@container"] not in ([], ["@set"]) or theirs["@type"] == "@vocab":
            raise _Decline
        return out_key, self.values(value, theirs["@type"], [], same=False)

    def language_pair(self, terms: list[str]) -> bool:
        """``content`` and ``contentMap`` (and name, summary): a plain term and a language map
        for one IRI, which pyld chooses between by whether a value has a language."""
        containers = sorted(tuple(self.ours.definition(t)["@container"]) for t in terms)  # type: ignore[index]
        return containers == [(), ("@language",)] and all(
            self.ours.definition(t)["@type"] is None  # type: ignore[index]
            for t in terms
        )

    def values(self, value: Any, type_: str | None, container: list[str], *, same: bool) -> Any:
        if "@language" in container:
            return self.language_map(value)
        if "@list" in container:
            items = value if isinstance(value, list) else [value]
            if value is None or any(i is None or isinstance(i, list) for i in items):
                raise _Decline
            return [self.item(i, type_, same=same) for i in items]
        if container not in ([], ["@set"]):
            raise _Decline
        if value is None:
            return _DROPPED
        if isinstance(value, list):
            compacted = [self.item(i, type_, same=same) for i in value if i is not None]
            if "@set" in container or len(compacted) != 1:
                return compacted
            return compacted[0]
        compacted_one = self.item(value, type_, same=same)
        return [compacted_one] if "@set" in container else compacted_one

    def language_map(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict) or not value:
            raise _Decline
        out: dict[str, Any] = {}
        for lang, texts in sorted(value.items()):
            if not isinstance(lang, str) or lang.startswith("@") or lang.lower() in out:
                raise _Decline
            items = [t for t in (texts if isinstance(texts, list) else [texts]) if t is not None]
            if not all(isinstance(t, str) for t in items):
                raise _Decline
            if items:
                out[lang.lower()] = items[0] if len(items) == 1 else items
        if not out:
            raise _Decline
        return out

    def item(self, value: Any, type_: str | None, *, same: bool) -> Any:
        if isinstance(value, list):
            raise _Decline
        if isinstance(value, dict):
            if not value or type_ not in (None, "@id"):
                raise _Decline
            node = self.node(value)
            if list(node) == ["id"] and (type_ == "@id" and same):
                return node["id"]
            if not node:
                raise _Decline
            return node
        if type_ == "@id":
            if not isinstance(value, str):
                raise _Decline
            iri = self.iri_value(value)
            return iri if same else {self.ours.compact("@id", vocab=True): iri}
        if type_ == "@vocab":
            raise _Decline
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > _FLOAT_MAX:
            raise _Decline  # pyld converts it to a float, and fails: so must we
        if isinstance(value, str | bool | int | float):
            if type_ is not None and not same:  # a typed value under no term of ours
                alias = self.ours.compact("@type", vocab=True)
                return {alias: self.ours.compact(type_, vocab=True), "@value": value}
            return value
        raise _Decline


_FLOAT_MAX = int(sys.float_info.max)

_DROPPED: Any = object()
"""A value that expands to nothing (null): the key is left out."""
