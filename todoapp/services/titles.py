"""The rules a todo's title and a list's name follow: trimmed, within their
length, and showing what they hold."""

import unicodedata

from ..models import LIST_NAME_MAX, TITLE_MAX


def clean_title(raw: str) -> str:
    """Trim a todo title and check it; raise ``ValueError`` with the reason."""
    title = (raw or "").strip()
    if not title:
        raise ValueError("Title can't be empty.")
    if len(title) > TITLE_MAX:
        raise ValueError(f"Title must be at most {TITLE_MAX} characters long.")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in title):
        raise ValueError("Title can't contain control characters.")
    if any(ch in BIDI_CONTROLS for ch in title):
        raise ValueError(
            "Title can't contain right-to-left or left-to-right override characters: "
            "they make text read differently from how it is stored."
        )
    if any(_is_noncharacter(ch) for ch in title):
        raise ValueError("Title can't contain characters that Unicode reserves as non-characters.")
    if all(ch.isspace() or ch in INVISIBLE or unicodedata.category(ch) == "Cf" for ch in title):
        raise ValueError("Title needs at least one visible character.")
    return title


# Embeddings, overrides and isolates: they reorder the text around them, so a
# title could show one thing and hold another (a file name "txt.exe" shown as
# "exe.txt"). The marks U+200E/U+200F stay: they reorder nothing on their own.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
# Letters and symbols that draw nothing (fillers, a blank braille cell).
INVISIBLE = frozenset("\u115f\u1160\u3164\uffa0\u2800")


def clean_list_name(raw: str) -> str:
    """Trim a list name and check it, by the rules of a todo title but
    shorter; raise ``ValueError`` with the reason."""
    try:
        name = clean_title(raw)
    except ValueError as exc:
        raise ValueError(str(exc).replace("Title", "Name")) from None
    if len(name) > LIST_NAME_MAX:
        raise ValueError(f"Name must be at most {LIST_NAME_MAX} characters long.")
    return name


def _is_noncharacter(ch: str) -> bool:
    code = ord(ch)
    return 0xFDD0 <= code <= 0xFDEF or (code & 0xFFFE) == 0xFFFE
