"""Spreadsheet-safe text cells: what an export writes and what an import reads back.

A spreadsheet runs a cell that starts with = + - @, a tab or a CR as a formula, so exporters put a ``'``
before such text (``=SUM(A1)`` → ``'=SUM(A1)``) and imports take it off again. Only text from people
(names, codes, departments, sources) goes through here: numbers the hub writes stay numbers (``-30``).
Plugins may import this module.
"""

from __future__ import annotations

#: The characters after which a text cell gets a leading ``'``.
FORMULA_START = frozenset("=+-@\t\r")


def text_cell(value: str | None) -> str:
    """``value`` as a text cell; one starting with = + - @, a tab or a CR gets a leading ``'``."""
    if not value:
        return ""
    if value[0] in FORMULA_START:
        return "'" + value
    return value


def unneutralize(cell: str) -> str:
    """A cell as written before :func:`text_cell` protected it: ``'=SUM(A1)`` → ``=SUM(A1)``.

    A ``'`` before anything else is part of the text and stays (``'O'Brien``).
    """
    if len(cell) > 1 and cell[0] == "'" and cell[1] in FORMULA_START:
        return cell[1:]
    return cell
