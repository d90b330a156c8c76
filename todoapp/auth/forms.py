from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import EqualTo, InputRequired, ValidationError

from ..models import USERNAME_MAX
from ..services.passwords import PASSWORD_MAX, PASSWORD_RULES, check_password_rules
from ..services.users import clean_username


def new_password_field(label: str) -> PasswordField:
    """A field for choosing a password, with the rules shown beside it."""
    return PasswordField(
        label,
        validators=[InputRequired("Choose a password.")],
        description=PASSWORD_RULES,
        render_kw={"autocomplete": "new-password", "maxlength": PASSWORD_MAX},
    )


def repeat_password_field(label: str, of: str) -> PasswordField:
    """The same password again, for the field named ``of``."""
    return PasswordField(
        label,
        validators=[
            InputRequired("Type the password again."),
            EqualTo(of, "The two passwords differ."),
        ],
        render_kw={"autocomplete": "new-password", "maxlength": PASSWORD_MAX},
    )


class LoginForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[InputRequired("Enter your username.")],
        render_kw={"autocomplete": "username", "maxlength": USERNAME_MAX},
    )
    password = PasswordField(
        "Password",
        validators=[InputRequired("Enter your password.")],
        render_kw={"autocomplete": "current-password", "maxlength": PASSWORD_MAX},
    )


class RegisterForm(FlaskForm):
    username = StringField(
        "Username",
        validators=[InputRequired("Choose a username.")],
        description="3 to 32 characters: letters a-z, digits, '_', '.' and '-'.",
        render_kw={"autocomplete": "username", "maxlength": USERNAME_MAX},
    )
    password = new_password_field("Password")
    confirm = repeat_password_field("Repeat password", of="password")

    def validate_username(self, field):
        # Whether the name is taken is told only after the attempt is counted
        # (auth.register), so an address past its limit cannot probe names.
        try:
            field.data = clean_username(field.data)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None

    def validate_password(self, field):
        # The username field is validated first and holds the cleaned name;
        # when it was refused, the password is still checked, without it.
        username = None if self.username.errors else self.username.data
        try:
            check_password_rules(field.data, username=username)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None
