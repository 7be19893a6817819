"""The KING OF TIME settings form: access token, environment (or a custom root URL), the admin's ceiling."""

from __future__ import annotations

from wtforms import FloatField, SelectChoice, SelectField, URLField
from wtforms.validators import URL, DataRequired, Length, NumberRange, Optional, ValidationError

from hub.forms import HubForm, ProviderURL, SecretField
from hub_plugins.kingoftime.catalog import _l


class KingOfTimeSettingsForm(HubForm):
    access_token = SecretField(
        _l("Access token"),
        [DataRequired(_l("Enter the access token issued in KING OF TIME.")), Length(max=500)],
        bound_to=("environment", "api_base_url"),
        description=_l(
            "Issue it in KING OF TIME: 設定 → その他 → オプション → 外部サービス連携 → KING OF TIME WebAPI連携設定 "
            "→ 連携設定. Give it the Read right for employees and daily workings, and add this server's IP address "
            "to its allowed addresses."
        ),
    )
    environment = SelectField(
        _l("Environment"),
        choices=[
            SelectChoice("production", _l("Production")),
            SelectChoice("custom", _l("Custom URL (simulator, proxy)")),
        ],
        default="production",
    )
    api_base_url = URLField(
        _l("API base URL"),
        description=_l("Custom URL only: the root, such as http://127.0.0.1:8760; the hub adds /v1.0."),
    )
    requests_per_second = FloatField(
        _l("At most this many requests a second"),
        [Optional(), NumberRange(0.1, 50, _l("Enter a number from 0.1 to 50, or leave it blank."))],
        description=_l(
            "Leave blank: a sync needs three requests, and the hub slows down by itself when KING OF TIME says "
            '"too many requests". Enter a number only for a limit agreed with KING OF TIME.'
        ),
    )

    def validate_api_base_url(self, field):
        """Required with a custom URL (then http or https, where the URL policy allows); ignored for production."""
        if self.environment.data != "custom":
            return
        if not field.data:
            raise ValidationError(_l("Enter the API base URL for a custom URL."))
        URL(require_tld=False, message=_l("Enter a URL."))(self, field)
        ProviderURL()(self, field)
