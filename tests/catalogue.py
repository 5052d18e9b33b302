"""The messages of the code and templates as ``pybabel extract -F babel.cfg`` finds them, and the
entries of instance/locale/fr.po as written (duplicates included), for the catalogue tests."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "babel.cfg"
FRENCH = ROOT / "instance" / "locale" / "fr.po"
SOURCES = ("activitypub", "federation", "instance", "models", "templates")


Key = tuple[str | None, str]
"""A message as the catalogue knows it: (msgctxt or None, msgid)."""


@dataclass(frozen=True)
class Extracted:
    context: str | None
    msgid: str
    where: str  # path:line of its first use

    @property
    def key(self) -> Key:
        return (self.context, self.msgid)

    def __str__(self) -> str:
        context = f" (context {self.context!r})" if self.context else ""
        return f"{self.where}: {self.msgid!r}{context}"


@dataclass(frozen=True)
class Entry:
    context: str | None
    msgid: str
    msgstr: str
    fuzzy: bool
    line: int

    @property
    def key(self) -> Key:
        return (self.context, self.msgid)


def extracted() -> dict[Key, Extracted]:
    """Every message babel.cfg extracts (plural forms by their singular), first use first."""
    with CONFIG.open() as fh:
        method_map, options_map = parse_mapping_cfg(fh, str(CONFIG))
    found: dict[Key, Extracted] = {}
    for source in SOURCES:
        for filename, line, message, _comments, context in extract_from_dir(
            ROOT,
            method_map,
            options_map,
            keywords=DEFAULT_KEYWORDS,
            directory_filter=lambda path, source=source: _under(path, source),
        ):
            msgid = message[0] if isinstance(message, tuple) else message
            if msgid and (context, msgid) not in found:
                found[(context, msgid)] = Extracted(context, msgid, f"{filename}:{line}")
    return found


def _under(path: str, source: str) -> bool:
    relative = Path(path).resolve().relative_to(ROOT)
    top = relative.parts[0] if relative.parts else ""
    return top == source and not any(p.startswith((".", "_")) for p in relative.parts)


def entries(path: Path = FRENCH) -> list[Entry]:
    """The file's entries in order, each msgid as written (a duplicate is two entries)."""
    result: list[Entry] = []
    fields: dict[str, list[str]] = {}
    field, fuzzy, flagged, start = "", False, False, 0

    def close() -> None:
        if "msgid" in fields:
            msgstr = "".join(fields.get("msgstr", fields.get("msgstr[0]", [])))
            context = "".join(fields["msgctxt"]) if "msgctxt" in fields else None
            result.append(Entry(context, "".join(fields["msgid"]), msgstr, fuzzy, start))

    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.strip()
        keyword, _, rest = line.partition(" ")
        if line.startswith("#"):
            flagged = flagged or (line.startswith("#,") and "fuzzy" in line)
        elif keyword == "msgctxt" or (keyword == "msgid" and set(fields) != {"msgctxt"}):
            close()  # a new entry starts at its msgctxt, else at its msgid
            fields, fuzzy, flagged, start = {}, flagged, False, number
            field = keyword
            fields[field] = [_unquote(rest)]
        elif keyword in ("msgid", "msgid_plural", "msgstr") or keyword.startswith("msgstr["):
            field = keyword
            fields[field] = [_unquote(rest)]
        elif line.startswith('"') and field:
            fields[field].append(_unquote(line))
    close()
    return [e for e in result if e.msgid]


def _unquote(text: str) -> str:
    return str(ast.literal_eval(text.strip()))
