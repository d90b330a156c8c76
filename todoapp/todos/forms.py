from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Optional, ValidationError

from ..models import TITLE_MAX
from ..services.titles import clean_title


def title_rules(form, field):
    try:
        field.data = clean_title(field.data)
    except ValueError as exc:
        raise ValidationError(str(exc)) from None


class DueDateField(DateField):
    """``<input type="date">``: a date picker in browsers that have one, and
    a text field taking YYYY-MM-DD in those that do not; no JavaScript."""

    def process_formdata(self, valuelist):
        try:
            super().process_formdata(valuelist)
        except ValueError:
            raise ValueError("Enter the date as YYYY-MM-DD, or leave it empty.") from None


class TodoForm(FlaskForm):
    title = StringField(
        "Title",
        validators=[title_rules],
        render_kw={"maxlength": TITLE_MAX, "required": True, "autocomplete": "off", "dir": "auto"},
    )
    due_on = DueDateField("Due date", validators=[Optional()])


class EditTodoForm(TodoForm):
    """The edit page's form: the title, and the list the todo is in. The
    view fills ``list_id.choices`` with the user's live lists."""

    list_id = SelectField("List", coerce=int, validate_choice=True)


class MoveTodoForm(FlaskForm):
    """The "Move to…" page: one button per list, each sending its id. The
    view fills ``list_id.choices`` with the user's live lists."""

    list_id = SelectField("List", coerce=int, validate_choice=True)
