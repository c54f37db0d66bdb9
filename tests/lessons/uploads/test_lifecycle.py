"""Cancelling and deleting remove every object; deletion waits for the commit before touching MinIO."""
from __future__ import annotations

from tests.fixtures.lessons import make_lesson
from tests.lessons.uploads.conftest import CHUNK, MIB, fake_pdf


def test_cancelling_an_upload_removes_its_row_and_chunks(uapp, teacher, lesson_id, storage_keys):
    data = fake_pdf(11 * MIB)
    file_id = teacher.start(lesson_id, "courseware", "课件.pdf", len(data)).get_json()["id"]
    for index in (0, 1):
        assert teacher.put(file_id, index, data[index * CHUNK:(index + 1) * CHUNK]).status_code == 200
    assert len(storage_keys("uploads/")) == 2
    response = teacher.delete(file_id)
    assert response.status_code == 200 and response.get_json() == {"deleted": file_id}
    assert storage_keys() == []
    assert teacher.status(file_id).status_code == 404
    late = teacher.put(file_id, 2, data[2 * CHUNK:])
    assert late.status_code == 404 and storage_keys() == []


def test_deleting_a_ready_file_removes_its_object(uapp, teacher, lesson_id, storage_keys):
    done = teacher.upload(lesson_id, "exercises", "练习.pdf", fake_pdf(50_000)).get_json()
    assert len(storage_keys("lessons/")) == 1
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
    assert len(storage_keys()) == 3
    with uapp.app_context():
        operations.delete_lesson(db.session.get(Lesson, lesson_id))
        db.session.commit()
    assert len(storage_keys()) == 1 and storage_keys()[0].startswith(f"lessons/{other_lesson}/")
    assert teacher.status(kept["id"]).get_json()["status"] == "ready"


def test_a_failed_upload_can_be_dismissed(uapp, teacher, lesson_id, storage_keys):
    file_id = teacher.start(lesson_id, "courseware", "课件.pdf", 1000).get_json()["id"]
    assert teacher.put(file_id, 0, b"MZ" + bytes(998)).status_code == 400
    assert teacher.status(file_id).get_json()["status"] == "failed"
    assert teacher.delete(file_id).status_code == 200
    assert teacher.status(file_id).status_code == 404
