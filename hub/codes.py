"""Employee codes (社員コード / スタッフコード) and project codes as the hub compares and accepts them."""

from __future__ import annotations

import unicodedata

from flask_babel import gettext as _

from hub.characters import code_point

#: Unicode categories that show as nothing: controls (NUL, a line break), format characters (BOM, zero-width
#: space, direction marks) and the line and paragraph separators. A code holding one looks like another code.
INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


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
        if unicodedata.category(character) in INVISIBLE_CATEGORIES:
            raise CodeError(
                _(
                    "%(label)s contains the invisible character %(character)s; remove it.",
                    label=label,
                    character=code_point(character),
                )
            )
    return normalized
