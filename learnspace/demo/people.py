"""Demo people: a province with cities, counties, schools, rostered teachers and pupils, and the demo accounts."""
from __future__ import annotations

import random
import secrets

from sqlalchemy import select

from ..accounts import idcard
from ..accounts import operations as accounts
from ..accounts.models import User
from ..extensions import db
from ..orgs import operations as orgs
from ..orgs.models import Region, School
from ..spaces import operations as spaces

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
#: the demo administrators: login, name, role, school code, region code
ADMIN_ACCOUNTS = [
    ("admin", "平台管理员", "platform_admin", None, None),
    ("hunan", "省级管理员", "region_admin", None, "430000"),
    ("furong", "芙蓉区管理员", "region_admin", None, "430102"),
    ("school1", "芙蓉区第一小学管理员", "school_admin", "4301020001", None),
]
#: what ``learnspace demo`` prints beside each demo login
ROLES = {login: name for login, name, *_ in ADMIN_ACCOUNTS} | {
    DEMO_TEACHER: "教师（芙蓉区第一小学，空间已开通）",
    DEMO_STUDENT: "学生（芙蓉区第一小学，空间已开通）",
}


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN_CHARS) for _ in range(rng.choice((1, 2))))


def _id_number(rng: random.Random, county: str, year: int) -> str:
    first17 = f"{county}{year:04d}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{rng.randint(0, 999):03d}"
    return first17 + idcard.check_digit(first17)


def _demo_password() -> str:
    """Return a fresh demo password; always letters and digits, as the password rules demand."""
    return f"Demo{secrets.randbelow(10_000):04d}{secrets.token_hex(2)}"


def seed(rng: random.Random) -> None:
    """Create the demo regions, schools and rostered people once (a rerun adds nothing)."""
    if db.session.get(Region, PROVINCE[0]) is not None:
        return
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


def reset_accounts() -> dict[str, str]:
    """Create the demo administrators once, give every demo login a fresh password; returns login → password.

    The demo teacher and pupil log in with their numbers, and their spaces are activated.
    """
    passwords = {}
    for login, name, role, school_code, region in ADMIN_ACCOUNTS:
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
    return passwords
