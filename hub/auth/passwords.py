"""The password rule for new admins and password resets: long, not common, not the email.

One home for the web setup form and ``hub create-admin``. The common-password list is a data file of this
package (its header names the source).
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from flask_babel import gettext as _

MIN_PASSWORD_LENGTH = 10
#: A shorter local part ("ops@…") would forbid too many innocent passwords; the whole address still counts.
MIN_LOCAL_PART_CHECKED = 4


@cache
def common_passwords() -> frozenset[str]:
    text = files("hub.auth").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def password_problem(password: str, email: str) -> str | None:
    """Why ``password`` is refused for the admin ``email`` (translated), or None when it is acceptable."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("Use at least %(min)d characters.", min=MIN_PASSWORD_LENGTH)
    folded = password.strip().lower()
    if folded in common_passwords():
        return _("This password is one of the most common ones. Choose one that is harder to guess.")
    email = email.strip().lower()
    local_part = email.partition("@")[0]
    if (email and email in folded) or (len(local_part) >= MIN_LOCAL_PART_CHECKED and local_part in folded):
        return _("Do not use your email address, or its part before the @, in the password.")
    return None
