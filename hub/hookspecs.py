"""The hooks a Kintai Hub plugin can implement.

Every hook is called with keyword arguments; an implementation may accept a subset of them, so a hook
can gain arguments later without breaking plugins. Each one is documented in ``docs/plugins.md``.
"""

from pluggy import HookimplMarker, HookspecMarker

hookspec = HookspecMarker("hub")
hookimpl = HookimplMarker("hub")


# --- Setup ------------------------------------------------------------------------------------------


@hookspec
def hub_init_app(app):
    """Called once while the app is built: add blueprints, CLI commands, template folders."""


# --- Capabilities -----------------------------------------------------------------------------------


@hookspec
def hub_providers():
    """Return a list of :class:`hub.providers.Provider` instances this plugin offers.

    A provider's ``name`` must be unique across all plugins; a duplicate stops the app from starting.
    """


@hookspec
def hub_exporters():
    """Return a list of :class:`hub.exporters.Exporter` instances this plugin offers."""


@hookspec
def hub_nav_items():
    """Return a list of :class:`hub.nav.NavItem`: links this plugin adds to the sidebar.

    Called once per app, when a page first renders the sidebar. An implementation that raises, and an entry
    whose endpoint does not exist or needs arguments, is logged and left out; the pages still render.
    """


# --- Events -----------------------------------------------------------------------------------------


@hookspec
def hub_sync_finished(run):
    """Called after every sync run ends, whatever its status, with the finished ``SyncRun``.

    Runs outside the sync's transaction: an exception here is logged and does not change the run.
    """
