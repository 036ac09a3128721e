"""What a name, a class or a template may hold: printable text of a sane length.

Control characters (NUL, newlines, tabs, escape sequences), format characters (bidirectional
overrides such as U+202E, which make a name read differently from what it is; zero-width
characters) and the line and paragraph separators U+2028 / U+2029 (which split a line in two
where Python's ``splitlines`` reads them) are refused with the character named: they corrupt
tables, file names, terminal output and exported files, and are never part of a class name.
"""

from __future__ import annotations

import unicodedata

from synthdiv.errors import SynthdivError

NAME_LIMIT = 200  # experiment and class names
TEXT_LIMIT = 1000  # templates and negative prompts (CLIP reads 77 tokens; diffusers models up to 512)
_REFUSED = {"Cc": "a control character", "Cf": "an invisible format character", "Zl": "a line separator",
            "Zp": "a paragraph separator", "Cs": "a lone surrogate", "Co": "a private-use character",
            "Cn": "an unassigned code point"}


def bad_character(text: str) -> tuple[int, str] | None:
    """The first character of ``text`` that is not printable text: (index, description)."""
    for i, ch in enumerate(text):
        kind = _REFUSED.get(unicodedata.category(ch))
        if kind is not None:
            name = unicodedata.name(ch, "")
            return i, f"U+{ord(ch):04X}{' ' + name if name else ''} ({kind})"
    return None


def check_text(text: str, what: str, limit: int, error: type[SynthdivError] = SynthdivError) -> str:
    """``text`` if it is printable and at most ``limit`` characters; else ``error`` naming ``what``,
    the offending character and where it is."""
    found = bad_character(text)
    if found is not None:
        i, desc = found
        shown = text[:i].encode("unicode_escape").decode("ascii")[-30:]
        raise error(f"{what} holds {desc} at character {i + 1} (after {shown!r})",
                    "remove it: names and templates are printable text on one line")
    if len(text) > limit:
        raise error(f"{what} is {len(text):,} characters long ({text[:40]!r}…)",
                    f"keep it to {limit:,} characters")
    return text
