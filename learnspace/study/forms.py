"""Forms of the learning record and of the consent page."""
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import Optional

from ..accounts.models import GUARDIAN_RELATIONS
from .models import NOTE_VISIBILITIES


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token."""


class NoteForm(FlaskForm):
    # Lengths and choices are checked by the operation, with the messages students see.
    body = TextAreaField("笔记")
    visibility = SelectField("可见范围", choices=list(NOTE_VISIBILITIES.items()), validate_choice=False,
                             default="private")
    position = HiddenField()


class ConsentForm(FlaskForm):
    guardian_name = StringField("监护人姓名")
    relation = SelectField("与学生关系", choices=[(r, r) for r in GUARDIAN_RELATIONS], validate_choice=False)
    given_on = DateField("签署日期", validators=[Optional()])
