"""Matching provider employees to hub members by normalized employee code, with near-miss suggestions."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from hub.codes import normalize_code
from hub.models import Member
from hub.records import RemoteMember

_DIGITS = re.compile(r"\d+")


def near_key(code: str) -> str:
    """A looser key for suggestions only: case folded and leading zeros dropped ('p01001' ~ 'P1001')."""
    return _DIGITS.sub(lambda match: str(int(match.group())), normalize_code(code).casefold())


@dataclass
class Matching:
    """Which remote employees are which members, and who is left over on each side."""

    matched: dict[str, Member] = field(default_factory=dict)  # remote_id → member
    unmatched_remote: list[tuple[RemoteMember, Member | None]] = field(default_factory=list)  # with suggestion
    unmatched_local: list[tuple[Member, RemoteMember | None]] = field(default_factory=list)


def match_members(remote: Iterable[RemoteMember], members: Iterable[Member], since: date | None = None) -> Matching:
    """Match by exact normalized code; never silently by a near miss, which is only suggested.

    An employee who retired before ``since`` (the period's first day) is left out on both sides: not matched,
    not reported as unmatched, and no suggestion; one who retired inside the period is matched as any other.
    """
    members = list(members)
    remote = [employee for employee in remote if not _retired_before(employee, since)]
    by_code = {member.code: member for member in members}
    by_near = {near_key(member.code): member for member in members}
    result = Matching()
    seen_codes: set[str] = set()
    for employee in remote:
        code = normalize_code(employee.code)
        member = by_code.get(code) if code else None
        if member is not None:
            result.matched[employee.remote_id] = member
            seen_codes.add(code)
        else:
            result.unmatched_remote.append((employee, by_near.get(near_key(code)) if code else None))
    remote_near = {near_key(employee.code): employee for employee in remote if normalize_code(employee.code)}
    for member in members:
        if member.code not in seen_codes:
            result.unmatched_local.append((member, remote_near.get(near_key(member.code))))
    return result


def _retired_before(employee: RemoteMember, since: date | None) -> bool:
    return since is not None and employee.retired_on is not None and employee.retired_on < since
