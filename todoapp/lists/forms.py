from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import ValidationError

from ..models import LIST_NAME_MAX
from ..services.titles import clean_list_name


def name_rules(form, field):
    try:
        field.data = clean_list_name(field.data)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class ListForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[name_rules],
        render_kw={
            "maxlength": LIST_NAME_MAX,
            "required": True,
            "autocomplete": "off",
            "dir": "auto",
        },
    )
