"""The ``.properties`` format, exactly as ``java.util.Properties`` reads and writes it: the
codec under ChatonsInfos (``activitypub/chatonsinfos.py``). Pure: text in, text out.

The parser follows ``java.util.Properties.load(Reader)``:
https://docs.oracle.com/javase/8/docs/api/java/util/Properties.html#load-java.io.Reader-
"""

from __future__ import annotations

from collections.abc import Iterable

from models.errors import Malformed

WHITESPACE = " \t\f"
"""What java.util.Properties skips around keys and values."""
LINE_ENDS = "\r\n"
_SIMPLE_ESCAPES = {"t": "\t", "n": "\n", "r": "\r", "f": "\f"}
_HEX = frozenset("0123456789abcdefABCDEF")


# --- Reading ---------------------------------------------------------------------------------


def decode_properties(data: bytes) -> str:
    """Decode a fetched ``.properties`` file.

    ChatonsInfos files are UTF-8 (the models and the YunoHost generator write UTF-8), while
    classic Java ``Properties.load(InputStream)`` reads ISO-8859-1. Try UTF-8 first (skipping a
    BOM); bytes that are not valid UTF-8 can only be a Latin-1 file, which always decodes.
    """
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("iso-8859-1")


def parse_properties(text: str) -> dict[str, str]:
    """Parse ``.properties`` text exactly as ``java.util.Properties.load(Reader)`` does.

    Hosts write these files by hand or with sed, so everything Java accepts appears in the
    wild: ``#``/``!`` comments, ``=``/``:``/white-space separators, continuation lines, escapes
    and ``\\uXXXX`` (UTF-16 code units, so emoji arrive as surrogate pairs, which are joined).
    Later duplicates win, as in Java. A BOM at the start is ignored. A truncated or non-hex
    ``\\u`` escape raises :class:`Malformed`, as Java raises ``IllegalArgumentException``.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    result: dict[str, str] = {}
    for line in _logical_lines(text):
        key, value = _split_key_value(line)
        result[_unescape(key)] = _unescape(value)
    return result


def _logical_lines(text: str) -> Iterable[str]:
    """Yield logical lines: comments and blank lines dropped, continuations joined.

    A natural line ends at ``\\n``, ``\\r`` or ``\\r\\n``. An odd number of trailing backslashes
    escapes the line end: the backslash goes, and the next line's leading white space is
    skipped. Comment lines never continue. Backslashes are kept otherwise; escapes are resolved
    after the key and value are split, as in Java.
    """
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch in WHITESPACE or ch in LINE_ENDS:
            i += 1
            continue
        if ch in "#!":
            while i < n and text[i] not in LINE_ENDS:
                i += 1
            continue
        parts: list[str] = []
        while True:
            start = i
            while i < n and text[i] not in LINE_ENDS:
                i += 1
            segment = text[start:i]
            trailing = len(segment) - len(segment.rstrip("\\"))
            if trailing % 2 == 0:
                parts.append(segment)
                break
            parts.append(segment[:-1])
            if i >= n:
                break
            i += 2 if text.startswith("\r\n", i) else 1
            while i < n and text[i] in WHITESPACE:
                i += 1
        line = "".join(parts)
        if line:
            yield line


def _split_key_value(line: str) -> tuple[str, str]:
    """Split at the first unescaped ``=``, ``:`` or white space (Java's ``load0``).

    White space around the separator is skipped, and one ``=`` or ``:`` after white space is
    still the separator (``key  = value``); the value keeps its trailing white space.
    """
    n = len(line)
    key_end = n
    value_start = n
    has_sep = False
    backslash = False
    for pos, ch in enumerate(line):
        if not backslash and ch in "=:":
            key_end, value_start, has_sep = pos, pos + 1, True
            break
        if not backslash and ch in WHITESPACE:
            key_end, value_start = pos, pos + 1
            break
        backslash = ch == "\\" and not backslash
    while value_start < n:
        ch = line[value_start]
        if ch not in WHITESPACE:
            if has_sep or ch not in "=:":
                break
            has_sep = True
        value_start += 1
    return line[:key_end], line[value_start:]


def _unescape(raw: str) -> str:
    """Resolve escapes: ``\\t \\n \\r \\f``, ``\\uXXXX``, and ``\\x`` -> ``x`` for any other x."""
    if "\\" not in raw:
        return raw
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        ch = raw[i]
        i += 1
        if ch != "\\":
            out.append(ch)
            continue
        if i >= n:  # cannot happen after _logical_lines, which consumes an odd final backslash
            break
        ch = raw[i]
        i += 1
        if ch == "u":
            digits = raw[i : i + 4]
            if len(digits) < 4 or not _HEX.issuperset(digits):
                raise Malformed(
                    f"malformed \\uxxxx escape {raw[i - 2 : i + 4]!r}",
                    "Malformed \\uxxxx escape in a .properties file",
                )
            out.append(chr(int(digits, 16)))
            i += 4
        else:
            out.append(_SIMPLE_ESCAPES.get(ch, ch))
    return _join_surrogates("".join(out))


def _join_surrogates(text: str) -> str:
    """Join UTF-16 surrogate pairs from ``\\uD83D\\uDE00`` escapes into one code point.

    A lone surrogate cannot be stored or encoded as UTF-8 later, so it becomes U+FFFD.
    """
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


# --- Writing ---------------------------------------------------------------------------------


def format_properties(pairs: Iterable[tuple[str, str]], *, header: str | None = None) -> str:
    """Write ``key = value`` lines that :func:`parse_properties` (and Java) read back exactly.

    Output is text meant to be served as UTF-8: non-ASCII letters stay readable instead of
    becoming ``\\uXXXX`` (people read and copy these files). Escaped: backslashes, line
    breaks, tabs, form feeds and other control characters; in keys also the separators, space
    and comment marks; in values only what would change their meaning — leading white space
    (stripped by readers) and a leading ``=``, ``:``, ``#`` or ``!``, so URLs stay as typed.
    ``header`` becomes ``#`` comment lines.
    """
    lines: list[str] = []
    if header:
        lines.extend(f"# {line}".rstrip() for line in header.splitlines())
    for key, value in pairs:
        line = f"{_escape(key, is_key=True)} ="
        lines.append(f"{line} {_escape(value, is_key=False)}" if value else line)
    return "\n".join(lines) + "\n"


def _escape(text: str, *, is_key: bool) -> str:
    out: list[str] = []
    for pos, ch in enumerate(text):
        # Separators and comment marks only matter in keys, or at the start of a value.
        significant = is_key or pos == 0
        if ch == "\\":
            out.append("\\\\")
        elif ch in "\t\n\r\f":
            out.append("\\" + "tnrf"["\t\n\r\f".index(ch)])
        elif ch < " " or ch == "\x7f" or ch in "\x85\u2028\u2029" or "\ud800" <= ch <= "\udfff":
            # Not line breaks to Java, but to other tools; lone surrogates cannot be UTF-8.
            out.append(f"\\u{ord(ch):04x}")
        elif significant and ch in " =:#!":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)
