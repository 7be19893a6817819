"""The sync's side of a provider's blackout windows: what an admin reads when a sync may not start or stops.

:func:`hub.sync.lifecycle.start_run` refuses a start inside a window (so the auto sync waits for its end) and
the engine stops a run that reaches one; both raise :class:`~hub.sync.lifecycle.SyncBlackout` with a message
from here. The time is read from :func:`utcnow` of this module, the one clock tests replace.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from flask_babel import gettext as _

from hub.blackout import BlackoutWindow, next_allowed, window_at
from hub.encryption import SecretDecryptError
from hub.integrations.service import IntegrationError, provider_for, provider_settings
from hub.models import Integration, utcnow
from hub.providers import Provider, ProviderSettings


class Blackouts:
    """One provider's blackout windows, with the messages for a refused start and a stopped run."""

    def __init__(self, provider_label: str = "", windows: Sequence[BlackoutWindow] = ()):
        self.provider_label = provider_label
        self.windows = tuple(windows)

    @classmethod
    def declared(cls, provider: Provider, settings: ProviderSettings) -> Blackouts:
        """The windows ``provider`` declares for ``settings``."""
        return cls(provider.label, provider.blackout_windows(settings))

    @classmethod
    def of(cls, integration: Integration) -> Blackouts:
        """The windows of ``integration``'s provider; none when the provider or its secrets cannot be had,
        as the run then fails on its own with that message."""
        try:
            return cls.declared(provider_for(integration), provider_settings(integration))
        except (IntegrationError, SecretDecryptError):
            return cls()

    def refusal(self, now: datetime | None = None) -> str | None:
        """Why a sync may not start at ``now``, or None when it may."""
        window, now = self._window(now)
        if window is None:
            return None
        return _(
            "%(provider)s refuses API calls from %(start)s to %(end)s (%(zone)s); sync after %(after)s.",
            **self._times(window, now),
        )

    def stop(self, now: datetime | None = None) -> str | None:
        """Why a running sync stops at ``now``, or None when it may go on."""
        window, now = self._window(now)
        if window is None:
            return None
        return _(
            "The sync stopped: %(provider)s refuses API calls from %(start)s to %(end)s (%(zone)s). Nothing was "
            "changed; sync again after %(after)s.",
            **self._times(window, now),
        )

    def _window(self, now: datetime | None) -> tuple[BlackoutWindow | None, datetime]:
        now = now or utcnow()
        return (window_at(self.windows, now) if self.windows else None), now

    def _times(self, window: BlackoutWindow, now: datetime) -> dict[str, str]:
        after = next_allowed(self.windows, now).astimezone(window.tz)
        return {
            "provider": self.provider_label,
            "start": f"{window.start:%H:%M}",
            "end": f"{window.end:%H:%M}",
            "zone": window.zone_name(now),
            "after": f"{after:%H:%M}",
        }
