"""The people the demo identity provider offers (``learnspace demo --idp-users``; scripts/run --demo)."""
from __future__ import annotations

from sqlalchemy import select

from ..accounts.models import User
from ..extensions import db
from ..spaces.models import Space
from .people import DEMO_TEACHER, UNROSTERED


def demo_idp_users() -> list[dict]:
    """Return the people the demo identity provider offers: two rostered, one not on any roster.

    Each entry is ``{"claims": {...}, "who": "..."}``; ``claims`` (with ``sub``)
    is what ``oidc-provider-mock --user-claims`` takes, ``who`` says what
    signing in as that person shows. Call after :func:`learnspace.demo.load_demo`.
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
