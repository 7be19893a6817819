"""Integrations as the core stores them: provider settings split into plain values and encrypted secrets."""

from __future__ import annotations

import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any

from flask import copy_current_request_context, current_app, has_request_context
from flask_babel import force_locale, get_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from hub import audit
from hub.extensions import db
from hub.forms import secret_bindings, secret_field_names
from hub.models import Health, Integration
from hub.pacing import Pace
from hub.plugins import providers
from hub.providers import CheckResult, CheckStatus, Deadline, Provider, ProviderSettings, URLPolicy
from hub.settings.service import company_timezone

#: Seconds a connection check may take: a web page waits for it, a command can wait longer.
WEB_CHECK_SECONDS = 10.0
CLI_CHECK_SECONDS = 60.0
#: Seconds past its deadline a check may take to answer for itself before the core answers for it.
CHECK_GRACE_SECONDS = 2.0
#: The error on a stored secret that may not be reused (see :func:`secrets_to_enter_again`).
SECRET_TARGET_CHANGED = _l(
    "The connection target changed: enter the secret again. A stored secret is only sent to the target it was "
    "entered for."
)


class IntegrationError(Exception):
    """An integration cannot be saved or used as asked; the message says why."""


def provider_named(name: str) -> Provider:
    found = providers()
    if name not in found:
        raise IntegrationError(f"No provider named {name!r} is installed (installed: {', '.join(found) or 'none'}).")
    return found[name]


def provider_for(integration: Integration) -> Provider:
    return provider_named(integration.provider)


def provider_settings(integration: Integration, deadline: Deadline | None = None) -> ProviderSettings:
    """What the provider sees: plain settings and decrypted secrets, keyed by the integration, and a pace that
    starts at the rate the integration's last run learned."""
    values = {**(integration.settings or {}), **integration.read_secrets()}
    return _settings(str(integration.id or integration.name), values, deadline or Deadline(), integration.learned_rate)


def _settings(key: str, values: dict, deadline: Deadline, learned_rate: float | None = None) -> ProviderSettings:
    """The one way the core dresses values for a provider: company time zone, URL policy, deadline and pace."""
    return ProviderSettings(
        key=key,
        values=values,
        timezone=company_timezone(),
        deadline=deadline,
        url_policy=URLPolicy.configured(),
        pace=Pace(learned_rate, stall_seconds=current_app.config["HUB_SYNC_STALL_SECONDS"]),
    )


def split_values(provider: Provider, values: Mapping[str, Any]) -> tuple[dict, dict]:
    """(plain settings, secrets) of a provider form's values."""
    secrets = set(secret_field_names(provider.settings_form))
    plain = {key: value for key, value in values.items() if key not in secrets}
    hidden = {key: value for key, value in values.items() if key in secrets and value}
    return plain, hidden


def secrets_to_enter_again(
    provider: Provider, integration: Integration, values: Mapping[str, Any], entered: Collection[str]
) -> list[str]:
    """The secrets not ``entered`` again whose stored value ``values`` may not reuse: a setting the secret is
    bound to (``SecretField(bound_to=…)``) changed, so the stored value would go to a target it was not
    entered for."""
    stored = integration.settings or {}
    return [
        name
        for name, bound in secret_bindings(provider.settings_form).items()
        if name not in entered and any(_setting(stored.get(f)) != _setting(values.get(f)) for f in bound)
    ]


def _setting(value: Any) -> Any:
    return None if value == "" else value  # a blank field is stored as "" or not at all


def check_values(provider: Provider, name: str, values: Mapping[str, Any], seconds: float | None = None) -> CheckResult:
    """Check credentials before anything is saved, giving the provider ``seconds`` (a web page's by default)."""
    deadline = Deadline(WEB_CHECK_SECONDS if seconds is None else seconds)
    return run_check(provider, _settings(f"new:{name}", dict(values), deadline))


@dataclass(frozen=True)
class EditCheck:
    """What stands between an edit and its save: secrets to enter again, or a failed check."""

    stale_secrets: list[str]
    result: CheckResult | None  # None: nothing changed, so nothing was checked

    @property
    def ok(self) -> bool:
        return not self.stale_secrets and (self.result is None or self.result.ok)


def check_edit(
    provider: Provider,
    integration: Integration,
    name: str,
    values: Mapping[str, Any],
    entered: Collection[str],
    seconds: float | None = None,
) -> EditCheck:
    """The one edit rule of the page and the command: a secret bound to a changed target must be entered again;
    changed settings are checked before they are saved."""
    stale = secrets_to_enter_again(provider, integration, values, entered)
    if stale:
        return EditCheck(stale, None)
    current = {**(integration.settings or {}), **integration.read_secrets()}
    if any(current.get(key) != value for key, value in values.items()):
        return EditCheck([], check_values(provider, name, values, seconds))
    return EditCheck([], None)


def check_integration(provider: Provider, integration: Integration, seconds: float | None = None) -> CheckResult:
    """Check an integration's stored settings, giving the provider ``seconds`` (a web page's by default), and
    record it as its health."""
    settings = provider_settings(integration, Deadline(WEB_CHECK_SECONDS if seconds is None else seconds))
    result = run_check(provider, settings)
    integration.health = Health.OK if result.ok else Health.ERROR
    integration.health_message = None if result.ok else result.message
    return result


def run_check(provider: Provider, settings: ProviderSettings) -> CheckResult:
    """``provider.check(settings)``, answered within the deadline's wall time whatever the provider does.

    A read timeout bounds each socket read, not a whole answer, and a DNS lookup has no timeout at all: a
    provider keeping its deadline can still be held far past it. So the check runs in a daemon thread and the
    caller waits for it until the deadline plus :data:`CHECK_GRACE_SECONDS`. A check still running then is
    left to end on its own (its deadline stops it at its next request or wait) and the answer is the
    deadline's "did not answer in time". The thread runs in an app context of its own, so in its own database
    session, never the caller's (the request's); in a request it carries a copy of the request context, and
    the caller's locale, so its messages read in the admin's language.
    """
    deadline = settings.deadline
    if not deadline.bounded:
        return provider.check(settings)
    done = threading.Event()
    outcome: dict[str, Any] = {}
    check = _in_context(lambda: provider.check(settings))

    def run() -> None:
        try:
            outcome["result"] = check()
        except BaseException as exc:  # handed to the caller, or dropped with a check that took too long
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name=f"hub-check-{provider.name}", daemon=True).start()
    if not done.wait(max(deadline.remaining(), 0) + CHECK_GRACE_SECONDS):
        current_app.logger.warning(
            "The connection check of %s (%s) is still running past its deadline of %g s; answered without it.",
            provider.name,
            settings.key,
            deadline.seconds,
        )
        return CheckResult(CheckStatus.NETWORK, str(deadline.exceeded()))
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def _in_context(work: Callable[[], CheckResult]) -> Callable[[], CheckResult]:
    """``work`` to run in another thread: in a new app context of this app (a copy of the request context
    when there is a request), in the caller's locale."""
    locale = get_locale()

    def localized() -> CheckResult:  # as the caller's, forced (force_locale) or not
        if locale is None:
            return work()
        with force_locale(str(locale)):
            return work()

    if has_request_context():
        return copy_current_request_context(localized)  # pushed, it pushes an app context of its own
    app = current_app._get_current_object()

    def in_app() -> CheckResult:
        with app.app_context():
            return localized()

    return in_app


def save_integration(
    provider: Provider,
    name: str,
    values: Mapping[str, Any],
    auto_sync: bool,
    integration: Integration | None = None,
    priority: int | None = None,
) -> Integration:
    """Create or update an integration; secrets are encrypted, and the audit log only says they changed.
    ``priority`` (優先度) None keeps the stored one (0 for a new integration)."""
    plain, secrets = split_values(provider, values)
    created = integration is None
    if created:
        integration = Integration(provider=provider.name)
        db.session.add(integration)
        before: dict = {}
        old_secrets: dict = {}
    else:
        before = {
            "name": integration.name,
            "auto_sync": integration.auto_sync,
            "priority": integration.priority,
            **(integration.settings or {}),
        }
        old_secrets = integration.read_secrets()
    if priority is None:
        priority = integration.priority or 0
    integration.name = name
    integration.settings = plain
    integration.auto_sync = auto_sync
    integration.priority = priority
    integration.write_secrets({**old_secrets, **secrets})
    integration.health, integration.health_message = Health.OK, None
    details = audit.changes(before, {"name": name, "auto_sync": auto_sync, "priority": priority, **plain})
    changed_secrets = sorted(key for key, value in secrets.items() if old_secrets.get(key) != value)
    if changed_secrets:
        details["secrets_changed"] = changed_secrets
    audit.record("integration.create" if created else "integration.update", target=name, details=details)
    return integration


def name_taken(name: str, integration: Integration | None = None) -> bool:
    other = db.session.scalar(select(Integration).where(Integration.name == name))
    return other is not None and other is not integration


def delete_integration(integration: Integration) -> None:
    audit.record("integration.delete", target=integration.name, details={"provider": integration.provider})
    db.session.delete(integration)
