"""Cell values a spreadsheet reads as meant: text is never taken for a formula, numbers stay numbers."""

from __future__ import annotations

FORMULA_START = frozenset("=+-@\t\r")


def text_cell(value: str | None) -> str:
    """``value`` as a text cell; one starting with = + - @, a tab or a CR gets a leading ``'``.

    Only text from people (names, departments, leave names, sources) goes through here: a number such as a
    negative difference is written as a number (``-30``), never as ``'-30``.
    """
    if not value:
        return ""
    if value[0] in FORMULA_START:
        return "'" + value
    return value
