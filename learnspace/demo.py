"""``learnspace demo``: a demo province with cities, counties, schools and people."""
from __future__ import annotations

import json
import random
import secrets
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from .accounts import idcard
from .accounts import operations as accounts
from .accounts.models import User
from .audit import operations as audit
from .catalog import operations as catalog
from .comments import operations as comments
from .directory import demo as directory
from .extensions import db
from .moderation import operations as moderation
from .orgs import operations as orgs
from .orgs.models import Region, School
from .spaces import operations as spaces
from .spaces.models import Space
from .study import operations as study

PROVINCE = ("430000", "湖南省")
CITIES = [("430100", "长沙市"), ("430200", "株洲市")]
COUNTIES = [("430102", "芙蓉区"), ("430104", "岳麓区"), ("430202", "荷塘区"), ("430211", "天元区")]
SCHOOL_KINDS = [("第一小学", "小学"), ("实验小学", "小学"), ("第二中学", "初中")]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛"
GIVEN_CHARS = [c for c in "子涵欣怡梓轩浩宇诺雨桐思远嘉俊杰雅琪航佳诗晨曦博文明华芳丽强军平伟静敏磊洋艳勇娜涛超秀霞刚桂兰"]
GRADES = ["三年级", "四年级", "五年级"]
STUDENTS_PER_SCHOOL = 20
TEACHERS_PER_SCHOOL = 5
DEMO_TEACHER = "T430102000101"
DEMO_SCHOOL = "4301020001"
#: a pupil of the demo school with a password login (the demo identity provider signs in another one)
DEMO_STUDENT = f"G{DEMO_SCHOOL}0020"
#: Someone the demo identity provider knows but no school roster lists (a pupil who just moved here).
UNROSTERED = {"name": "林新来", "student_number": f"G{DEMO_SCHOOL}9999", "school_code": DEMO_SCHOOL}


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2))))


def _id_number(rng: random.Random, county: str, year: int) -> str:
    first17 = f"{county}{year:04d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return first17 + idcard.check_digit(first17)


def _demo_password() -> str:
    """Return a fresh demo password; always letters and digits, as the password rules demand."""
    return f"Demo{secrets.randbelow(10_000):04d}{secrets.token_hex(2)}"


def load_demo(rng: random.Random | None = None) -> dict[str, str]:
    """Create the demo region once and (re)set the demo accounts' passwords; returns login → password."""
    rng = rng or random.Random(2019)
    if db.session.get(Region, PROVINCE[0]) is None:
        _create_regions_and_people(rng)
    _choose_editions()
    passwords = {}
    for login, name, role, school_code, region in _demo_accounts():
        user = db.session.scalar(select(User).where(User.login_name == login))
        password = _demo_password()
        if user is None:
            school = orgs.get_school_by_code(school_code) if school_code else None
            user = accounts.create_admin(login, name, password, role, school, region)
        else:
            accounts.set_password(user, password)
            user.is_disabled = False
        passwords[login] = password
    teacher = db.session.scalar(select(User).where(User.teacher_number == DEMO_TEACHER))
    accounts.set_password(teacher, passwords.setdefault(DEMO_TEACHER, _demo_password()))
    teacher.login_name = teacher.teacher_number
    spaces.activate(teacher, "demo")
    student = db.session.scalar(select(User).where(User.student_number == DEMO_STUDENT))
    accounts.set_password(student, passwords.setdefault(DEMO_STUDENT, _demo_password()))
    student.login_name = student.student_number
    spaces.activate(student, "demo")
    _seed_activity(rng)
    audit.record("demo.load", detail="demo data ready")
    return passwords


def _seed_activity(rng: random.Random) -> None:
    """Lessons first (the other seeds use them), then profiles and follows, learning records, words, comments."""
    directory.seed_demo(rng)
    spaces.seed_demo(rng)
    study.seed_demo(rng)
    moderation.seed_demo(rng)
    comments.seed_demo(rng)


def _demo_accounts():
    return [
        ("admin", "平台管理员", "platform_admin", None, None),
        ("hunan", "省级管理员", "region_admin", None, "430000"),
        ("furong", "芙蓉区管理员", "region_admin", None, "430102"),
        ("school1", "芙蓉区第一小学管理员", "school_admin", "4301020001", None),
    ]


def _choose_editions() -> None:
    """Load the shipped catalogue; give each demo school editions (alternating 人教版/北师大版), keeping earlier choices."""
    catalog.load_shipped_catalogue()
    schools = db.session.scalars(select(School).where(School.county_code.in_([c for c, _ in COUNTIES]))
                                 .order_by(School.code)).all()
    for index, school in enumerate(schools):
        if not catalog.editions_for_school(school):
            for option in catalog.edition_options(school):
                editions = option["editions"]
                catalog.set_school_edition(school, option["grade"], option["subject"], editions[index % len(editions)])


def _create_regions_and_people(rng: random.Random) -> None:
    orgs.create_region(*PROVINCE)
    for code, name in CITIES:
        orgs.create_region(code, name)
    for code, name in COUNTIES:
        orgs.create_region(code, name)
    for county_code, county_name in COUNTIES:
        for index, (suffix, stage) in enumerate(SCHOOL_KINDS, start=1):
            school = orgs.create_school(f"{county_code}{index:04d}", f"{county_name}{suffix}", stage, county_code)
            _create_people(rng, school)


def _create_people(rng: random.Random, school: School) -> None:
    for t in range(1, TEACHERS_PER_SCHOOL + 1):
        teacher = User(role="teacher", school_id=school.id, real_name=_name(rng),
                       teacher_number=f"T{school.code}{t:02d}")
        accounts.set_id_card(teacher, _id_number(rng, school.county_code, rng.randint(1970, 1995)))
        db.session.add(teacher)
    for s in range(1, STUDENTS_PER_SCHOOL + 1):
        grade = GRADES[s % len(GRADES)] if school.stage == "小学" else "七年级"
        student = User(role="student", school_id=school.id, real_name=_name(rng), grade=grade,
                       class_name=f"{s % 2 + 1}班", student_number=f"G{school.code}{s:04d}")
        if s % 3 == 0:
            accounts.set_id_card(student, _id_number(rng, school.county_code, rng.randint(2012, 2016)))
        db.session.add(student)
    db.session.flush()
    # About 40% are activated already, so the figures are not all zero.
    for person in db.session.scalars(select(User).where(User.school_id == school.id)):
        if rng.random() < 0.4:
            spaces.activate(person, "demo")


def demo_idp_users() -> list[dict]:
    """Return the people the demo identity provider offers: two rostered, one not on any roster.

    Each entry is ``{"claims": {...}, "who": "..."}``; ``claims`` (with ``sub``)
    is what ``oidc-provider-mock --user-claims`` takes, ``who`` says what
    signing in as that person shows. Call after :func:`load_demo`.
    """
    teacher = db.session.scalar(select(User).where(User.teacher_number == DEMO_TEACHER))
    school = teacher.school
    # The first student of the school whose space the demo did not open, so the newcomer sees a
    # first sign-in activate a space; still the same student after that sign-in and on later runs.
    student = db.session.scalar(
        select(User).outerjoin(Space, Space.owner_id == User.id)
        .where(User.school_id == school.id, User.role == "student",
               (Space.id.is_(None)) | (Space.activation_method == "oidc"))
        .order_by(User.student_number).limit(1))
    users = [{
        "claims": {"sub": "demo-teacher", "name": teacher.real_name, "teacher_number": teacher.teacher_number,
                   "school_code": school.code},
        "who": f"教师 {teacher.real_name}（{school.name}，{teacher.teacher_number}）：空间已开通，直接进入",
    }]
    if student is not None:
        users.append({
            "claims": {"sub": "demo-student", "name": student.real_name, "student_number": student.student_number,
                       "school_code": school.code},
            "who": f"学生 {student.real_name}（{school.name}，{student.student_number}）：首次登录时开通空间",
        })
    users.append({
        "claims": {"sub": "demo-unrostered", **UNROSTERED},
        "who": f"{UNROSTERED['name']}（{UNROSTERED['student_number']}）：不在学校名册中，看到说明，不创建账号",
    })
    return users


@click.command("demo")
@click.option("--idp-users", "idp_users", type=click.Path(dir_okay=False, writable=True, path_type=Path),
              help="Also write the demo identity provider's users (JSON) to this file; scripts/run --demo uses it.")
@with_appcontext
def demo_command(idp_users: Path | None):
    """Load the demo province and print the demo accounts."""
    audit.set_context(None, "cli")
    passwords = load_demo()
    db.session.commit()
    roles = {login: f"{name}" for login, name, *_ in _demo_accounts()}
    roles[DEMO_TEACHER] = "教师（芙蓉区第一小学，空间已开通）"
    roles[DEMO_STUDENT] = "学生（芙蓉区第一小学，空间已开通）"
    click.echo("演示账号 / demo accounts (passwords are new on every run):")
    for login, password in passwords.items():
        click.echo(f"  {login:16s} {password}   {roles.get(login, '')}")
    if idp_users is not None:
        idp_users.write_text(json.dumps(demo_idp_users(), ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
