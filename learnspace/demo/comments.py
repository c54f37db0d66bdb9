"""Demo conversation: a few comments, questions, teacher replies and likes under published lessons."""
from __future__ import annotations

from sqlalchemy import func, select

from ..accounts.models import User
from ..comments.models import Comment, CommentLike
from ..comments.permissions import post_refusal
from ..db import utcnow
from ..extensions import db
from ..lessons.models import Lesson

PUPIL_POSTS = [
    ("question", "老师，例题第二步为什么要这样做？能再讲一遍吗？"),
    ("comment", "老师讲得很清楚，我看了两遍就懂了。"),
    ("comment", "课后练习第3题有点难，我们小组讨论了好久。"),
    ("question", "评测练习的答案在哪里可以看到？"),
]
COLLEAGUE_POSTS = [
    ("comment", "导入环节从学生熟悉的生活情境出发，很自然，值得学习。"),
    ("question", "课件里的动画是用什么软件做的？想借鉴一下。"),
]
TEACHER_REPLIES = {
    "例题第二步": "第二步是先把已知条件整理出来再列式。可以对照教学设计里的板书再看一遍，明天课上我们再讨论。",
    "答案在哪里": "答案在“评测练习”文件的最后一页，先自己做完再对答案哦。",
    "什么软件": "用的是学校统一配发的课件工具，动画模板我放在“课件”里了，欢迎下载。",
}


def seed(rng) -> None:
    """Add a few believable comments, questions, teacher replies and likes to published demo lessons (no commit).

    Pupils in restricted mode never get demo comments; where no pupil may comment, colleagues of the
    teacher's school write instead. Running it again adds nothing.
    """
    if db.session.scalar(select(func.count(Comment.id))):
        return
    lessons = list(db.session.scalars(select(Lesson).where(Lesson.status == "published")
                                      .order_by(Lesson.id).limit(3)))
    for lesson in lessons:
        people = list(db.session.scalars(select(User).where(User.school_id == lesson.school_id,
                                                            User.role.in_(("student", "teacher")),
                                                            User.id != lesson.teacher_id)
                                         .order_by(User.id).limit(40)))
        pupils = [p for p in people if p.role == "student" and post_refusal(p, lesson) is None][:8]
        authors, posts = (pupils, PUPIL_POSTS) if pupils else (
            [p for p in people if p.role == "teacher" and post_refusal(p, lesson) is None][:4], COLLEAGUE_POSTS)
        if not authors:
            continue
        for kind, body in posts:
            comment = Comment(lesson_id=lesson.id, author_id=rng.choice(authors).id, kind=kind, body=body,
                              created_dt=utcnow())
            db.session.add(comment)
            db.session.flush()
            reply = next((text for key, text in TEACHER_REPLIES.items() if key in body), None)
            if reply:
                db.session.add(Comment(lesson_id=lesson.id, author_id=lesson.teacher_id, parent_id=comment.id,
                                       body=reply, created_dt=utcnow()))
            for liker in rng.sample(authors, k=rng.randint(0, min(len(authors), 4))):
                db.session.add(CommentLike(comment_id=comment.id, user_id=liker.id, created_dt=utcnow()))
    db.session.flush()
