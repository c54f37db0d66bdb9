"""Sign-in, activation and guardian consent forms."""
from wtforms import DateField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from ..forms import Form
from .models import GUARDIAN_RELATIONS


class LoginForm(Form):
    login_name = StringField("账号", validators=[DataRequired("请输入账号"), Length(max=64)])
    password = PasswordField("密码", validators=[DataRequired("请输入密码"), Length(max=128)])


class ActivationForm(Form):
    real_name = StringField("姓名", validators=[DataRequired("请输入姓名"), Length(max=64)])
    code = StringField("激活码", validators=[DataRequired("请输入激活码"), Length(max=32)])
    password = PasswordField("设置密码", validators=[DataRequired("请设置密码"), Length(max=128)])
    confirm = PasswordField("确认密码", validators=[DataRequired("请再次输入密码"),
                                                 EqualTo("password", "两次输入的密码不一致")])


class ResetForm(Form):
    number = StringField("账号", validators=[DataRequired("请输入学籍号、教师编号或用户名"), Length(max=64)])
    real_name = StringField("姓名", validators=[DataRequired("请输入姓名"), Length(max=64)])
    code = StringField("重置码", validators=[DataRequired("请输入重置码"), Length(max=32)])
    password = PasswordField("新密码", validators=[DataRequired("请设置新密码"), Length(max=128)])
    confirm = PasswordField("确认新密码", validators=[DataRequired("请再次输入新密码"),
                                                   EqualTo("password", "两次输入的密码不一致")])


class ChangePasswordForm(Form):
    current_password = PasswordField("当前密码", validators=[Length(max=128)])
    new_password = PasswordField("新密码", validators=[DataRequired("请输入新密码"), Length(max=128)])
    confirm = PasswordField("再次输入新密码", validators=[DataRequired("请再次输入新密码"),
                                                   EqualTo("new_password", "两次输入的新密码不一致")])


class ConsentForm(Form):
    guardian_name = StringField("监护人姓名")
    relation = SelectField("与学生关系", choices=[(r, r) for r in GUARDIAN_RELATIONS], validate_choice=False)
    given_on = DateField("签署日期", validators=[Optional()])


class ActionForm(Form):
    """A button that only needs the CSRF token."""
