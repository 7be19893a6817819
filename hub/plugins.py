"""Building the plugin manager and reading what the installed plugins offer."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import pluggy
from flask import Flask, current_app, request, url_for
from werkzeug.routing import BuildError

from hub import hookspecs
from hub.exporters import Exporter
from hub.nav import NavItem
from hub.providers import Provider

ENTRY_POINT_GROUP = "kintai_hub"
log = logging.getLogger(__name__)


class PluginConflictError(RuntimeError):
    """Two plugins offer a provider or exporter under the same name."""


def get_plugin_manager(blocked: Iterable[str] = (), extra: Iterable[object] = ()) -> pluggy.PluginManager:
    """Return a new manager with the hub's hooks, the ``kintai_hub`` entry points and ``extra`` plugins.

    ``blocked`` names entry points (or plugin names) that must not load, e.g. a broken plugin an admin
    wants to switch off without uninstalling it.
    """
    pm = pluggy.PluginManager("hub")
    pm.add_hookspecs(hookspecs)
    for name in blocked:
        pm.set_blocked(name)
    pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    return pm


def plugin_manager(app: Flask | None = None) -> pluggy.PluginManager:
    """The manager of ``app`` (default: the current app)."""
    return (app or current_app).extensions["hub"]


def providers(app: Flask | None = None) -> dict[str, Provider]:
    """Every provider the plugins offer, by name."""
    return _by_name(plugin_manager(app).hook.hub_providers(), "provider")


def exporters(app: Flask | None = None) -> dict[str, Exporter]:
    """Every exporter the plugins offer, by name."""
    return _by_name(plugin_manager(app).hook.hub_exporters(), "exporter")


def _by_name(results: list[list], kind: str) -> dict:
    found: dict = {}
    for offered in results:
        for item in offered or ():
            if item.name in found:
                raise PluginConflictError(f"Two plugins offer a {kind} named {item.name!r}.")
            found[item.name] = item
    return dict(sorted(found.items()))


@dataclass(frozen=True)
class NavLink:
    """A plugin's sidebar entry as one page renders it."""

    label: str
    href: str
    current: bool


def nav_links(section: str) -> list[NavLink]:
    """The plugins' sidebar entries of ``section`` for the current request, in their order.

    An entry is current on every page of its endpoint's blueprint, as the core's links are.
    """
    links = []
    for item in _nav_items(current_app):
        if item.section != section:
            continue
        if item.url is not None:
            links.append(NavLink(str(item.label), item.url, current=False))
            continue
        try:
            href = url_for(item.endpoint)
        except BuildError:  # checked when the entries were collected; a change of the map since is still no 500
            continue
        blueprint = item.endpoint.rpartition(".")[0]
        current = request.endpoint == item.endpoint or bool(blueprint and request.blueprint == blueprint)
        links.append(NavLink(str(item.label), href, current))
    return links


def _nav_items(app: Flask) -> list[NavItem]:
    """Every plugin's ``hub_nav_items``, collected once per app; a broken plugin or entry is logged and skipped."""
    if "hub_nav_items" not in app.extensions:
        app.extensions["hub_nav_items"] = _collect_nav_items(app)
    return app.extensions["hub_nav_items"]


def _collect_nav_items(app: Flask) -> list[NavItem]:
    found = []
    for impl in plugin_manager(app).hook.hub_nav_items.get_hookimpls():
        try:
            offered = list(impl.function() or ())
        except Exception:
            log.exception("Plugin %s failed in hub_nav_items; its sidebar entries are left out", impl.plugin_name)
            continue
        for index, item in enumerate(offered):
            problem = _nav_item_problem(item)
            if problem:
                log.error("Plugin %s: sidebar entry %r left out: %s", impl.plugin_name, item, problem)
            else:
                found.append((item.order, impl.plugin_name, index, item))
    return [item for *_, item in sorted(found, key=lambda entry: entry[:3])]


def _nav_item_problem(item: object) -> str | None:
    if not isinstance(item, NavItem):
        return "not a hub.nav.NavItem"
    if item.endpoint is None:
        return None
    try:
        url_for(item.endpoint)
    except BuildError as error:
        known = item.endpoint in current_app.view_functions
        return f"endpoint {item.endpoint!r} {'needs arguments' if known else 'does not exist'} ({error})"
    return None


@dataclass(frozen=True)
class PluginInfo:
    """One registered plugin as `hub plugins` shows it."""

    name: str
    version: str | None
    hooks: list[str]

    def as_dict(self) -> dict:
        return {"name": self.name, "version": self.version, "hooks": self.hooks}


def installed_plugins(pm: pluggy.PluginManager) -> list[PluginInfo]:
    """The registered plugins with their distribution version and the hooks they implement."""
    versions = {id(plugin): dist.version for plugin, dist in pm.list_plugin_distinfo()}
    infos = []
    for plugin in pm.get_plugins():
        name = pm.get_name(plugin) or repr(plugin)
        hooks = sorted(caller.name for caller in pm.get_hookcallers(plugin) or ())
        infos.append(PluginInfo(name=name, version=versions.get(id(plugin)), hooks=hooks))
    return sorted(infos, key=lambda info: info.name)
