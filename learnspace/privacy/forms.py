"""Forms of the 我的数据 pages (CSRF token plus the deletion confirmation)."""
from wtforms import PasswordField, StringField

from ..forms import Form


class ActionForm(Form):
    """A button that needs only the CSRF token."""


class DeleteForm(Form):
    password = PasswordField("当前登录密码")
    confirm_name = StringField("姓名")
