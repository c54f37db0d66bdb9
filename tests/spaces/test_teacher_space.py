"""A teacher's space: profile and photo, lessons by chapter with completeness, resources, announcements,
following through the page, the visit counter, and the default visibility of new lessons."""
from __future__ import annotations

import re
import struct
import zlib
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from tests.fixtures.helpers import csrf_token, post_form
from tests.fixtures.people import row_counts, signed_in
from tests.spaces.test_space_page import _space_id, campus  # noqa: F401  (campus is a fixture)


def _png(width: int = 2, height: int = 2) -> bytes:
    """A real, tiny PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 64 + b"\xff\xd9"
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00" + b"\x00" * 24


def _profile_data(**overrides):
    data = {"subjects": ["数学", "科学"], "grades": ["三年级", "四年级"], "introduction": "从教十年，喜欢用生活中的例子讲数学。",
            "default_visibility": "public"}
    data.update(overrides)
    return data


def _photo_key(app, person_id):
    from learnspace.extensions import db
    from learnspace.spaces.models import TeacherProfile

    with app.app_context():
        return db.session.scalar(select(TeacherProfile.photo_key).where(TeacherProfile.user_id == person_id))


def _stored(app, key) -> bool:
    from learnspace.storage import get_storage

    with app.app_context():
        return get_storage().exists(key)


def _upload_photo(client, data: bytes, name: str = "me.png"):
    import io

    page = client.get("/space/profile")
    return client.post("/space/photo", data={"csrf_token": csrf_token(page.get_data(as_text=True)),
                                             "photo": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


# --- profile ---------------------------------------------------------------------------------

def test_teacher_saves_profile_and_visitors_see_it_escaped(app, world, campus):
    """Subjects, grades and introduction appear on the space; HTML in the introduction is shown as text."""
    teacher = signed_in(app, campus["teacher_a1"])
    response = post_form(teacher, "/space/profile", "/space/profile",
                         _profile_data(introduction="<script>alert(1)</script>\n第二行"))
    assert response.status_code == 302
    html = signed_in(app, campus["student_b1"]).get(f"/spaces/{_space_id(app, world.people['teacher_a1'])}") \
        .get_data(as_text=True)
    assert "数学、科学" in html and "三年级、四年级" in html
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_profile_form_shows_the_saved_choices(app, world, campus):
    """Reopening the form shows the saved subjects checked and the saved default visibility selected."""
    teacher = signed_in(app, campus["teacher_a1"])
    post_form(teacher, "/space/profile", "/space/profile", _profile_data())
    html = teacher.get("/space/profile").get_data(as_text=True)
    assert re.search(r'<input checked[^>]*value="数学"|<input[^>]*value="数学"[^>]*checked', html)
    assert not re.search(r'<input checked[^>]*value="英语"|<input[^>]*value="英语"[^>]*checked', html)
    assert re.search(r'<input checked[^>]*value="public"|<input[^>]*value="public"[^>]*checked', html)


@pytest.mark.parametrize("overrides, message", [
    ({"subjects": ["数学", "炼丹"]}, "任教学科"),
    ({"grades": ["十三年级"]}, "任教年级"),
    ({"default_visibility": "world"}, "默认谁可以查看"),
    ({"introduction": "字" * 501}, "最多 500 个字"),
    ({"introduction": "正常\u202e反转"}, "控制字符"),
])
def test_a_bad_profile_is_refused_and_nothing_is_stored(app, world, campus, overrides, message):
    """Unknown subjects or grades, bad visibility, too long or trick text: 400 with a reason, no row written."""
    teacher = signed_in(app, campus["teacher_a1"])
    before = row_counts(app)
    response = post_form(teacher, "/space/profile", "/space/profile", _profile_data(**overrides))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert row_counts(app)["teacher_profiles"] == before["teacher_profiles"] == 0


def test_students_cannot_edit_a_teacher_profile(app, world, campus):
    """The profile page and its actions are for teachers only."""
    student = signed_in(app, campus["student_a1"])
    assert student.get("/space/profile").status_code == 403
    page = student.get("/space")
    token = csrf_token(page.get_data(as_text=True)) if 'name="csrf_token"' in page.get_data(as_text=True) else ""
    response = student.post("/space/profile", data={**_profile_data(), "csrf_token": token})
    assert response.status_code in (400, 403)
    assert row_counts(app)["teacher_profiles"] == 0


def test_new_lesson_form_preselects_the_teachers_default_visibility(app, world, campus):
    """After choosing 公开 as default, the new-lesson form has 公开 checked (and 本校 without a profile)."""
    teacher = signed_in(app, campus["teacher_a1"])
    checked = r'<input checked[^>]*value="{0}"|<input[^>]*value="{0}"[^>]*checked'
    assert re.search(checked.format("school"), teacher.get("/lessons/new").get_data(as_text=True))
    post_form(teacher, "/space/profile", "/space/profile", _profile_data(default_visibility="public"))
    html = teacher.get("/lessons/new").get_data(as_text=True)
    assert re.search(checked.format("public"), html)
    assert not re.search(checked.format("school"), html)


# --- photo -------------------------------------------------------------------------------------

@pytest.mark.parametrize("data, content_type", [(_png(), "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")])
def test_photo_is_stored_and_served_with_its_sniffed_type(app, world, campus, data, content_type):
    """A PNG, JPEG or WebP (whatever its name) is stored in MinIO and served to signed-in visitors."""
    teacher = signed_in(app, campus["teacher_a1"])
    assert _upload_photo(teacher, data, name="photo.bin").status_code == 302
    key = _photo_key(app, world.people["teacher_a1"])
    assert key and _stored(app, key)
    space_id = _space_id(app, world.people["teacher_a1"])
    served = signed_in(app, campus["student_b1"]).get(f"/spaces/{space_id}/photo")
    assert served.status_code == 200
    assert served.mimetype == content_type and served.data == data
    assert f"/spaces/{space_id}/photo" in teacher.get("/space").get_data(as_text=True)
    anonymous = app.test_client().get(f"/spaces/{space_id}/photo")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]


@pytest.mark.parametrize("data, name, message", [
    (b"GIF89a" + b"\x00" * 100, "me.png", "JPEG、PNG 或 WebP"),
    (b"MZ\x90\x00" + b"\x00" * 100, "me.jpg", "JPEG、PNG 或 WebP"),
    (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "me.webp", "JPEG、PNG 或 WebP"),
    (b"\xff\xd8\xff" + b"\x00" * (2 * 1024 * 1024), "big.jpg", "照片太大"),
    (b"", "empty.png", "请选择一张照片"),
])
def test_a_refused_photo_stores_nothing(app, world, campus, data, name, message):
    """Non-images (by bytes, not names), oversize and empty files: 400, no row and no object in MinIO."""
    from learnspace.storage import get_storage

    teacher = signed_in(app, campus["teacher_a1"])
    with app.app_context():  # MinIO is shared by the whole session: compare before and after
        before = set(get_storage().list_keys("spaces/"))
    response = _upload_photo(teacher, data, name)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert _photo_key(app, world.people["teacher_a1"]) is None
    with app.app_context():
        assert set(get_storage().list_keys("spaces/")) == before


def test_replacing_and_deleting_the_photo_removes_the_old_objects(app, world, campus):
    """A new photo gets a new key and the old object goes; deleting removes the object and the key."""
    teacher = signed_in(app, campus["teacher_a1"])
    _upload_photo(teacher, _png())
    first = _photo_key(app, world.people["teacher_a1"])
    _upload_photo(teacher, JPEG, "new.jpg")
    second = _photo_key(app, world.people["teacher_a1"])
    assert second != first and _stored(app, second) and not _stored(app, first)
    assert post_form(teacher, "/space/profile", "/space/photo/delete", {}).status_code == 302
    assert _photo_key(app, world.people["teacher_a1"]) is None and not _stored(app, second)
    space_id = _space_id(app, world.people["teacher_a1"])
    assert teacher.get(f"/spaces/{space_id}/photo").status_code == 404


def test_a_photo_follows_the_spaces_visibility(app, world, campus):
    """Whoever may not see a space does not get its photo either (404, not the bytes)."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.spaces import operations as spaces

    # A student has no photo form, so store one directly to prove the photo route checks the space rule.
    with app.app_context():
        student = db.session.get(User, world.people["student_a1"])
        profile = spaces._profile_for_change(student)
        from learnspace.spaces import photos
        profile.photo_key = photos.store_photo(student.id, _png(), "image/png")
        profile.photo_content_type = "image/png"
        db.session.commit()
    space_id = _space_id(app, world.people["student_a1"])
    assert signed_in(app, campus["teacher_a1"]).get(f"/spaces/{space_id}/photo").status_code == 200
    refused = signed_in(app, campus["teacher_b1"]).get(f"/spaces/{space_id}/photo")
    assert refused.status_code == 404 and refused.data != _png()


# --- lessons by chapter, completeness, resources ------------------------------------------------

def _lesson(app, world, teacher="teacher_a1", school="a1", node="chapter", status="published",
            visibility="school", title="认识时间", parts=(), published_ago=0):
    """Create a lesson on a catalogue node with ready files for *parts*; return its id."""
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson, LessonFile
    from learnspace.orgs.models import School
    from tests.fixtures.lessons import make_catalogue

    with app.app_context():
        nodes = make_catalogue()
        chosen = nodes[node]
        school_id = db.session.scalar(select(School.id).where(School.code == world.schools[school]))
        when = datetime.now(timezone.utc) - timedelta(hours=published_ago)
        lesson = Lesson(title=title, stage=chosen.stage, subject=chosen.subject, grade=chosen.grade,
                        edition=chosen.edition, catalog_node_id=chosen.id, lesson_type="新授课",
                        teacher_id=world.people[teacher], school_id=school_id, visibility=visibility, status=status,
                        published_dt=when if status == "published" else None, created_dt=when)
        db.session.add(lesson)
        db.session.flush()
        for kind in parts:
            db.session.add(LessonFile(lesson_id=lesson.id, kind=kind, object_key=f"lessons/{lesson.id}/files/{kind}",
                                      original_name=f"{title}-{kind}.pdf", size=2048, status="ready",
                                      content_type="application/pdf", ready_dt=when))
        db.session.commit()
        return lesson.id


ALL_PARTS = ("recording", "lesson_plan", "courseware", "exercises")


def test_lessons_are_grouped_by_subject_and_chapter_in_book_order(app, world, campus):
    """Chapter 1 (with its section lesson) comes before chapter 2, whatever the publishing order."""
    _lesson(app, world, node="chapter2", title="万以内的加法", published_ago=0)
    _lesson(app, world, node="section", title="秒的认识", published_ago=1)
    _lesson(app, world, node="chapter", title="认识时间", published_ago=2)
    html = signed_in(app, campus["student_a1"]).get(f"/spaces/{_space_id(app, world.people['teacher_a1'])}") \
        .get_data(as_text=True)
    assert "小学数学" in html
    first = html.index("人教版 · 三年级上册 · 第一单元 时、分、秒")
    second = html.index("人教版 · 三年级上册 · 第二单元 万以内的加法和减法")
    assert first < html.index("认识时间") < html.index("秒的认识") < second < html.index("万以内的加法</a>")
    assert "1.1 秒的认识" in html  # the section is named under its chapter


def test_completeness_badges_count_the_four_parts(app, world, campus):
    """A lesson with all four parts says 四项齐全; one with only the recording says 1/4 项."""
    _lesson(app, world, title="完整的课", parts=ALL_PARTS)
    _lesson(app, world, title="只有实录", parts=("recording",), node="chapter2")
    html = signed_in(app, campus["student_a1"]).get(f"/spaces/{_space_id(app, world.people['teacher_a1'])}") \
        .get_data(as_text=True)
    complete = html[html.index("完整的课"):html.index("只有实录")]
    assert "四项齐全" in complete
    assert "1/4 项" in html[html.index("只有实录"):]
    assert "1/2 节四项齐全" in html


def test_visitors_see_only_published_visible_lessons_the_owner_sees_all(app, world, campus):
    """Drafts and school-only lessons are hidden from another school; the owner sees them with their status."""
    _lesson(app, world, title="公开课例", visibility="public")
    _lesson(app, world, title="本校课例", visibility="school")
    _lesson(app, world, title="草稿课例", status="draft", visibility="public")
    space = f"/spaces/{_space_id(app, world.people['teacher_a1'])}"
    other_school = signed_in(app, campus["teacher_b1"]).get(space).get_data(as_text=True)
    assert "公开课例" in other_school and "本校课例" not in other_school and "草稿课例" not in other_school
    same_school = signed_in(app, campus["student_a1"]).get(space).get_data(as_text=True)
    assert "本校课例" in same_school and "草稿课例" not in same_school
    own = signed_in(app, campus["teacher_a1"]).get("/space").get_data(as_text=True)
    assert "草稿课例" in own and "草稿" in own


def test_resources_list_the_materials_of_visible_lessons_only(app, world, campus):
    """Lesson plans, courseware and exercises of visible lessons are listed with download links; recordings are not."""
    visible = _lesson(app, world, title="公开课例", visibility="public", parts=ALL_PARTS)
    _lesson(app, world, title="本校课例", visibility="school", parts=("recording", "lesson_plan"))
    html = signed_in(app, campus["teacher_b1"]).get(f"/spaces/{_space_id(app, world.people['teacher_a1'])}") \
        .get_data(as_text=True)
    resources = html[html.index('id="resources"'):html.index('id="announcements"')]
    assert "公开课例-lesson_plan.pdf" in resources and "公开课例-courseware.pdf" in resources
    assert "公开课例-exercises.pdf" in resources and "公开课例-recording.pdf" not in resources
    assert "本校课例-lesson_plan.pdf" not in resources
    assert re.search(r'href="/files/\d+/download"', resources)
    assert str(visible)  # the lesson exists; the page only lists files the viewer may download


# --- announcements -------------------------------------------------------------------------------

def _announce(client, body):
    return post_form(client, "/space", "/space/announcements", {"body": body})


def test_announcements_reach_followers_and_show_in_the_space(app, world, campus):
    """A follower sees the announcement in their own space; a non-follower does not; text stays escaped."""
    teacher_space = f"/spaces/{_space_id(app, world.people['teacher_a1'])}"
    follower = signed_in(app, campus["student_b1"])
    assert post_form(follower, teacher_space, f"{teacher_space}/follow", {}).status_code == 302
    teacher = signed_in(app, campus["teacher_a1"])
    assert _announce(teacher, "周三公开课改到 302 教室 <b>请准时</b>").status_code == 302
    assert "周三公开课改到 302 教室" in teacher.get("/space").get_data(as_text=True)
    feed = follower.get("/space").get_data(as_text=True)
    assert "周三公开课改到 302 教室 &lt;b&gt;请准时&lt;/b&gt;" in feed
    assert "周三公开课" not in signed_in(app, campus["teacher_b1"]).get("/space").get_data(as_text=True)
    assert "周三公开课" in signed_in(app, campus["teacher_b1"]).get(teacher_space).get_data(as_text=True)


def test_announcing_counts_as_activity(app, world, campus):
    """Posting an announcement records the 'announce' kind of active use for the teacher."""
    from learnspace.activity.models import ActivityDay
    from learnspace.extensions import db

    _announce(signed_in(app, campus["teacher_a1"]), "欢迎关注")
    with app.app_context():
        kinds = list(db.session.scalars(select(ActivityDay.kind).where(
            ActivityDay.user_id == world.people["teacher_a1"])))
    assert "announce" in kinds


@pytest.mark.parametrize("who, body, status", [
    ("teacher_a1", "   ", 400),
    ("teacher_a1", "字" * 501, 400),
    ("student_a1", "同学们好", 403),
])
def test_refused_announcements_store_nothing(app, world, campus, who, body, status):
    """Empty or too long text, or a student posting: refused, no row."""
    response = _announce(signed_in(app, campus[who]), body)
    assert response.status_code == status
    assert row_counts(app)["announcements"] == 0


def test_announcements_and_introductions_with_blocked_words_are_refused(app, world, campus):
    """The blocked-word list (网络负面用语清单) applies: the term is named, nothing is stored."""
    from learnspace.extensions import db
    from learnspace.moderation import operations as moderation

    with app.app_context():
        moderation.add_terms("脑残")
        db.session.commit()
    teacher = signed_in(app, campus["teacher_a1"])
    refused = _announce(teacher, "别做脑 残的事")
    assert refused.status_code == 400 and "脑残" in refused.get_data(as_text=True)
    profile = post_form(teacher, "/space/profile", "/space/profile", _profile_data(introduction="ＮＣ 脑殘"))
    assert profile.status_code == 400 and "个人简介包含网络负面用语" in profile.get_data(as_text=True)
    counts = row_counts(app)
    assert counts["announcements"] == 0 and counts["teacher_profiles"] == 0


def test_only_the_author_deletes_an_announcement(app, world, campus):
    """Another teacher's delete is refused; the author's works."""
    from learnspace.extensions import db
    from learnspace.spaces.models import Announcement

    _announce(signed_in(app, campus["teacher_a1"]), "一条公告")
    with app.app_context():
        announcement_id = db.session.scalar(select(Announcement.id))
    refused = post_form(signed_in(app, campus["teacher_b1"]), "/space", f"/space/announcements/{announcement_id}/delete", {})
    assert refused.status_code == 403 and row_counts(app)["announcements"] == 1
    done = post_form(signed_in(app, campus["teacher_a1"]), "/space", f"/space/announcements/{announcement_id}/delete", {})
    assert done.status_code == 302 and row_counts(app)["announcements"] == 0


# --- following through the page, follower count ----------------------------------------------------

def test_follow_button_follows_and_unfollows(app, world, campus):
    """The page's follow button follows (count 1, button turns into 取消关注); unfollow brings it back."""
    space = f"/spaces/{_space_id(app, world.people['teacher_a1'])}"
    visitor = signed_in(app, campus["student_b1"])
    assert "＋ 关注" in visitor.get(space).get_data(as_text=True)
    post_form(visitor, space, f"{space}/follow", {})
    html = visitor.get(space).get_data(as_text=True)
    assert "取消关注" in html and re.search(r"<b>1</b> 人关注", html)
    assert "李老师" in visitor.get("/space").get_data(as_text=True)  # listed under 我的关注
    post_form(visitor, space, f"{space}/unfollow", {})
    html = visitor.get(space).get_data(as_text=True)
    assert "＋ 关注" in html and re.search(r"<b>0</b> 人关注", html)


def test_following_without_csrf_or_across_schools_changes_nothing(app, world, campus):
    """No token: 400. A student of another school cannot follow (or even find) a student's space: 404."""
    teacher_space = f"/spaces/{_space_id(app, world.people['teacher_a1'])}"
    visitor = signed_in(app, campus["student_b1"])
    assert visitor.post(f"{teacher_space}/follow").status_code == 400
    student_space = f"/spaces/{_space_id(app, world.people['student_a1'])}"
    response = post_form(visitor, teacher_space, f"{student_space}/follow", {})
    assert response.status_code == 404
    assert row_counts(app)["follows"] == 0


def test_the_follow_list_hides_people_the_viewer_may_not_see(app, world, campus):
    """A teacher following a student of their school: other schools do not learn the student's name."""
    teacher_a1 = signed_in(app, campus["teacher_a1"])
    student_space = f"/spaces/{_space_id(app, world.people['student_a1'])}"
    assert post_form(teacher_a1, student_space, f"{student_space}/follow", {}).status_code == 302
    assert "张小明" in teacher_a1.get("/space").get_data(as_text=True)
    html = signed_in(app, campus["teacher_b1"]).get(f"/spaces/{_space_id(app, world.people['teacher_a1'])}") \
        .get_data(as_text=True)
    assert "张小明" not in html


# --- the visit counter ---------------------------------------------------------------------------

def _visits(app, space_id):
    from learnspace.extensions import db
    from learnspace.spaces.models import SpaceVisit

    with app.app_context():
        return db.session.scalar(select(func.count(SpaceVisit.id)).where(SpaceVisit.space_id == space_id))


def test_visits_count_distinct_visitor_days_not_reloads_or_the_owner(app, world, campus):
    """Reloads count once a day, the owner's own views never; another visitor adds one."""
    space_id = _space_id(app, world.people["teacher_a1"])
    owner = signed_in(app, campus["teacher_a1"])
    owner.get(f"/spaces/{space_id}")
    owner.get("/space")
    assert _visits(app, space_id) == 0
    visitor = signed_in(app, campus["student_b1"])
    for _ in range(3):
        assert visitor.get(f"/spaces/{space_id}").status_code == 200
    assert _visits(app, space_id) == 1
    signed_in(app, campus["teacher_b1"]).get(f"/spaces/{space_id}")
    assert _visits(app, space_id) == 2
    assert re.search(r"<b>2</b> 次访问", owner.get("/space").get_data(as_text=True))


def test_the_same_visitor_counts_again_on_a_new_local_day(app, world, campus):
    """Days are Asia/Shanghai days: 15:59 and 16:01 UTC fall on two local days."""
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.spaces import operations as spaces
    from learnspace.spaces.models import Space

    space_id = _space_id(app, world.people["teacher_a1"])
    with app.app_context():
        space, visitor = db.session.get(Space, space_id), db.session.get(User, world.people["student_b1"])
        for at in (datetime(2026, 11, 29, 15, 59, tzinfo=timezone.utc), datetime(2026, 11, 29, 15, 30, tzinfo=timezone.utc),
                   datetime(2026, 11, 29, 16, 1, tzinfo=timezone.utc)):
            spaces.record_visit(space, visitor, at=at)
        db.session.commit()
        assert spaces.visit_count(space) == 2
