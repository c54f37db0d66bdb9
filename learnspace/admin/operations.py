"""Reads and verbs behind the admin pages, always limited to the admin's scope."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from .. import exports
from ..accounts.models import CodeBatch, User
from ..accounts.scope import region_scope, school_scope
from ..extensions import db
from ..orgs.grades import grade_order, grade_sort_key
from ..orgs.models import Region, School
from ..spaces.models import Space

#: who counts in 名册人数 everywhere (dashboard, schools list, school page): the people on a roster.
#: School admins are listed apart on the school page and never counted here.
ROSTER_ROLES = ("student", "teacher")
ROSTER_MEANING = "名册人数 = 名册上的学生和教师（不含管理员）"


def scope_counts(admin: User) -> dict:
    """Count schools, rostered people and activated spaces in the admin's scope."""
    in_scope = select(School.id).where(school_scope(admin))
    people = select(func.count(User.id)).where(User.school_id.in_(in_scope), User.role.in_(ROSTER_ROLES))
    spaces = (select(func.count(Space.id)).join(User, Space.owner_id == User.id)
              .where(User.school_id.in_(in_scope)))
    return {
        "schools": db.session.scalar(select(func.count()).select_from(in_scope.subquery())),
        "people": db.session.scalar(people),
        "activated": db.session.scalar(spaces),
    }


def schools_with_counts(admin: User) -> list[tuple[School, int, int]]:
    """List the admin's schools with their rostered and activated counts."""
    rostered = (select(User.school_id, func.count(User.id).label("n")).where(User.role.in_(ROSTER_ROLES))
                .group_by(User.school_id).subquery())
    activated = (select(User.school_id, func.count(Space.id).label("n")).join(Space, Space.owner_id == User.id)
                 .group_by(User.school_id).subquery())
    query = (select(School, func.coalesce(rostered.c.n, 0), func.coalesce(activated.c.n, 0))
             .outerjoin(rostered, rostered.c.school_id == School.id)
             .outerjoin(activated, activated.c.school_id == School.id)
             .where(school_scope(admin)).order_by(School.county_code, School.code))
    return [tuple(row) for row in db.session.execute(query)]


def regions_in_scope(admin: User) -> list[Region]:
    """List the regions the admin may see, ordered by code."""
    return list(db.session.scalars(select(Region).where(region_scope(admin)).order_by(Region.code)))


def counties_in_scope(admin: User) -> list[Region]:
    """List the counties where the admin may register schools."""
    return [r for r in regions_in_scope(admin) if r.level == "county"]


def people_of_school(school: School, query: str = "", grade: str = "", class_name: str = "",
                     page: int = 1, per_page: int = 50):
    """Return one page of a school's rostered people (with their spaces) and the total count."""
    stmt = (select(User, Space).outerjoin(Space, Space.owner_id == User.id)
            .where(User.school_id == school.id, User.role.in_(ROSTER_ROLES)))
    if query:
        like = f"%{query}%"
        stmt = stmt.where(or_(User.real_name.like(like), User.student_number == query, User.teacher_number == query))
    if grade:
        stmt = stmt.where(User.grade == grade)
    if class_name:
        stmt = stmt.where(User.class_name == class_name)
    total = db.session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = db.session.execute(stmt.order_by(User.role.desc(), *grade_order(User.grade), User.class_name, User.id)
                              .limit(per_page).offset((page - 1) * per_page)).all()
    return rows, total


def unactivated_people(school: School, grade: str, class_name: str) -> list[User]:
    """Return the people of one class who have no space yet."""
    stmt = (select(User).outerjoin(Space, Space.owner_id == User.id)
            .where(User.school_id == school.id, Space.id.is_(None), User.role.in_(ROSTER_ROLES),
                   User.is_disabled.is_(False),
                   func.coalesce(User.grade, "") == grade, func.coalesce(User.class_name, "") == class_name)
            .order_by(User.role.desc(), User.id))
    return list(db.session.scalars(stmt))


def code_classes(school: School) -> list[tuple[str, str, int, int]]:
    """List (grade, class, not yet activated, activated) of a school's students and teachers who can sign in."""
    stmt = (select(User.grade, User.class_name, func.count(User.id) - func.count(Space.id), func.count(Space.id))
            .outerjoin(Space, Space.owner_id == User.id)
            .where(User.school_id == school.id, User.role.in_(ROSTER_ROLES), User.is_disabled.is_(False))
            .group_by(User.grade, User.class_name))
    rows = [(g or "", c or "", waiting, activated) for g, c, waiting, activated in db.session.execute(stmt)]
    return sorted(rows, key=lambda row: (grade_sort_key(row[0]), row[1] == "", row[1]))


def activated_people(school: School, grade: str, class_name: str) -> list[User]:
    """Return the people of one class who have a space (those a reset code is for)."""
    stmt = (select(User).join(Space, Space.owner_id == User.id)
            .where(User.school_id == school.id, User.role.in_(ROSTER_ROLES),
                   User.is_disabled.is_(False),
                   func.coalesce(User.grade, "") == grade, func.coalesce(User.class_name, "") == class_name)
            .order_by(User.role.desc(), User.id))
    return list(db.session.scalars(stmt))


def codes_workbook(batch: CodeBatch, slips: list[tuple[User, str]], expires_text: str) -> bytes:
    """Build an XLSX with one row per person and their code, from the same batch as the print page."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = batch.kind_name
    owner = batch.school.name if batch.school else "管理员账号"
    purpose = "个人学习空间激活码" if batch.kind == "activation" else "密码重置码"
    exports.append_row(sheet, [f"{owner} {purpose}（第 {batch.id} 批，{expires_text}前有效，仅可使用一次）"])
    exports.append_row(sheet, ["姓名", "角色", "学籍号/教师编号", "年级", "班级", batch.kind_name])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    for user, code in slips:
        exports.append_row(sheet, [user.real_name, user.role_name,
                                   user.student_number or user.teacher_number or user.login_name or "",
                                   user.grade or "", user.class_name or "", code])
    for column, width in zip("ABCDEF", (12, 8, 24, 10, 10, 18)):
        sheet.column_dimensions[column].width = width
    return exports.workbook_bytes(book)


def scope_counts_for_school(school: School) -> dict:
    """Count rostered people and activated spaces of one school."""
    people = db.session.scalar(select(func.count(User.id)).where(User.school_id == school.id,
                                                                 User.role.in_(ROSTER_ROLES)))
    activated = db.session.scalar(select(func.count(Space.id)).join(User, Space.owner_id == User.id)
                                  .where(User.school_id == school.id))
    return {"people": people, "activated": activated}



def school_admins_of(school: School) -> list[User]:
    """List a school's admin accounts (shown apart from the roster, not counted in 名册人数)."""
    return list(db.session.scalars(select(User).where(User.school_id == school.id, User.role == "school_admin")
                                   .order_by(User.id)))
