"""CLI commands run with an admin's scope: import-roster --admin refuses schools outside it."""
from __future__ import annotations

from sqlalchemy import func, select

from tests.fixtures.people import audit_log, give_login


def _roster(path, school_code):
    path.write_text("姓名,角色,学校标识码,学籍号,教师编号,身份证号,年级,班级\n"
                    f"孙命令行,学生,{school_code},G430000201701010077,,,一年级,1班\n", encoding="utf-8")
    return path


def _imported(app):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with app.app_context():
        return db.session.scalar(select(func.count(User.id)).where(User.real_name == "孙命令行"))


def _run(app, *args):
    from learnspace.cli import main

    return app.test_cli_runner().invoke(main, list(args))


def test_import_roster_outside_the_admins_scope_fails_clearly_and_imports_nothing(app, world, tmp_path):
    """--admin school-a1 importing into b1: non-zero exit, a message naming the school, no rows, denial audited."""
    path = _roster(tmp_path / "b1.csv", world.schools["b1"])
    result = _run(app, "import-roster", str(path), "--school", world.schools["b1"], "--admin", "school-a1")
    assert result.exit_code != 0
    assert "您无权管理学校“荷塘区第一小学”" in result.output
    assert "管辖范围" in result.output
    assert _imported(app) == 0
    denied = [(e["action"], e["result"], e["target"]) for e in audit_log(app) if e["result"] != "success"]
    assert ("admin.scope", "denied", f"school:{world.schools['b1']}") in denied


def test_county_admin_cannot_import_into_the_other_county(app, world, tmp_path):
    """A county admin's scope stops at the county border on the CLI as on the web."""
    path = _roster(tmp_path / "a2.csv", world.schools["a2"])
    result = _run(app, "import-roster", str(path), "--school", world.schools["a2"], "--admin", "county-b")
    assert result.exit_code != 0 and "无权管理" in result.output
    assert _imported(app) == 0


def test_import_roster_inside_the_scope_works(app, world, tmp_path):
    """The city admin imports into a school of their city: exit 0, a summary, the person exists."""
    path = _roster(tmp_path / "a2.csv", world.schools["a2"])
    result = _run(app, "import-roster", str(path), "--school", world.schools["a2"], "--admin", "city-a")
    assert result.exit_code == 0, result.output
    assert "新增 1 人" in result.output
    assert _imported(app) == 1


def test_import_roster_with_an_unknown_admin_fails(app, world, tmp_path):
    """--admin naming no account fails before reading the file."""
    path = _roster(tmp_path / "a1.csv", world.schools["a1"])
    result = _run(app, "import-roster", str(path), "--school", world.schools["a1"], "--admin", "ghost")
    assert result.exit_code != 0
    assert "找不到管理员账号“ghost”" in result.output
    assert _imported(app) == 0


def test_import_roster_refuses_a_non_admin_as_admin(app, world, tmp_path):
    """A teacher's login name given as --admin is refused like an unknown admin."""
    teacher = give_login(app, world.people["teacher_a1"])
    path = _roster(tmp_path / "a1.csv", world.schools["a1"])
    result = _run(app, "import-roster", str(path), "--school", world.schools["a1"], "--admin", teacher)
    assert result.exit_code != 0 and "找不到管理员账号" in result.output
    assert _imported(app) == 0


def test_import_roster_into_an_unknown_school_fails_clearly(app, world, tmp_path):
    """An unregistered school code is named in the error; nothing is imported."""
    path = _roster(tmp_path / "x.csv", "")
    result = _run(app, "import-roster", str(path), "--school", "4399990001", "--admin", "platform")
    assert result.exit_code != 0
    assert "学校标识码“4399990001”不存在" in result.output
    assert _imported(app) == 0
