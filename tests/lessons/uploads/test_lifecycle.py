"""Cancelling and deleting remove every object and abort the multipart upload; deletion waits for the commit."""
from __future__ import annotations

from tests.fixtures.lessons import make_lesson
from tests.lessons.uploads.conftest import MIB, fake_pdf, run_jobs, sha256_b64

PUBLISHED_RECORDING = "课程已发布，不能删除录像。如需更换，请直接上传新的录像（完成后自动替换），或先撤回课程。"


def _incomplete(app):
    from learnspace.storage import get_storage

    with app.app_context():
        return get_storage().list_incomplete_uploads()


def test_cancelling_an_upload_removes_its_row_and_aborts_its_multipart_upload(uapp, teacher, lesson_id,
                                                                              storage_keys):
    data = fake_pdf(11 * MIB)
    body = teacher.start(lesson_id, "courseware", "课件.pdf", len(data)).get_json()
    teacher.send_parts(body, data, numbers=[1, 2])
    url = teacher.part_urls(body["id"], [{"number": 3, "sha256": sha256_b64(data[10 * MIB:])}]).get_json()["urls"]["3"]
    assert len(_incomplete(uapp)) == 1
    response = teacher.delete(body["id"])
    assert response.status_code == 200 and response.get_json() == {"deleted": body["id"]}
    assert storage_keys() == [] and _incomplete(uapp) == []
    assert teacher.status(body["id"]).status_code == 404
    from tests.lessons.uploads.conftest import put_part

    late = put_part(url, data[10 * MIB:])  # a part still in flight when the teacher cancelled
    assert late.status == 404 and b"NoSuchUpload" in late.data
    assert storage_keys() == []


def test_deleting_a_ready_file_removes_its_object(uapp, teacher, lesson_id, storage_keys):
    done = teacher.upload(lesson_id, "exercises", "练习.pdf", fake_pdf(50_000)).get_json()
    assert done["status"] == "ready" and len(storage_keys("lessons/")) == 1
    assert teacher.delete(done["id"]).status_code == 200
    assert storage_keys() == []


def test_delete_file_removes_objects_only_once_the_deletion_commits(uapp, teacher, lesson_id, storage_keys):
    from learnspace.extensions import db
    from learnspace.lessons import uploads
    from learnspace.lessons.models import LessonFile

    done = teacher.upload(lesson_id, "exercises", "练习.pdf", fake_pdf(50_000)).get_json()
    key = storage_keys()[0]
    with uapp.app_context():
        uploads.delete_file(db.session.get(LessonFile, done["id"]))
        assert storage_keys() == [key]  # not yet: the deletion may still be rolled back
        db.session.rollback()
    assert storage_keys() == [key] and teacher.status(done["id"]).get_json()["status"] == "ready"
    with uapp.app_context():
        uploads.delete_file(db.session.get(LessonFile, done["id"]))
        db.session.commit()
    assert storage_keys() == []


def test_deleting_a_lesson_removes_the_objects_of_all_its_files(uapp, world, teacher, lesson_id, storage_keys):
    from learnspace.extensions import db
    from learnspace.lessons import operations
    from learnspace.lessons.models import Lesson

    teacher.upload(lesson_id, "exercises", "练习.pdf", fake_pdf(50_000))
    teacher.upload(lesson_id, "courseware", "课件.pdf", fake_pdf(60_000))
    teacher.start(lesson_id, "lesson_plan", "教学设计.pdf", 10 * MIB)
    with uapp.app_context():
        other_lesson = make_lesson(world.people["teacher_a1"], world.schools["a1"])
    kept = teacher.upload(other_lesson, "exercises", "练习.pdf", fake_pdf(40_000)).get_json()
    assert len(storage_keys()) == 3 and len(_incomplete(uapp)) == 1
    with uapp.app_context():
        operations.delete_lesson(db.session.get(Lesson, lesson_id))
        db.session.commit()
    assert len(storage_keys()) == 1 and storage_keys()[0].startswith(f"lessons/{other_lesson}/")
    assert _incomplete(uapp) == []
    assert teacher.status(kept["id"]).get_json()["status"] == "ready"


def test_a_failed_upload_can_be_dismissed(uapp, teacher, lesson_id, storage_keys):
    failed = teacher.upload(lesson_id, "courseware", "课件.pdf", b"MZ" + bytes(998)).get_json()
    assert failed["status"] == "failed"
    assert teacher.delete(failed["id"]).status_code == 200
    assert teacher.status(failed["id"]).status_code == 404


def test_the_ready_recording_of_a_published_lesson_cannot_be_deleted_only_replaced(uapp, world, teacher,
                                                                                   storage_keys):
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from tests.lessons.uploads.conftest import fake_mp4

    with uapp.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published")
    first = teacher.upload(lesson_id, "recording", "第一版.mp4", fake_mp4(300_000, seed=1)).get_json()
    assert first["status"] == "ready"
    refused = teacher.delete(first["id"])
    assert refused.status_code == 409 and refused.get_json()["error"] == PUBLISHED_RECORDING
    assert teacher.status(first["id"]).get_json()["status"] == "ready" and len(storage_keys()) == 1

    # A replacement is allowed; the old recording goes once the new one is ready, not before.
    second = teacher.upload(lesson_id, "recording", "第二版.mp4", fake_mp4(200_000, seed=2), verify=False).get_json()
    assert second["status"] == "verifying" and teacher.status(first["id"]).get_json()["status"] == "ready"
    run_jobs(uapp)
    assert teacher.status(second["id"]).get_json()["status"] == "ready"
    assert teacher.status(first["id"]).status_code == 404 and len(storage_keys("lessons/")) == 1

    with uapp.app_context():  # withdrawn, the lesson's recording may go
        db.session.get(Lesson, lesson_id).status = "withdrawn"
        db.session.commit()
    assert teacher.delete(second["id"]).status_code == 200 and storage_keys() == []
