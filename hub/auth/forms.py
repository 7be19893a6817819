"""Login and first-admin forms."""

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, Length

from hub.forms import HubForm

MIN_PASSWORD_LENGTH = 10


class LoginForm(HubForm):
    email = EmailField(_l("Email"), validators=[DataRequired(_l("Enter your email address."))])
    password = PasswordField(_l("Password"), validators=[DataRequired(_l("Enter your password."))])


class FirstAdminForm(HubForm):
    email = EmailField(
        _l("Email"),
        validators=[
            DataRequired(_l("Enter your email address.")),
            Email(_l("Enter a valid email address.")),
        ],
    )
    password = PasswordField(
        _l("Password"),
        validators=[
            DataRequired(_l("Enter a password.")),
            Length(min=MIN_PASSWORD_LENGTH, message=_l("Use at least %(min)d characters.")),
        ],
    )
    confirm = PasswordField(
        _l("Password (again)"),
        validators=[EqualTo("password", message=_l("The two passwords differ."))],
    )
