from flask_wtf import FlaskForm
from wtforms import SelectField, StringField
from wtforms.validators import ValidationError

from ..models import TITLE_MAX
from ..services.titles import clean_title


def title_rules(form, field):
    try:
        field.data = clean_title(field.data)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class TodoForm(FlaskForm):
    title = StringField(
        "Title",
        validators=[title_rules],
        render_kw={"maxlength": TITLE_MAX, "required": True, "autocomplete": "off", "dir": "auto"},
    )


class EditTodoForm(TodoForm):
    """The edit page's form: the title, and the list the todo is in. The
    view fills ``list_id.choices`` with the user's live lists."""

    list_id = SelectField("List", coerce=int, validate_choice=True)
