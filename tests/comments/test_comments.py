"""Comments under lessons: who may read and write, blocked words, replies, likes, hiding, reports and moderation."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from learnspace.accounts.models import User
from learnspace.activity.models import ActivityDay
from learnspace.comments.models import Comment, CommentLike, CommentReport
from learnspace.extensions import db
from learnspace.moderation import operations as moderation
from tests.fixtures.helpers import csrf_token, login
from tests.fixtures.lessons import make_lesson
from tests.fixtures.people import give_login, row_counts, signed_in
from tests.fixtures.world import PASSWORD

# --- set-up -------------------------------------------------------------------------------------

def consent(app, student_id: int) -> None:
    """Record a guardian's consent so the student (under 14) leaves restricted mode."""
    from learnspace.accounts import consent as consents

    with app.app_context():
        student = db.session.get(User, student_id)
        admin = db.session.scalar(select(User).where(User.role == "school_admin", User.school_id == student.school_id))
        admin = admin or db.session.scalar(select(User).where(User.role == "platform_admin"))
        consents.record_consent(student, admin, "家长", "母亲", date(2026, 9, 1))
        db.session.commit()


def lesson_of(app, world, visibility="school", status="published") -> int:
    with app.app_context():
        return make_lesson(world.people["teacher_a1"], world.schools["a1"], status=status, visibility=visibility)


def blocked(app, text: str) -> None:
    with app.app_context():
        moderation.add_terms(text)
        db.session.commit()


@pytest.fixture
def people(app, world):
    """Signed-in clients: the lesson's teacher, a consented pupil of the same school, a consented pupil elsewhere."""
    consent(app, world.people["student_a1"])
    consent(app, world.people["student_b1"])
    return {
        "teacher": signed_in(app, give_login(app, world.people["teacher_a1"])),
        "pupil": signed_in(app, give_login(app, world.people["student_a1"])),
        "other": signed_in(app, give_login(app, world.people["student_b1"])),
    }


def token(client, lesson_id: int) -> str:
    return csrf_token(client.get(f"/lessons/{lesson_id}").get_data(as_text=True))


def post(client, lesson_id: int, body: str, kind: str = "comment"):
    return client.post(f"/lessons/{lesson_id}/comments",
                       data={"body": body, "kind": kind, "csrf_token": token(client, lesson_id)})


def act(client, lesson_id: int, comment_id: int, action: str, **data):
    return client.post(f"/comments/{comment_id}/{action}", data={**data, "csrf_token": token(client, lesson_id)})


def comments(app) -> list[tuple]:
    with app.app_context():
        return [(c.author_id, c.parent_id, c.kind, c.body, c.hidden_by)
                for c in db.session.scalars(select(Comment).order_by(Comment.id))]


def only_comment_id(app) -> int:
    with app.app_context():
        return db.session.scalar(select(Comment.id).where(Comment.parent_id.is_(None)))


def comment_kinds_of(app, user_id: int) -> list[str]:
    with app.app_context():
        return [k for k in db.session.scalars(select(ActivityDay.kind).where(ActivityDay.user_id == user_id))]


# --- writing and reading ---------------------------------------------------------------------------

def test_a_pupil_comments_and_it_counts_as_active_use(app, world, people):
    lesson = lesson_of(app, world)
    response = post(people["pupil"], lesson, "老师讲得很清楚！\n第二行也保留。")
    assert response.status_code == 302 and "#comment-" in response.headers["Location"]
    assert comments(app) == [(world.people["student_a1"], None, "comment", "老师讲得很清楚！\n第二行也保留。", None)]
    assert "comment" in comment_kinds_of(app, world.people["student_a1"])
    html = people["teacher"].get(f"/lessons/{lesson}").get_data(as_text=True)
    assert "老师讲得很清楚！\n第二行也保留。" in html and "张小明" in html


def test_the_teachers_reply_is_marked_and_answers_the_question(app, world, people):
    lesson = lesson_of(app, world)
    post(people["pupil"], lesson, "分针走一圈是多久？", kind="question")
    question = only_comment_id(app)
    page = people["pupil"].get(f"/lessons/{lesson}").get_data(as_text=True)
    assert "提问" in page and "教师已回答" not in page
    assert act(people["teacher"], lesson, question, "replies", body="一小时，也就是 60 分钟。").status_code == 302
    assert comments(app)[1] == (world.people["teacher_a1"], question, "comment", "一小时，也就是 60 分钟。", None)
    page = people["pupil"].get(f"/lessons/{lesson}").get_data(as_text=True)
    reply = page[page.index("一小时") - 900:page.index("一小时")]
    assert "授课教师" in reply and "教师已回答" in page
    assert "comment" in comment_kinds_of(app, world.people["teacher_a1"])


def test_a_reply_to_a_reply_joins_the_same_thread(app, world, people):
    lesson = lesson_of(app, world)
    post(people["pupil"], lesson, "第一条")
    top = only_comment_id(app)
    act(people["teacher"], lesson, top, "replies", body="回复一")
    with app.app_context():
        first_reply = db.session.scalar(select(Comment.id).where(Comment.parent_id == top))
    act(people["pupil"], lesson, first_reply, "replies", body="回复二")
    assert [c[1] for c in comments(app)] == [None, top, top]


def test_user_text_is_escaped_never_rendered(app, world, people):
    lesson = lesson_of(app, world)
    post(people["pupil"], lesson, '<script>alert("x")</script><b>粗</b> **不是 Markdown**')
    html = people["teacher"].get(f"/lessons/{lesson}").get_data(as_text=True)
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;粗&lt;/b&gt; **不是 Markdown**" in html
    assert "<script>alert" not in html and "<b>粗</b>" not in html and "<strong>" not in html


@pytest.mark.parametrize("body, message", [("   \n  ", "请填写评论内容"), ("好" * 1001, "最多 1000 个字")])
def test_empty_or_too_long_comments_are_refused(app, world, people, body, message):
    lesson = lesson_of(app, world)
    response = post(people["pupil"], lesson, body)
    assert response.status_code == 400 and message in response.get_data(as_text=True)
    assert comments(app) == []


# --- refusals: blocked words, invisible lessons, drafts, restricted mode ------------------------------

@pytest.mark.parametrize("body", ["你真是个脑残", "你真是個腦殘", "你真是个脑 残", "你真是个ﾉ脑.残", "脑\u200b残，哈哈"])
def test_a_comment_with_a_blocked_word_is_refused_naming_the_term_and_stores_nothing(app, world, people, body):
    lesson = lesson_of(app, world)
    blocked(app, "脑残\n去死")
    before = row_counts(app)
    response = post(people["pupil"], lesson, body)
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "网络负面用语“脑残”" in html and "未能发布" in html
    assert 'name="body"' in html and body.replace("\u200b", "") in html.replace("\u200b", "")  # kept for fixing
    assert row_counts(app) == before  # no comment, no activity, nothing


def test_a_reply_with_a_blocked_word_is_refused_too(app, world, people):
    lesson = lesson_of(app, world)
    post(people["pupil"], lesson, "请问这道题怎么做？", kind="question")
    blocked(app, "去死")
    before = row_counts(app)
    response = act(people["teacher"], lesson, only_comment_id(app), "replies", body="去　死吧")
    assert response.status_code == 400 and "“去死”" in response.get_data(as_text=True)
    assert row_counts(app) == before


def test_several_blocked_terms_are_all_named(app, world, people):
    lesson = lesson_of(app, world)
    blocked(app, "脑残\n去死\n滚蛋")
    html = post(people["pupil"], lesson, "滚蛋，脑残").get_data(as_text=True)
    assert "“滚蛋”、“脑残”" in html


def test_nobody_comments_on_a_lesson_they_cannot_see(app, world, people):
    """A school-only lesson of 芙蓉区第一小学: a pupil of 荷塘区第一小学 gets 404 for every verb, nothing stored."""
    lesson = lesson_of(app, world, visibility="school")
    post(people["pupil"], lesson, "本校同学的评论")
    comment = only_comment_id(app)
    before = row_counts(app)
    other = people["other"]
    some_token = csrf_token(other.get("/lessons").get_data(as_text=True))
    assert other.get(f"/lessons/{lesson}").status_code == 404
    assert other.post(f"/lessons/{lesson}/comments", data={"body": "外校的评论", "kind": "comment",
                                                             "csrf_token": some_token}).status_code == 404
    for action, data in [("replies", {"body": "外校的回复"}), ("like", {}), ("report", {"reason": "spam"}),
                         ("hide", {})]:
        response = other.post(f"/comments/{comment}/{action}", data={**data, "csrf_token": some_token})
        assert response.status_code == 404, action
    assert row_counts(app) == before


def test_anonymous_visitors_of_a_public_lesson_see_no_comments_and_cannot_post(app, world, people):
    lesson = lesson_of(app, world, visibility="public")
    post(people["pupil"], lesson, "公开课下的评论")
    anonymous = app.test_client()
    html = anonymous.get(f"/lessons/{lesson}").get_data(as_text=True)
    assert "公开课下的评论" not in html and "张小明" not in html
    assert "这节课有 1 条评论" in html and "登录</a>后可以查看" in html
    response = anonymous.post(f"/lessons/{lesson}/comments", data={"body": "匿名", "kind": "comment"})
    assert response.status_code in (302, 400, 401)
    assert len(comments(app)) == 1


def test_pupils_are_named_in_full_only_inside_their_school(app, world, people):
    lesson = lesson_of(app, world, visibility="public")
    post(people["pupil"], lesson, "我是芙蓉区第一小学的")
    outside = people["other"].get(f"/lessons/{lesson}").get_data(as_text=True)
    assert "我是芙蓉区第一小学的" in outside and "张同学" in outside and "张小明" not in outside
    inside = people["teacher"].get(f"/lessons/{lesson}").get_data(as_text=True)
    assert "张小明" in inside


def test_comments_wait_until_the_lesson_is_published(app, world, people):
    lesson = lesson_of(app, world, status="draft")
    response = post(people["teacher"], lesson, "草稿里的评论")
    assert response.status_code == 403 and "课程发布后才能评论" in response.get_data(as_text=True)
    assert comments(app) == []


def test_a_student_in_restricted_mode_may_read_but_not_comment(app, world):
    """Under 14 without a guardian's consent (spaces.permissions.comment_refusal): no comments, no replies."""
    lesson = lesson_of(app, world)
    teacher = signed_in(app, give_login(app, world.people["teacher_a1"]))
    post(teacher, lesson, "欢迎同学们提问")
    pupil = signed_in(app, give_login(app, world.people["student_a1"]))
    page = pupil.get(f"/lessons/{lesson}").get_data(as_text=True)
    assert "欢迎同学们提问" in page and "监护人同意" in page and 'id="comment-body"' not in page
    before = row_counts(app)
    assert post(pupil, lesson, "我想发言").status_code == 403
    assert act(pupil, lesson, only_comment_id(app), "replies", body="我想回复").status_code == 403
    assert row_counts(app) == before
    consent(app, world.people["student_a1"])
    assert post(pupil, lesson, "我想发言").status_code == 302


# --- likes -----------------------------------------------------------------------------------------

def test_a_like_is_one_per_person_and_can_be_taken_back(app, world, people):
    lesson = lesson_of(app, world, visibility="public")
    post(people["pupil"], lesson, "点赞测试")
    comment = only_comment_id(app)
    act(people["teacher"], lesson, comment, "like")
    act(people["other"], lesson, comment, "like")
    with app.app_context():
        assert len(db.session.scalars(select(CommentLike).where(CommentLike.comment_id == comment)).all()) == 2
    assert "♥ 赞 2" in people["teacher"].get(f"/lessons/{lesson}").get_data(as_text=True)
    act(people["teacher"], lesson, comment, "like")  # again: takes it back
    with app.app_context():
        assert db.session.scalars(select(CommentLike.user_id).where(CommentLike.comment_id == comment)).all() == [
            world.people["student_b1"]]


def test_the_database_refuses_a_second_like_of_the_same_person(ctx, world):
    from sqlalchemy.exc import IntegrityError

    lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published")
    comment = Comment(lesson_id=lesson_id, author_id=world.people["teacher_a1"], body="x")
    db.session.add(comment)
    db.session.flush()
    db.session.add_all([CommentLike(comment_id=comment.id, user_id=world.people["student_a1"]),
                        CommentLike(comment_id=comment.id, user_id=world.people["student_a1"])])
    with pytest.raises(IntegrityError):
        db.session.flush()


# --- hiding by the lesson's teacher ---------------------------------------------------------------------

def test_the_lessons_teacher_hides_a_comment_others_see_a_placeholder(app, world, people):
    lesson = lesson_of(app, world, visibility="public")
    post(people["pupil"], lesson, "跑题的广告内容")
    comment = only_comment_id(app)
    assert act(people["teacher"], lesson, comment, "hide").status_code == 302
    assert comments(app)[0][4] == "teacher"
    other = people["other"].get(f"/lessons/{lesson}").get_data(as_text=True)
    assert "跑题的广告内容" not in other and "此条内容已被隐藏" in other
    own = people["pupil"].get(f"/lessons/{lesson}").get_data(as_text=True)
    assert "跑题的广告内容" in own and "已被授课教师隐藏" in own
    assert act(people["teacher"], lesson, comment, "unhide").status_code == 302
    assert comments(app)[0][4] is None


def test_only_the_lessons_teacher_hides(app, world, people):
    lesson = lesson_of(app, world, visibility="public")
    post(people["teacher"], lesson, "老师的评论")
    comment = only_comment_id(app)
    before = row_counts(app)
    response = act(people["other"], lesson, comment, "hide")
    assert response.status_code == 403 and "只有这节课的授课教师" in response.get_data(as_text=True)
    after = row_counts(app)
    assert after.pop("audit_entries") == before.pop("audit_entries") + 1  # the refusal is audited
    assert after == before and comments(app)[0][4] is None


# --- reports and moderation by school admins ------------------------------------------------------------

def admin_client(app, login_name):
    client = app.test_client()
    assert login(client, login_name, PASSWORD).status_code == 302
    return client


def decide(client, comment_id: int, decision: str):
    page = client.get("/comments/reports")
    return client.post(f"/comments/{comment_id}/decide",
                       data={"decision": decision, "csrf_token": csrf_token(page.get_data(as_text=True))})


def test_a_report_reaches_the_admins_of_the_lessons_school_who_hide_the_comment(app, world, people):
    lesson = lesson_of(app, world, visibility="public")
    post(people["pupil"], lesson, "这是一条被举报的评论")
    comment = only_comment_id(app)
    assert act(people["other"], lesson, comment, "report", reason="abuse", note="<i>骂人</i>").status_code == 302
    assert act(people["teacher"], lesson, comment, "report", reason="spam").status_code == 302

    school_admin = admin_client(app, world.admins["school_a1"])
    page = school_admin.get("/comments/reports").get_data(as_text=True)
    assert "这是一条被举报的评论" in page and "2 人举报" in page and "辱骂、人身攻击" in page
    assert "&lt;i&gt;骂人&lt;/i&gt;" in page
    assert re.search(r'class="badge"[^>]*>1<', page)  # the navigation shows one comment waiting

    elsewhere = admin_client(app, world.admins["school_b1"])
    assert "这是一条被举报的评论" not in elsewhere.get("/comments/reports").get_data(as_text=True)

    assert decide(school_admin, comment, "hide").status_code == 302
    assert comments(app)[0][4] == "moderation"
    with app.app_context():
        assert {(r.decision, r.decided_by_id is not None) for r in db.session.scalars(select(CommentReport))} == {
            ("hide", True)}
    assert "没有待处理的举报" in school_admin.get("/comments/reports").get_data(as_text=True)
    assert "此条内容已被隐藏" in people["other"].get(f"/lessons/{lesson}").get_data(as_text=True)
    # The teacher cannot undo an admin's decision.
    response = act(people["teacher"], lesson, comment, "unhide")
    assert response.status_code == 403 and comments(app)[0][4] == "moderation"


def test_an_admin_outside_the_school_cannot_decide(app, world, people):
    lesson = lesson_of(app, world, visibility="public")
    post(people["pupil"], lesson, "被举报")
    comment = only_comment_id(app)
    act(people["other"], lesson, comment, "report", reason="spam")
    outsider = admin_client(app, world.admins["county_b"])
    before = row_counts(app)
    response = decide(outsider, comment, "hide")
    assert response.status_code == 403
    after = row_counts(app)
    assert after.pop("audit_entries") == before.pop("audit_entries") + 1
    assert after == before and comments(app)[0][4] is None
    # The county of the school may: region admins decide for the schools in their region.
    assert decide(admin_client(app, world.admins["county_a"]), comment, "dismiss").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(CommentReport.decision)) == "dismiss"
    assert comments(app)[0][4] is None


def test_reports_are_once_per_person_and_not_of_ones_own_comment(app, world, people):
    lesson = lesson_of(app, world, visibility="public")
    post(people["pupil"], lesson, "评论")
    comment = only_comment_id(app)
    assert act(people["other"], lesson, comment, "report", reason="spam").status_code == 302
    again = act(people["other"], lesson, comment, "report", reason="abuse")
    assert again.status_code == 409 and "已经举报过" in again.get_data(as_text=True)
    own = act(people["pupil"], lesson, comment, "report", reason="spam")
    assert own.status_code == 400
    bad = act(people["teacher"], lesson, comment, "report", reason="dislike")
    assert bad.status_code == 400 and "请选择举报原因" in bad.get_data(as_text=True)
    with app.app_context():
        assert len(db.session.scalars(select(CommentReport)).all()) == 1


def test_pupils_and_teachers_cannot_open_the_report_page(app, world, people):
    assert people["teacher"].get("/comments/reports").status_code == 403
    assert people["pupil"].get("/comments/reports").status_code == 403


def test_deleting_a_lesson_deletes_its_conversation(app, world, people):
    lesson = lesson_of(app, world, visibility="public")
    post(people["pupil"], lesson, "评论")
    comment = only_comment_id(app)
    act(people["teacher"], lesson, comment, "replies", body="回复")
    act(people["other"], lesson, comment, "like")
    act(people["other"], lesson, comment, "report", reason="spam")
    response = people["teacher"].post(f"/lessons/{lesson}/delete", data={"csrf_token": token(people["teacher"], lesson)})
    assert response.status_code == 302
    counts = row_counts(app)
    assert counts["comments"] == counts["comment_likes"] == counts["comment_reports"] == 0


def test_the_thread_pages_newest_first(app, world, people):
    lesson = lesson_of(app, world)
    with app.app_context():
        from learnspace.comments import operations
        from learnspace.lessons.models import Lesson

        the_lesson = db.session.get(Lesson, lesson)
        author = db.session.get(User, world.people["teacher_a1"])
        for n in range(23):
            operations.post_comment(author, the_lesson, f"第{n}条")
        db.session.commit()
    first = people["pupil"].get(f"/lessons/{lesson}").get_data(as_text=True)
    assert "第22条" in first and "第3条" in first and "第2条" not in first and "更早的评论" in first
    second = people["pupil"].get(f"/lessons/{lesson}?comments=2").get_data(as_text=True)
    assert "第2条" in second and "第0条" in second and "第3条" not in second and "较新的评论" in second
