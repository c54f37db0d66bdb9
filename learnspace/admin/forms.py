"""Admin forms."""
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, StringField
from wtforms.validators import DataRequired, Length, Regexp

from ..forms import Form
from ..orgs.models import SCHOOL_STAGES


class RegionForm(Form):
    code = StringField("行政区划代码", validators=[DataRequired("请填写代码"), Regexp(r"^\d{6}$", message="应为 6 位数字")])
    name = StringField("名称", validators=[DataRequired("请填写名称"), Length(max=64)])


class SchoolForm(Form):
    code = StringField("学校标识码", validators=[DataRequired("请填写学校标识码"),
                                            Regexp(r"^\d{10}$", message="应为 10 位数字")])
    name = StringField("学校名称", validators=[DataRequired("请填写学校名称"), Length(max=100)])
    # The operation checks the stage with a Chinese message; WTForms' own check is English.
    stage = SelectField("学段", choices=[(s, s) for s in SCHOOL_STAGES], validate_choice=False)
    # Like RosterForm.school_code: a county outside the scope must reach the view's 403.
    county_code = SelectField("所属区县", choices=[], validate_choice=False)


class RenameSchoolForm(Form):
    name = StringField("新的学校名称", validators=[DataRequired("请填写学校名称"), Length(max=100)])


class RosterForm(Form):
    # The choices only offer schools in scope; a posted code outside them must reach
    # require_school (403, audited) rather than fail here as a bare form error.
    school_code = SelectField("导入到学校", choices=[], validate_choice=False)
    file = FileField("名册文件（CSV 或 XLSX）", validators=[FileRequired("请选择要导入的文件")])


class CodesForm(Form):
    grade = StringField("年级", validators=[Length(max=16)])
    class_name = StringField("班级", validators=[Length(max=32)])
    kind = SelectField("类型", choices=[("activation", "激活码"), ("reset", "重置码")], default="activation")
    #: "1" once the admin has seen which slips become void (the confirmation page sends it)
    confirm = StringField("确认", validators=[Length(max=1)])
    #: fingerprint of the slips the confirmation page listed: only exactly those are voided
    voids = StringField("作废", validators=[Length(max=64)])


class ResetCodeForm(Form):
    """Issue a reset code for one person; ``confirm`` and ``voids`` as in CodesForm."""

    confirm = StringField("确认", validators=[Length(max=1)])
    voids = StringField("作废", validators=[Length(max=64)])


class TransferForm(Form):
    school_code = StringField("转入学校标识码", validators=[DataRequired("请填写学校标识码"),
                                                  Regexp(r"^\d{10}$", message="应为 10 位数字")])


class EmptyForm(Form):
    """A form with only the CSRF token, for buttons that change state."""


class AdminAccountForm(Form):
    login_name = StringField("登录名", validators=[DataRequired("请填写登录名"), Length(max=64)])
    real_name = StringField("姓名", validators=[DataRequired("请填写姓名"), Length(max=64)])
    # No choice is checked here: a posted role, region or school outside the admin's scope must
    # reach create_admin_account (403, audited) rather than fail as a bare form error.
    role = SelectField("角色", choices=[], validate_choice=False)
    region_code = SelectField("所辖区域（区域管理员）", choices=[], validate_choice=False)
    school_code = SelectField("学校（学校管理员）", choices=[], validate_choice=False)
