"""Login and first-admin forms."""

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, EqualTo, ValidationError

from hub.auth.passwords import password_problem
from hub.forms import HubForm


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
        validators=[DataRequired(_l("Enter a password."))],
    )
    confirm = PasswordField(
        _l("Password (again)"),
        validators=[EqualTo("password", message=_l("The two passwords differ."))],
    )

    def validate_password(self, field: PasswordField) -> None:
        problem = password_problem(field.data, self.email.data or "")
        if problem:
            raise ValidationError(problem)
