from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import InputRequired

from ..auth.forms import new_password_field, repeat_password_field
from ..services.passwords import PASSWORD_MAX


class PasswordForm(FlaskForm):
    """Change one's password; the service checks the current one and the rules."""

    current = PasswordField(
        "Current password",
        validators=[InputRequired("Enter your current password.")],
        render_kw={"autocomplete": "current-password", "maxlength": PASSWORD_MAX},
    )
    new = new_password_field("New password")
    confirm = repeat_password_field("Repeat the new password", of="new")
