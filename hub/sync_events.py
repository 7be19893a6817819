"""Telling plugins that a sync run has ended."""

from __future__ import annotations

import logging

from hub.models import SyncRun
from hub.plugins import plugin_manager

log = logging.getLogger(__name__)


def announce_sync_finished(run: SyncRun) -> None:
    """Call every ``hub_sync_finished`` implementation; one that raises is logged, the rest still run."""
    hook = plugin_manager().hook.hub_sync_finished
    for impl in reversed(hook.get_hookimpls()):  # pluggy's call order: last registered first
        try:
            impl.function(**{name: {"run": run}[name] for name in impl.argnames})
        except Exception:
            log.exception("Plugin %s failed in hub_sync_finished for run %s", impl.plugin_name, run.id)
