from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import EqualTo, InputRequired

from ..models import PASSWORD_MAX, PASSWORD_MIN

PASSWORD_RULES = (
    f"At least {PASSWORD_MIN} characters, not a common password, and not containing your username."
)


class PasswordForm(FlaskForm):
    """Change one's password; the service checks the current one and the rules."""

    current = PasswordField(
        "Current password",
        validators=[InputRequired("Enter your current password.")],
        render_kw={"autocomplete": "current-password", "maxlength": PASSWORD_MAX},
    )
    new = PasswordField(
        "New password",
        validators=[InputRequired("Choose a new password.")],
        description=PASSWORD_RULES,
        render_kw={"autocomplete": "new-password", "maxlength": PASSWORD_MAX},
    )
    confirm = PasswordField(
        "Repeat the new password",
        validators=[
            InputRequired("Type the new password again."),
            EqualTo("new", "The two passwords differ."),
        ],
        render_kw={"autocomplete": "new-password", "maxlength": PASSWORD_MAX},
    )
