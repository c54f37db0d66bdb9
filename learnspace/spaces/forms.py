"""Forms of a teacher's space: profile, photo, announcements, and the token-only action buttons."""
from flask_wtf.file import FileField
from wtforms import RadioField, SelectMultipleField, TextAreaField
from wtforms.validators import Length
from wtforms.widgets import CheckboxInput, ListWidget

from ..forms import Form
from ..lessons.models import VISIBILITIES
from .operations import ANNOUNCEMENT_MAX, GRADES, INTRODUCTION_MAX, SUBJECTS


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of checkboxes (the operation checks the values, with Chinese messages)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ProfileForm(Form):
    subjects = CheckboxesField("任教学科", choices=[(s, s) for s in SUBJECTS], validate_choice=False)
    grades = CheckboxesField("任教年级", choices=[(g, g) for g in GRADES], validate_choice=False)
    introduction = TextAreaField("个人简介", validators=[
        Length(max=INTRODUCTION_MAX, message=f"个人简介最多 {INTRODUCTION_MAX} 个字")])
    default_visibility = RadioField("新课程默认谁可以查看", choices=list(VISIBILITIES.items()), default="school",
                                    validate_choice=False)


class PhotoForm(Form):
    photo = FileField("照片")


class AnnouncementForm(Form):
    body = TextAreaField("公告内容", validators=[
        Length(max=ANNOUNCEMENT_MAX, message=f"公告最多 {ANNOUNCEMENT_MAX} 个字")])


class ActionForm(Form):
    """Only the CSRF token, for follow, unfollow and delete buttons."""
