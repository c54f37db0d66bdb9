"""Demo spaces: teacher profiles and announcements, follows and visits within a teacher's school."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from ..accounts.models import User
from ..activity import operations as activity
from ..db import utcnow
from ..extensions import db
from ..orgs.grades import GRADES_OF_STAGE
from ..spaces import operations as spaces
from ..spaces.models import Announcement, Space, TeacherProfile

INTRODUCTIONS = (
    "从教十二年，喜欢把课堂搬到生活里：超市购物算小数，操场跑步学时间。",
    "区级骨干教师，研究“读写结合”的单元教学，欢迎同行交流。",
    "相信每个孩子都能学好数学，课后答疑请在课程下面留言。",
    "带过三届毕业班，正在整理本册的课堂实录和练习，陆续上传。",
)
ANNOUNCEMENTS = (
    "本周四下午第二节是区里的公开课，欢迎同年级老师来听课。",
    "《认识时间》的评测练习已更新，同学们可以先自己做一遍再看讲解。",
    "国庆假期作业：每天读书 20 分钟，并在空间里记一条读书笔记。",
    "下周起课堂实录会同步上传，没听懂的地方可以回看。",
)


def seed(rng) -> int:
    """Give demo teachers profiles and announcements, and demo people follows and visits; return teachers touched.

    Profiles and announcements are added as rows (backdated, no audit), not through update_profile and
    post_announcement, which stamp the present moment.
    """
    teachers = list(db.session.scalars(
        select(User).join(Space, Space.owner_id == User.id).where(User.role == "teacher").order_by(User.id)))
    now = utcnow()
    touched = 0
    for teacher in teachers:
        if spaces.profile_of(teacher) is not None:
            continue  # running the demo again adds nothing
        stage_grades = GRADES_OF_STAGE["初中" if teacher.school and teacher.school.stage == "初中" else "小学"]
        subjects = rng.sample(("语文", "数学", "英语", "科学"), k=rng.randint(1, 2))
        grades = rng.sample(stage_grades[2:] if len(stage_grades) > 3 else stage_grades, k=2)
        db.session.add(TeacherProfile(user_id=teacher.id,
                                      subjects="、".join(s for s in spaces.SUBJECTS if s in subjects),
                                      grades="、".join(g for g in spaces.GRADES if g in grades),
                                      introduction=rng.choice(INTRODUCTIONS),
                                      default_visibility=rng.choice(("school", "school", "region", "public")),
                                      updated_dt=now))
        for days_ago in sorted(rng.sample(range(1, 20), k=rng.randint(0, 2)), reverse=True):
            at = now - timedelta(days=days_ago, hours=rng.randint(0, 8))
            db.session.add(Announcement(author_id=teacher.id, body=rng.choice(ANNOUNCEMENTS), created_dt=at))
            activity.record(teacher, "announce", at)
        space = spaces.space_of(teacher)
        schoolmates = list(db.session.scalars(
            select(User).where(User.school_id == teacher.school_id, User.id != teacher.id,
                               User.role.in_(spaces.SPACE_ROLES)).order_by(User.id)))
        for person in rng.sample(schoolmates, k=min(len(schoolmates), rng.randint(2, 8))):
            if person.role == "student" or rng.random() < 0.5:
                spaces.follow(person, teacher)
            for days_ago in rng.sample(range(14), k=rng.randint(1, 3)):
                spaces.record_visit(space, person, at=now - timedelta(days=days_ago, hours=rng.randint(0, 8)))
        touched += 1
    db.session.flush()
    return touched
