"""Lesson pages: the new-lesson form with the catalogue picker, the lesson page with its parts, edit, publish,
withdraw, delete, and the lessons in a teacher's space."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from tests.fixtures.helpers import csrf_token
from tests.fixtures.lessons import make_lesson
from tests.fixtures.media import store_ready_file
from tests.fixtures.people import audit_log


def _form(nodes, **overrides) -> dict:
    data = {"title": "认识时间", "description": "认识时、分、秒", "lesson_type": "新授课", "language": "zh",
            "visibility": "school",
            "node": [str(nodes["stage"]), str(nodes["subject"]), str(nodes["edition"]), str(nodes["volume"]),
                     str(nodes["chapter"]), str(nodes["section"])]}
    data.update(overrides)
    return data


def _post_new(client, data):
    token = csrf_token(client.get("/lessons/new").get_data(as_text=True))
    return client.post("/lessons/new", data={**data, "csrf_token": token})


def _lessons(app):
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson

    with app.app_context():
        return [(lesson.id, lesson.title, lesson.catalog_node_id, lesson.status)
                for lesson in db.session.scalars(select(Lesson).order_by(Lesson.id))]


def test_teacher_creates_a_lesson_on_a_section_through_the_form(app, world, nodes, as_person):
    """The form offers the stages; posting the whole chain makes a draft on the deepest node."""
    client = as_person("teacher_a1")
    page = client.get("/lessons/new")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'id="node-picker"' in html and 'data-children-url="/api/catalog/children"' in html
    assert re.search(r'<option value="%d"[^>]*>小学</option>' % nodes["stage"], html)
    assert "js/lesson-form.js" in html

    response = _post_new(client, _form(nodes))
    assert response.status_code == 302
    [(lesson_id, title, node_id, status)] = _lessons(app)
    assert (title, node_id, status) == ("认识时间", nodes["section"], "draft")
    assert response.headers["Location"].endswith(f"/lessons/{lesson_id}")

    page = client.get(f"/lessons/{lesson_id}").get_data(as_text=True)
    assert "小学 › 数学 › 人教版 › 三年级上册 › 第一单元 时、分、秒 › 1.1 秒的认识" in page
    assert "课程已创建（草稿）" in page and "还缺少" in page
    # the four parts (and optional subtitles), each missing, each with an upload widget for the owner
    for kind in ("recording", "lesson_plan", "courseware", "exercises", "subtitles"):
        assert f'id="part-{kind}"' in page and f'data-kind="{kind}"' in page
    assert page.count('class="tag miss">缺少') == 4
    assert 'role="progressbar"' in page and "js/upload.js" in page
    assert re.search(r'<meta name="csrf-token" content="[^"]+">', page)
    assert "请先上传课堂实录" in page  # why the publish button is disabled


def test_invalid_form_shows_every_message_and_creates_nothing(app, world, nodes, as_person):
    client = as_person("teacher_a1")
    response = _post_new(client, _form(nodes, title="", description="x" * 5001,
                                       node=[str(nodes["stage"]), str(nodes["subject"]), str(nodes["edition"]),
                                             str(nodes["volume"])]))
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    for message in ("请填写课程标题", "课程简介最多 5000 个字", "请一直选到“章”或“节”这一级"):
        assert message in html
    # the picker keeps the chosen path and offers the chapters of the chosen volume
    assert re.search(r'<option value="%d"[^>]*\s+selected>三年级上册' % nodes["volume"], html)
    assert "第一单元 时、分、秒" in html
    assert _lessons(app) == []


def test_control_characters_in_the_title_are_refused_by_the_operation(app, world, nodes, as_person):
    response = _post_new(as_person("teacher_a1"), _form(nodes, title="认识\u202e时间"))
    assert response.status_code == 400 and "控制字符" in response.get_data(as_text=True)
    assert _lessons(app) == []


def test_without_javascript_the_next_level_button_opens_the_next_select(app, world, nodes, as_person):
    """Choosing a stage and pressing 选择下一级 re-draws the form with the subjects, keeping the title."""
    client = as_person("teacher_a1")
    response = _post_new(client, {"title": "草稿标题", "node": [str(nodes["stage"])], "pick": "1",
                                  "lesson_type": "新授课", "language": "zh", "visibility": "school"})
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'value="草稿标题"' in html and re.search(r'<option value="%d"[^>]*>数学</option>' % nodes["subject"], html)
    assert "<label for=\"node-2\">学科</label>" in html
    assert _lessons(app) == []


@pytest.mark.parametrize("who, status", [("student_a1", 403), ("school_a1", 403), (None, 302)])
def test_only_teachers_reach_the_new_lesson_page(app, world, nodes, as_person, who, status):
    client = as_person(who)
    assert client.get("/lessons/new").status_code == status
    if who is not None:
        assert "只有教师可以创建课程" in client.get("/lessons/new").get_data(as_text=True)


def test_school_editions_come_first_in_the_picker(app, world, nodes, as_person):
    """A school that chose an edition sees it first (and marked) among the editions of a subject."""
    from learnspace.catalog.models import CatalogNode, SchoolEdition
    from learnspace.extensions import db
    from learnspace.orgs.models import School

    with app.app_context():
        school_id = db.session.scalar(select(School.id).where(School.code == world.schools["a1"]))
        other = CatalogNode(key="test-primary-math-bsd", level="edition", name="北师大版", parent_id=nodes["subject"],
                            position=9, stage="小学", subject="数学", edition="北师大版")
        db.session.add(other)
        db.session.flush()
        other.path = db.session.get(CatalogNode, nodes["subject"]).path + f"{other.id}/"
        db.session.add(SchoolEdition(school_id=school_id, grade="三年级", subject="数学",
                                     edition_node_id=other.id))
        db.session.commit()
        other_id = other.id
    client = as_person("teacher_a1")
    token = csrf_token(client.get("/lessons/new").get_data(as_text=True))
    html = client.post("/lessons/new", data={"node": [str(nodes["stage"]), str(nodes["subject"])], "pick": "1",
                                             "csrf_token": token}).get_data(as_text=True)
    editions = re.findall(r'<option value="(\d+)" data-level="edition"[^>]*>([^<]+)</option>', html)
    assert editions == [(str(other_id), "北师大版（本校选用）"), (str(nodes["edition"]), "人教版")]
    assert f'data-preferred="[{other_id}]"' in html


def test_lesson_page_plays_the_recording_and_links_documents(app, world, as_person):
    """A ready recording is a <video> pointing at the playback endpoint with its poster; documents link to
    the download endpoint; a recording below the activity's requirements is flagged with the reason."""
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile

    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published")
        video_id = store_ready_file(lesson_id, b"video")
        plan_id = store_ready_file(lesson_id, b"%PDF", kind="lesson_plan", original_name="教学设计.pdf",
                                   content_type="application/pdf")
        video = db.session.get(LessonFile, video_id)
        video.poster_key, video.duration_seconds, video.width, video.height = "posters/x.jpg", 2701.4, 640, 480
        video.video_codec, video.audio_codec = "h264", "aac"
        video.is_showcase_eligible, video.ineligible_reason = False, "分辨率 640×480 低于 720×576"
        db.session.commit()
    html = as_person("student_a1").get(f"/lessons/{lesson_id}").get_data(as_text=True)
    assert re.search(r'<video class="player" controls preload="metadata" playsinline\s+src="/files/%d/play"\s+'
                     r'data-play-url="/files/%d/play-url"\s+data-link-seconds="60"\s+poster="/files/%d/poster"'
                     % (video_id, video_id, video_id), html)
    assert "js/player.js" in html  # renews the short-lived link (lessons/playback.py)
    assert f'href="/files/{plan_id}/download"' in html and "教学设计.pdf" in html
    assert "不符合晒课技术要求：分辨率 640×480 低于 720×576" in html
    assert "时长 45:01" in html and "640×480" in html and "H264/AAC" in html
    assert "data-uploader" not in html and "js/upload.js" not in html  # viewers get no upload widgets
    assert "2/4" in html


def test_owner_sees_an_unfinished_upload_and_how_to_continue(app, world, as_person):
    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"])
        store_ready_file(lesson_id, b"x" * 100, status="uploading", original_name="第一课.mp4")
    html = as_person("teacher_a1").get(f"/lessons/{lesson_id}").get_data(as_text=True)
    assert "有一个未完成的上传：第一课.mp4" in html and "重新选择这个文件即可从中断处继续" in html
    assert re.search(r'data-abandon="\d+"', html)


def test_owner_sees_files_the_server_is_still_checking(app, world, as_person):
    """A file being verified or processed is a note that upload.js follows (data-watch), for the owner only."""
    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published")
        checking = store_ready_file(lesson_id, b"%PDF" + bytes(10), kind="lesson_plan", original_name="教学设计.pdf",
                                    content_type="application/pdf", status="verifying")
        probing = store_ready_file(lesson_id, b"x" * 100, status="processing", original_name="第一课.mp4")
    html = as_person("teacher_a1").get(f"/lessons/{lesson_id}").get_data(as_text=True)
    assert f'data-watch="{checking}" data-kind="lesson_plan"' in html and "“教学设计.pdf”校验中：" in html
    assert f'data-watch="{probing}" data-kind="recording"' in html and "“第一课.mp4”处理中：" in html
    assert "处理失败" not in html  # no job of theirs failed
    assert "data-watch" not in as_person("student_a1").get(f"/lessons/{lesson_id}").get_data(as_text=True)


def test_only_the_upload_page_may_run_webassembly(app, world, as_person, minio_server):
    """The owner's lesson page loads hash-wasm before upload.js: its CSP allows WebAssembly (not eval) and,
    like every page's, connections to MinIO's public origin; other pages may not run WebAssembly."""
    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published")
    owner = as_person("teacher_a1").get(f"/lessons/{lesson_id}")
    csp = owner.headers["Content-Security-Policy"]
    assert "script-src 'self' 'wasm-unsafe-eval';" in csp and "'unsafe-eval'" not in csp.replace("'wasm-", "")
    assert csp.endswith(f"; connect-src 'self' http://{minio_server['endpoint']}")
    html = owner.get_data(as_text=True)
    assert (html.index("vendor/hash-wasm/sha256.umd.min.js") < html.index("js/part-checksum.js")
            < html.index("js/upload.js"))
    assert "md5" not in html
    for other in (as_person("student_a1").get(f"/lessons/{lesson_id}"), as_person("teacher_a1").get("/lessons/new")):
        policy = other.headers["Content-Security-Policy"]
        assert other.status_code == 200 and "wasm" not in policy and "script-src 'self';" in policy


def _action(client, lesson_id, action):
    token = csrf_token(client.get(f"/lessons/{lesson_id}").get_data(as_text=True))
    return client.post(f"/lessons/{lesson_id}/{action}", data={"csrf_token": token})


def test_publish_and_withdraw_buttons(app, world, as_person):
    """Publishing without a recording explains why; with one it publishes; withdrawing hides it again."""
    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"])
    teacher, student = as_person("teacher_a1"), as_person("student_a1")
    refused = _action(teacher, lesson_id, "publish")
    assert refused.status_code == 302
    assert "暂时不能发布：请先上传课堂实录" in teacher.get(f"/lessons/{lesson_id}").get_data(as_text=True)
    assert student.get(f"/lessons/{lesson_id}").status_code == 404

    with app.app_context():
        store_ready_file(lesson_id, b"video")
    assert _action(teacher, lesson_id, "publish").status_code == 302
    page = teacher.get(f"/lessons/{lesson_id}").get_data(as_text=True)
    assert "课程已发布。还缺少：教学设计、课件、评测练习" in page and "撤回发布" in page
    assert student.get(f"/lessons/{lesson_id}").status_code == 200

    assert _action(teacher, lesson_id, "withdraw").status_code == 302
    assert student.get(f"/lessons/{lesson_id}").status_code == 404
    actions = [e["action"] for e in audit_log(app) if e["action"].startswith("lesson.")]
    assert actions == ["lesson.publish", "lesson.withdraw"]
    assert _lessons(app)[0][3] == "withdrawn"


def test_others_cannot_publish_edit_or_delete(app, world, as_person):
    """Another teacher of the school who can see the lesson gets 403 (audited); a hidden lesson is 404."""
    with app.app_context():
        visible = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published")
        hidden = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="draft")
    other = as_person("teacher_a1b")
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', other.get("/lessons").get_data(as_text=True))[1]
    for action in ("publish", "withdraw", "delete"):
        assert other.post(f"/lessons/{visible}/{action}", data={"csrf_token": token}).status_code == 403
        assert other.post(f"/lessons/{hidden}/{action}", data={"csrf_token": token}).status_code == 404
    assert other.get(f"/lessons/{visible}/edit").status_code == 403
    assert other.get(f"/lessons/{hidden}/edit").status_code == 404
    denied = [e for e in audit_log(app) if e["result"] == "denied"]
    assert {e["action"] for e in denied} == {"lesson.publish", "lesson.withdraw", "lesson.delete", "lesson.update"}
    assert [status for *_, status in _lessons(app)] == ["published", "draft"]


def test_posting_without_the_csrf_token_is_refused(app, world, as_person):
    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published")
    response = as_person("teacher_a1").post(f"/lessons/{lesson_id}/withdraw")
    assert response.status_code == 400 and "页面已过期" in response.get_data(as_text=True)
    assert _lessons(app)[0][3] == "published"


def test_edit_keeps_the_chosen_path_and_saves_changes(app, world, nodes, as_person):
    client = as_person("teacher_a1")
    assert _post_new(client, _form(nodes)).status_code == 302
    [(lesson_id, *_)] = _lessons(app)
    page = client.get(f"/lessons/{lesson_id}/edit").get_data(as_text=True)
    for level in ("stage", "subject", "edition", "volume", "chapter", "section"):
        assert re.search(r'<option value="%d"[^>]*\s+selected>' % nodes[level], page), level
    token = csrf_token(page)
    response = client.post(f"/lessons/{lesson_id}/edit", data={
        **_form(nodes, title="认识时间（第二课时）", visibility="public",
                node=[str(nodes["stage"]), str(nodes["subject"]), str(nodes["edition"]), str(nodes["volume"]),
                      str(nodes["chapter2"])]), "csrf_token": token})
    assert response.status_code == 302
    assert _lessons(app) == [(lesson_id, "认识时间（第二课时）", nodes["chapter2"], "draft")]


def test_delete_button_removes_the_lesson_and_its_objects(app, world, as_person):
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile
    from learnspace.storage import get_storage

    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published")
        key = db.session.get(LessonFile, store_ready_file(lesson_id, b"video")).object_key
    client = as_person("teacher_a1")
    response = _action(client, lesson_id, "delete")
    assert response.status_code == 302 and response.headers["Location"].endswith("/space")
    assert "及其所有文件已删除" in client.get("/space").get_data(as_text=True)
    assert _lessons(app) == []
    with app.app_context():
        assert not get_storage().exists(key)


def test_space_lists_all_lessons_to_the_owner_and_visible_ones_to_visitors(app, world, as_person):
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.spaces.models import Space

    with app.app_context():
        for status, visibility in [("draft", "school"), ("published", "school"), ("published", "private")]:
            lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status=status,
                                    visibility=visibility)
            db.session.get(Lesson, lesson_id).title = f"空间课例-{status}-{visibility}"
        db.session.commit()
        space_id = db.session.scalar(select(Space.id).where(Space.owner_id == world.people["teacher_a1"]))
    mine = as_person("teacher_a1").get("/space").get_data(as_text=True)
    assert "我的课程（3）" in mine and "新建课程" in mine
    assert all(f"空间课例-{c}" in mine for c in ("draft-school", "published-school", "published-private"))
    assert "草稿" in mine

    visit = as_person("student_a1").get(f"/spaces/{space_id}").get_data(as_text=True)
    assert "空间课例-published-school" in visit
    assert "空间课例-draft-school" not in visit and "空间课例-published-private" not in visit
    assert "新建课程" not in visit and "课程（1）" in visit

    far = as_person("student_b1").get(f"/spaces/{space_id}").get_data(as_text=True)
    assert "空间课例" not in far and "暂无可以查看的课程" in far


def test_views_by_others_are_counted_once_a_day_in_batches_and_the_teachers_own_are_not(app, world):
    """A student's reloads count once a China day, the teacher's own visits never; the worker's batch counts."""
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from tests.fixtures.helpers import login
    from tests.fixtures.lessons import make_lesson
    from tests.fixtures.world import PASSWORD

    with app.app_context():
        from learnspace.accounts.models import User
        teacher = db.session.get(User, world.people["teacher_a1"])
        lesson_id = make_lesson(teacher.id, teacher.school_id, status="published", visibility="school")
        student = db.session.get(User, world.people["student_a1"])
        student.login_name = "student-a1"
        from learnspace.accounts import operations as accounts
        accounts.set_password(student, PASSWORD)
        teacher.login_name = "teacher-a1"
        accounts.set_password(teacher, PASSWORD)
        db.session.commit()
    reader, author = app.test_client(), app.test_client()
    login(reader, "student-a1", PASSWORD)
    login(author, "teacher-a1", PASSWORD)
    for _ in range(3):
        assert reader.get(f"/lessons/{lesson_id}").status_code == 200
    assert author.get(f"/lessons/{lesson_id}").status_code == 200
    from learnspace.lessons import view_counts
    with app.app_context():
        assert db.session.get(Lesson, lesson_id).view_count == 0  # recorded, not counted yet
        assert view_counts.pending_count(lesson_id) == 1
        assert view_counts.count_all() == 1
        db.session.expire_all()
        assert db.session.get(Lesson, lesson_id).view_count == 1
        assert view_counts.pending_count(lesson_id) == 0
        assert view_counts.count_all() == 0  # counted once only
    assert reader.get(f"/lessons/{lesson_id}").status_code == 200
    with app.app_context():
        assert view_counts.pending_count(lesson_id) == 0  # the same day: no second view


def test_anonymous_visitors_count_once_a_day_by_their_cookie_and_old_rows_are_pruned(app, world):
    """A visitor's cookie dedupes their reloads; without the cookie each page counts; past days are pruned."""
    from datetime import timedelta

    from sqlalchemy import func, select, update

    from learnspace.china_time import today
    from learnspace.extensions import db
    from learnspace.lessons import view_counts
    from learnspace.lessons.models import Lesson, LessonView
    from tests.fixtures.lessons import make_lesson

    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published",
                                visibility="public")
    browser = app.test_client()
    first = browser.get(f"/lessons/{lesson_id}")
    assert first.status_code == 200
    cookie = first.headers["Set-Cookie"]
    assert cookie.startswith(view_counts.VISITOR_COOKIE + "=") and "HttpOnly" in cookie and "Max-Age=" in cookie
    again = browser.get(f"/lessons/{lesson_id}")
    assert "Set-Cookie" not in again.headers or view_counts.VISITOR_COOKIE not in again.headers["Set-Cookie"]
    for _ in range(2):  # cookies off: a fresh client each time, so each page is a new visitor
        assert app.test_client(use_cookies=False).get(f"/lessons/{lesson_id}").status_code == 200
    forged = app.test_client()
    forged.set_cookie(view_counts.VISITOR_COOKIE, "not-a-random-id")  # not ours: replaced, counted as new
    assert view_counts.VISITOR_COOKIE in forged.get(f"/lessons/{lesson_id}").headers["Set-Cookie"]
    with app.app_context():
        assert view_counts.pending_count(lesson_id) == 4
        assert view_counts.count_all() == 4
        assert db.session.get(Lesson, lesson_id).view_count == 4
        db.session.execute(update(LessonView).values(day=today() - timedelta(days=2)))
        view_counts.record_view(lesson_id, "u1")  # today's, still pending: kept
        assert view_counts.prune() == 4
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(LessonView)) == 1
