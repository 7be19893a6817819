"""Sidebar entries a plugin adds with the ``hub_nav_items`` hook."""

from __future__ import annotations

from dataclasses import dataclass

#: The sidebar's sections: ``main`` (ホーム, タイムシート, レポート) and ``admin`` (管理).
SECTIONS = ("main", "admin")


@dataclass(frozen=True)
class NavItem:
    """One sidebar link: to a page of the hub (``endpoint``) or to a URL, after the core's links of ``section``.

    ``label`` is shown as is, so give a lazy string (``lazy_gettext``) to have it translated on each page.
    Entries of several plugins are ordered by ``order``, then by plugin name; one plugin's keep its list order.
    """

    label: str
    endpoint: str | None = None
    url: str | None = None
    section: str = "admin"
    order: int = 0

    def __post_init__(self) -> None:
        if (self.endpoint is None) == (self.url is None):
            raise ValueError(f"NavItem {self.label!r}: give an endpoint or a url, not both or neither.")
        if self.section not in SECTIONS:
            raise ValueError(f"NavItem {self.label!r}: section {self.section!r} is not one of {SECTIONS}.")
