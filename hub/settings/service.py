"""Reading the company settings where no form is involved."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import current_app

from hub.models import Settings


def current_settings() -> Settings:
    """The settings row, created with the seed's defaults on first use."""
    return Settings.load(default_timezone=current_app.config["HUB_TIMEZONE"])


def company_timezone() -> str:
    """The company time zone: the setting once saved, else ``HUB_TIMEZONE``."""
    return Settings.company_timezone(current_app.config["HUB_TIMEZONE"])


def company_today() -> date:
    """Today's date in the company time zone."""
    return datetime.now(ZoneInfo(company_timezone())).date()
