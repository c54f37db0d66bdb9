"""Forms of the 我的数据 pages (CSRF token plus the deletion confirmation)."""
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField


class ActionForm(FlaskForm):
    """A button that needs only the CSRF token."""


class DeleteForm(FlaskForm):
    password = PasswordField("当前登录密码")
    confirm_name = StringField("姓名")
