"""Lesson forms. The catalogue node comes from the cascading selects (request field "node"), not from here."""
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..forms import Form
from .models import LANGUAGES, LESSON_TYPES, VISIBILITIES
from .operations import DESCRIPTION_MAX, TITLE_MAX


class LessonForm(Form):
    title = StringField("课程标题", validators=[DataRequired("请填写课程标题"),
                                            Length(max=TITLE_MAX, message=f"课程标题最多 {TITLE_MAX} 个字")])
    description = TextAreaField("课程简介", validators=[
        Length(max=DESCRIPTION_MAX, message=f"课程简介最多 {DESCRIPTION_MAX} 个字")])
    # The operation checks the choices with Chinese messages; WTForms' own check is English.
    lesson_type = SelectField("课型", choices=[(t, t) for t in LESSON_TYPES], validate_choice=False)
    language = SelectField("授课语言", choices=list(LANGUAGES.items()), default="zh", validate_choice=False)
    visibility = RadioField("谁可以查看", choices=list(VISIBILITIES.items()), default="school",
                            validate_choice=False)


class ActionForm(Form):
    """Only the CSRF token, for the publish, withdraw and delete buttons."""
