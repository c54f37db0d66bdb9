"""Forms of the learning record."""
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, TextAreaField

from .models import NOTE_VISIBILITIES


class ActionForm(FlaskForm):
    """A button that only needs the CSRF token."""


class NoteForm(FlaskForm):
    # Lengths and choices are checked by the operation, with the messages students see.
    body = TextAreaField("笔记")
    visibility = SelectField("可见范围", choices=list(NOTE_VISIBILITIES.items()), validate_choice=False,
                             default="private")
    position = HiddenField()
