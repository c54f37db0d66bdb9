"""People for learning and privacy tests: students of a chosen age, with or without guardian consent."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from tests.fixtures.world import valid_id

_serial = [100]


def birthday_years_ago(years: int, days_more: int = 0) -> date:
    """Return the date *years* ago today in China, minus *days_more* days."""
    from datetime import timedelta

    from learnspace.accounts.consent import today

    now = today()
    try:
        born = now.replace(year=now.year - years)
    except ValueError:  # 29 February
        born = now.replace(year=now.year - years, day=28)
    return born - timedelta(days=days_more)


def add_person(school_code: str, role: str = "student", *, name: str = "测试学生", grade: str | None = "三年级",
               class_name: str | None = "1班", born: date | None = None, consent: bool = False,
               space: bool = True) -> int:
    """Add (and commit) a rostered person at *school_code*; students get an ID card when *born* is given."""
    from learnspace.accounts import consent as consents
    from learnspace.accounts import operations as accounts
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.orgs.models import School
    from learnspace.spaces import operations as spaces

    _serial[0] += 1
    serial = _serial[0]
    school_id = db.session.scalar(select(School.id).where(School.code == school_code))
    person = User(role=role, real_name=name, school_id=school_id)
    if role == "student":
        person.student_number = f"G9{serial:016d}"
        person.grade, person.class_name = grade, class_name
    else:
        person.teacher_number = f"T9{serial:012d}"
    person.login_name = person.student_number or person.teacher_number
    from tests.fixtures.world import PASSWORD
    accounts.set_password(person, PASSWORD)
    db.session.add(person)
    db.session.flush()
    if born is not None:
        accounts.set_id_card(person, valid_id(f"430102{born:%Y%m%d}{serial % 1000:03d}"))
    if space and role in ("student", "teacher"):
        spaces.activate(person, "admin")
    if consent:
        admin = db.session.scalar(select(User).where(User.role == "platform_admin"))
        consents.record_consent(person, admin, "家长甲", "母亲", consents.today())
    db.session.commit()
    return person.id


def user(person_id: int):
    """Load a person by id in the current app context."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    return db.session.get(User, person_id)
