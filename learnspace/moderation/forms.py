"""Forms of the blocked-word list page."""
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, TextAreaField
from wtforms.validators import DataRequired, Length

from ..forms import Form


class AddTermsForm(Form):
    terms = TextAreaField("新增词语（每行一个）", validators=[DataRequired("请至少填写一个词语"),
                                                    Length(max=20_000, message="一次最多粘贴 20000 个字")])


class ImportForm(Form):
    file = FileField("清单文件（文本文件，每行一个词，UTF-8 或 GBK 编码）",
                     validators=[FileRequired("请选择要导入的文件")])
    replace = BooleanField("以文件为准：删除文件中没有的词语")


class EmptyForm(Form):
    """Only the CSRF token, for the delete buttons."""
