"""A teacher downloads all their data, then has it deleted: nothing of theirs is left in the database,
MinIO or the search index, and the anonymous statistics still count them."""
from __future__ import annotations

import io
import json
import urllib.request
import zipfile

from sqlalchemy import func, select

from tests.fixtures.helpers import login, post_form
from tests.fixtures.media import store_ready_file
from tests.fixtures.search import index_now, publish_lesson
from tests.fixtures.world import PASSWORD
from tests.privacy.scan import leftovers
from tests.study.people import add_person, birthday_years_ago

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90wS\xde"
       b"\x00\x00\x00\x0cIDATx\x9cc\xf8\xff\xff?\x00\x05\xfe\x02\xfe\r\xefF\xb8\x00\x00\x00\x00IEND\xaeB`\x82")
PLAN = "教学设计：认识钟面。".encode() * 1000


def _build(world):
    """A teacher with a published lesson (recording + plan), a photo, comments, notes, follows; a pupil."""
    from learnspace.accounts.models import User
    from learnspace.activity import operations as activity
    from learnspace.comments import operations as comments
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.spaces import operations as spaces
    from learnspace.study import operations as study

    a1 = world.schools["a1"]
    teacher_id = add_person(a1, "teacher", name="赵德明", born=birthday_years_ago(40))
    other_id = add_person(a1, "teacher", name="孙其他")
    pupil_id = add_person(a1, "student", name="钱多多", born=birthday_years_ago(15))
    lesson_id = publish_lesson(teacher_id, "认识钟表", description="赵德明老师的示范课")
    plan_id = store_ready_file(lesson_id, PLAN, kind="lesson_plan", original_name="教学设计.docx",
                               content_type="application/octet-stream")
    other_lesson = publish_lesson(other_id, "百分数")
    teacher, other, pupil = (db.session.get(User, i) for i in (teacher_id, other_id, pupil_id))
    lesson, elsewhere = db.session.get(Lesson, lesson_id), db.session.get(Lesson, other_lesson)
    spaces.set_photo(teacher, PNG)
    spaces.post_announcement(teacher, "下周一公开课")
    spaces.follow(teacher, other)
    spaces.follow(pupil, teacher)
    own = comments.post_comment(teacher, elsewhere, "赵德明的提问：百分数怎么教？", kind="question")
    kept_reply = comments.post_reply(other, own, "孙其他的回答：从折扣讲起")
    pupil_comment = comments.post_comment(pupil, lesson, "钱多多：讲得清楚")
    comments.post_reply(teacher, pupil_comment, "谢谢")
    study.add_note(teacher, elsewhere, "赵德明的笔记")
    study.add_favourite(teacher, elsewhere)
    study.record_progress(teacher, elsewhere, 30, 600, played=30)
    study.record_progress(pupil, lesson, 60, 600, played=60)
    activity.record(teacher, "comment")
    activity.record(pupil, "watch")
    db.session.commit()
    index_now()
    return dict(teacher=teacher_id, other=other_id, pupil=pupil_id, lesson=lesson_id, plan=plan_id,
                kept_reply=kept_reply.id)


def _fetch(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=30) as response:  # noqa: S310 - the test's own MinIO
        return response.read()


def _teacher_active_count(school_id: int) -> tuple[int, int]:
    from learnspace.activity.models import RollupDay
    from learnspace.extensions import db

    row = db.session.execute(select(func.coalesce(func.sum(RollupDay.active), 0),
                                    func.coalesce(func.sum(RollupDay.new_activations), 0))
                             .where(RollupDay.unit == f"school:{school_id}", RollupDay.role == "teacher")).one()
    return int(row[0]), int(row[1])


def test_a_teacher_downloads_everything_then_deletion_leaves_nothing_behind(app, world, client):
    from learnspace.accounts import idcard
    from learnspace.accounts.models import User
    from learnspace.extensions import db
    from learnspace.jobs import run_due
    from learnspace.orgs.models import School
    from learnspace.privacy.models import PrivacyRequest
    from learnspace.search import generations
    from learnspace.storage import get_storage

    with app.app_context():
        # Objects an earlier test left in the shared bucket under a reused id are not this teacher's.
        earlier = set(get_storage().list_keys(""))
        ids = _build(world)
        teacher = db.session.get(User, ids["teacher"])
        needles = [teacher.real_name, teacher.teacher_number, teacher.login_name,
                   idcard.decrypt(teacher.id_card_encrypted), "赵德明的笔记", "赵德明的提问"]
        full_id_card = needles[3]
        school_id = db.session.scalar(select(School.id).where(School.code == world.schools["a1"]))
        lesson_prefix, photo_prefix = f"lessons/{ids['lesson']}/", f"spaces/{ids['teacher']}/"
        storage = get_storage()
        recording_key = storage.list_keys(lesson_prefix)
        originals = {key: storage.get_bytes(key) for key in recording_key + storage.list_keys(photo_prefix)
                     if key not in earlier}
        assert len(originals) == 3  # recording, lesson plan, photo
        assert list(generations.get_searcher().documents(teacher_id=str(ids["teacher"])))
        active_before, activations_before = _teacher_active_count(school_id)
        assert active_before >= 1 and activations_before >= 2
        teacher_login = teacher.login_name
        found = leftovers(ids["teacher"], needles)  # the scan sees the person while they exist
        assert "users.id = %d (1 rows)" % ids["teacher"] in found and any("comments.body" in f for f in found)

    # --- download ---
    assert login(client, teacher_login, PASSWORD).status_code == 302
    page = client.get("/me/data")
    assert "申请下载数据" in page.get_data(as_text=True)
    response = post_form(client, "/me/data", "/me/data/export", {})
    assert response.status_code == 302
    assert "数据包正在准备中" in client.get("/me/data").get_data(as_text=True)
    with app.app_context():
        assert run_due() >= 1
        req = db.session.scalar(select(PrivacyRequest).where(PrivacyRequest.kind == "export"))
        assert req.state == "done" and req.expires_dt is not None, req.detail
        export_key = req.object_key
    html = client.get("/me/data").get_data(as_text=True)
    assert "下载数据包" in html
    link = client.get(f"/me/data/{req.id}/download")
    assert link.status_code == 302 and "X-Amz-Signature" in link.location
    archive = zipfile.ZipFile(io.BytesIO(_fetch(link.location)))
    data = json.loads(archive.read("data.json"))
    assert {"format", "exported_dt", "person", "tables", "files"} <= set(data)
    assert data["person"]["real_name"] == "赵德明" and data["person"]["id_card_masked"]
    raw = archive.read("data.json").decode()
    assert full_id_card not in raw and "password_hash" not in raw and "token_hash" not in raw
    tables = data["tables"]
    for name in ("users", "spaces", "lessons", "lesson_files", "comments", "watch_progress", "watch_days",
                 "favourites", "lesson_notes", "activity_days", "user_sessions", "audit_entries", "follows",
                 "announcements", "teacher_profiles", "guardian_consents", "identities"):
        assert name in tables, name
    assert [r["title"] for r in tables["lessons"]] == ["认识钟表"]
    assert {r["body"] for r in tables["comments"]} == {"赵德明的提问：百分数怎么教？", "谢谢"}
    assert tables["user_sessions"] and any(r["action"] == "auth.login" for r in tables["audit_entries"])
    assert any(r["action"] == "privacy.export_request" for r in tables["audit_entries_about_you"])
    assert len(tables["lesson_files"]) == 2 and tables["lesson_notes"][0]["body"] == "赵德明的笔记"
    stored = {info.filename: archive.read(info.filename) for info in archive.infolist()
              if info.filename.startswith("files/")}
    assert sorted(stored.values()) == sorted(originals.values())  # byte-equal
    assert any(name.endswith("教学设计.docx") for name in stored)
    with app.app_context():
        entries = db.session.execute(select(db.metadata.tables["audit_entries"].c.action)).scalars().all()
        assert {"privacy.export_request", "privacy.export_ready", "privacy.export_download"} <= set(entries)

    # --- the pupil's zip: their activity, progress and comment ---
    pupil = app.test_client()
    with app.app_context():
        pupil_login = db.session.get(User, ids["pupil"]).login_name
    login(pupil, pupil_login, PASSWORD)
    post_form(pupil, "/me/data", "/me/data/export", {})
    with app.app_context():
        run_due()
        pupil_req, pupil_key = db.session.execute(select(PrivacyRequest.id, PrivacyRequest.object_key)
                                                  .where(PrivacyRequest.subject_id == ids["pupil"])).one()
    pupil_zip = zipfile.ZipFile(io.BytesIO(_fetch(pupil.get(f"/me/data/{pupil_req}/download").location)))
    pupil_tables = json.loads(pupil_zip.read("data.json"))["tables"]
    assert {r["kind"] for r in pupil_tables["activity_days"]} >= {"watch", "comment"}
    assert [r["lesson_id"] for r in pupil_tables["watch_progress"]] == [ids["lesson"]]
    assert [r["body"] for r in pupil_tables["comments"]] == ["钱多多：讲得清楚"]
    assert [r["followed_id"] for r in pupil_tables["follows"]] == [ids["teacher"]]
    assert [n for n in pupil_zip.namelist() if n.startswith("files/")] == []

    # --- deletion: a wrong password is refused, the right one queues it (no cooling-off in this test) ---
    refused = post_form(client, "/me/data", "/me/data/delete", {"password": "wrong-one-1"}, follow_redirects=True)
    assert "密码不正确" in refused.get_data(as_text=True)
    app.config["PRIVACY_COOLING_OFF_HOURS"] = 0
    try:
        done = post_form(client, "/me/data", "/me/data/delete", {"password": PASSWORD}, follow_redirects=True)
    finally:
        app.config.pop("PRIVACY_COOLING_OFF_HOURS")
    assert "注销申请已提交" in done.get_data(as_text=True)
    with app.app_context():
        assert run_due() >= 1
        deletion = db.session.scalar(select(PrivacyRequest).where(PrivacyRequest.kind == "delete"))
        assert deletion.state == "done" and deletion.subject_id is None, deletion.detail
        index_now()

        # the database: no row points at the person, no text names them
        assert leftovers(ids["teacher"], needles) == []
        # MinIO: none of their objects, not the export either
        left = set(storage.list_keys("")) - earlier
        assert not left & (set(originals) | {export_key})
        assert not [k for k in left if k.startswith((lesson_prefix, photo_prefix, f"privacy/exports/{req.id}/"))]
        assert [k for k in left if k.startswith("privacy/exports/")] == [pupil_key]  # the pupil's stays
        # the index: no document of theirs (the other teacher's lesson is still found)
        searcher = generations.get_searcher()
        assert list(searcher.documents(teacher_id=str(ids["teacher"]))) == []
        assert list(searcher.documents(teacher_id=str(ids["other"])))
        # shared data: the other teacher's reply to the deleted question stays, as a comment of its own
        from learnspace.comments.models import Comment
        reply = db.session.get(Comment, ids["kept_reply"])
        assert reply is not None and reply.parent_id is None
        # the pupil keeps their account; their comment went with the deleted lesson
        assert db.session.get(User, ids["pupil"]) is not None
        # statistics: the anonymous day counts the teacher made are still counted
        assert _teacher_active_count(school_id) == (active_before, activations_before)
        actions = set(db.session.execute(select(db.metadata.tables["audit_entries"].c.action)).scalars())
        assert {"privacy.delete_request", "privacy.delete_done"} <= actions

    # the session ended with the account
    assert client.get("/me/data").status_code == 302
    with app.app_context():
        storage.remove_many([pupil_key])  # MinIO is not emptied between tests
