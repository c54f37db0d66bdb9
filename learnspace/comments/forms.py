"""Comment forms: they carry the CSRF token; the operations check the values with Chinese messages."""
from wtforms import HiddenField, SelectField, StringField, TextAreaField

from ..forms import Form
from .models import KINDS, REPORT_REASONS


class CommentForm(Form):
    kind = SelectField("类型", choices=list(KINDS.items()), default="comment", validate_choice=False)
    body = TextAreaField("内容")


class ReplyForm(Form):
    body = TextAreaField("回复")


class ReportForm(Form):
    reason = SelectField("举报原因", choices=list(REPORT_REASONS.items()), validate_choice=False)
    note = StringField("补充说明（可不填）")


class DecisionForm(Form):
    decision = HiddenField("处理", default="")


class EmptyForm(Form):
    """Only the CSRF token, for like, hide and unhide."""
