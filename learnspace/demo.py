"""``learnspace demo``: a demo province with cities, counties, schools and people."""
from __future__ import annotations

import random
import secrets

import click
from flask.cli import with_appcontext
from sqlalchemy import select

from .accounts import idcard
from .accounts import operations as accounts
from .accounts.models import User
from .audit import operations as audit
from .extensions import db
from .orgs import operations as orgs
from .orgs.models import Region, School
from .spaces import operations as spaces

PROVINCE = ("430000", "湖南省")
CITIES = [("430100", "长沙市"), ("430200", "株洲市")]
COUNTIES = [("430102", "芙蓉区"), ("430104", "岳麓区"), ("430202", "荷塘区"), ("430211", "天元区")]
SCHOOL_KINDS = [("第一小学", "小学"), ("实验小学", "小学"), ("第二中学", "初中")]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛"
GIVEN_CHARS = [c for c in "子涵欣怡梓轩浩宇诺雨桐思远嘉俊杰雅琪航佳诗晨曦博文明华芳丽强军平伟静敏磊洋艳勇娜涛超秀霞刚桂兰"]
GRADES = ["三年级", "四年级", "五年级"]
STUDENTS_PER_SCHOOL = 20
TEACHERS_PER_SCHOOL = 5


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2))))


def _id_number(rng: random.Random, county: str, year: int) -> str:
    first17 = f"{county}{year:04d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return first17 + idcard.check_digit(first17)


def load_demo(rng: random.Random | None = None) -> dict[str, str]:
    """Create the demo region once and (re)set the demo accounts' passwords; returns login → password."""
    rng = rng or random.Random(2019)
    if db.session.get(Region, PROVINCE[0]) is None:
        _create_regions_and_people(rng)
    passwords = {}
    for login, name, role, school_code, region in _demo_accounts():
        user = db.session.scalar(select(User).where(User.login_name == login))
        password = "Demo" + secrets.token_hex(4)
        if user is None:
            school = orgs.get_school_by_code(school_code) if school_code else None
            user = accounts.create_admin(login, name, password, role, school, region)
        else:
            accounts.set_password(user, password)
            user.is_disabled = False
        passwords[login] = password
    teacher = db.session.scalar(select(User).where(User.teacher_number == "T430102000101"))
    accounts.set_password(teacher, passwords.setdefault("T430102000101", "Demo" + secrets.token_hex(4)))
    teacher.login_name = teacher.teacher_number
    spaces.activate(teacher, "demo")
    audit.record("demo.load", detail="demo data ready")
    return passwords


def _demo_accounts():
    return [
        ("admin", "平台管理员", "platform_admin", None, None),
        ("hunan", "省级管理员", "region_admin", None, "430000"),
        ("furong", "芙蓉区管理员", "region_admin", None, "430102"),
        ("school1", "芙蓉区第一小学管理员", "school_admin", "4301020001", None),
    ]


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


@click.command("demo")
@with_appcontext
def demo_command():
    """Load the demo province and print the demo accounts."""
    audit.set_context(None, "cli")
    passwords = load_demo()
    db.session.commit()
    roles = {login: f"{name}" for login, name, *_ in _demo_accounts()}
    roles["T430102000101"] = "教师（芙蓉区第一小学，空间已开通）"
    click.echo("演示账号 / demo accounts (passwords are new on every run):")
    for login, password in passwords.items():
        click.echo(f"  {login:16s} {password}   {roles.get(login, '')}")
