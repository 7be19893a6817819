"""Building the plugin manager and reading what the installed plugins offer."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

import pluggy
from flask import Flask, current_app

from hub import hookspecs
from hub.exporters import Exporter
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
