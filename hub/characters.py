"""Control characters (NUL, ESC, DEL …): refused in everything an admin types or imports.

One rule for form fields, CSV cells, query strings and command arguments: no character of Unicode category
Cc (U+0000–U+001F, U+007F–U+009F). A NUL breaks PostgreSQL (it cannot store one in text), and the others are
invisible junk in names and codes. Multi-line text (a text area, a quoted CSV cell) may hold tabs and line
breaks.
"""

from __future__ import annotations

import re

import click

#: What multi-line text may hold of the control characters.
LINE_BREAKS_AND_TABS = "\t\n\r"
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def control_character(text: str, allowed: str = "") -> str | None:
    """The first control character of ``text`` that is not in ``allowed``, or None."""
    for match in _CONTROL.finditer(text):
        if match.group() not in allowed:
            return match.group()
    return None


def without_control_characters(text: str) -> str:
    """``text`` with its control characters dropped: for labels the hub makes from outside names (a file name)."""
    return _CONTROL.sub("", text)


def code_point(character: str) -> str:
    """``U+200B``: how messages name a character that cannot be shown."""
    return f"U+{ord(character):04X}"


class PlainText(click.ParamType):
    """A command argument of one line of text: a control character in it is a usage error (exit 2)."""

    name = "text"

    def convert(self, value, param, ctx):
        if isinstance(value, str):
            found = control_character(value)
            if found is not None:
                self.fail(f"{value!r} contains the control character {code_point(found)}.", param, ctx)
        return value


#: The type of every text argument and option of the ``hub`` commands.
TEXT = PlainText()
