"""Forms of the learning record."""
from wtforms import HiddenField, SelectField, TextAreaField

from ..forms import Form
from .models import NOTE_VISIBILITIES


class ActionForm(Form):
    """A button that only needs the CSRF token."""


class NoteForm(Form):
    # Lengths and choices are checked by the operation, with the messages students see.
    body = TextAreaField("笔记")
    visibility = SelectField("可见范围", choices=list(NOTE_VISIBILITIES.items()), validate_choice=False,
                             default="private")
    position = HiddenField()
