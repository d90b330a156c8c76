from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import ValidationError

from ..models import TITLE_MAX, clean_title


def title_rules(form, field):
    try:
        field.data = clean_title(field.data)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class TodoForm(FlaskForm):
    title = StringField(
        "Title",
        validators=[title_rules],
        render_kw={"maxlength": TITLE_MAX, "required": True, "autocomplete": "off"},
    )
