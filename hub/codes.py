"""Employee codes (社員コード / スタッフコード) and project codes as the hub compares and accepts them."""

from __future__ import annotations

import unicodedata

from flask_babel import gettext as _

from hub.characters import code_point

#: Unicode categories that show as nothing: controls (NUL, a line break), format characters (BOM, zero-width
#: space, direction marks) and the line and paragraph separators. A code holding one looks like another code.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})
#: Characters of other categories that show as nothing as well: Unicode's Default_Ignorable_Code_Point ranges
#: (variation selectors, the combining grapheme joiner, Hangul fillers, tag characters …; Python has no
#: table of that property) and the blank braille pattern.
INVISIBLE_RANGES = (
    (0x034F, 0x034F),
    (0x115F, 0x1160),
    (0x17B4, 0x17B5),
    (0x180B, 0x180F),
    (0x2800, 0x2800),
    (0x3164, 0x3164),
    (0xFE00, 0xFE0F),
    (0xFFA0, 0xFFA0),
    (0xFFF0, 0xFFF8),
    (0x1D173, 0x1D17A),
    (0xE0000, 0xE0FFF),
)


def invisible(character: str) -> bool:
    """Whether ``character`` shows as nothing (so a code holding it looks like another code)."""
    point = ord(character)
    return unicodedata.category(character) in INVISIBLE_CATEGORIES or any(
        low <= point <= high for low, high in INVISIBLE_RANGES
    )


class CodeError(ValueError):
    """A typed or imported code holds an invisible character; the message names the field and the character."""


def normalize_code(code: str | None) -> str:
    """NFKC and trimmed, so full-width 'Ｐ１００１ ' equals 'P1001'; case and zeros are kept as typed."""
    return unicodedata.normalize("NFKC", code or "").strip()


def checked_code(code: str | None, label: str) -> str:
    """The normalized code a form, an import or a command accepts; CodeError when an invisible character is
    left inside it (``label`` names the field or column in the message)."""
    normalized = normalize_code(code)
    for character in normalized:
        if invisible(character):
            raise CodeError(
                _(
                    "%(label)s contains the invisible character %(character)s; remove it.",
                    label=label,
                    character=code_point(character),
                )
            )
    return normalized
