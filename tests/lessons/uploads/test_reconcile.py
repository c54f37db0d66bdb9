"""learnspace reconcile: rows without objects, objects without rows, stale and incomplete uploads."""
from __future__ import annotations

from datetime import timedelta

from tests.lessons.uploads.conftest import MIB, fake_pdf


def _reconcile(app, **kwargs):
    from learnspace.extensions import db
    from learnspace.lessons.reconcile import reconcile

    with app.app_context():
        report = reconcile(**kwargs)
        db.session.commit()
        return report


def _row(app, file_id):
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile

    with app.app_context():
        file = db.session.get(LessonFile, file_id)
        return (file.status, file.failure_reason) if file else None


def test_a_ready_file_whose_object_vanished_is_marked_failed(uapp, teacher, lesson_id, storage_keys):
    from learnspace.storage import get_storage

    lost = teacher.upload(lesson_id, "exercises", "练习.pdf", fake_pdf(40_000)).get_json()
    kept = teacher.upload(lesson_id, "courseware", "课件.pdf", fake_pdf(30_000)).get_json()
    with uapp.app_context():
        from learnspace.extensions import db
        from learnspace.lessons.models import LessonFile

        get_storage().delete(db.session.get(LessonFile, lost["id"]).object_key)

    dry = _reconcile(uapp, dry_run=True)
    assert dry.missing == [lost["id"]] and _row(uapp, lost["id"])[0] == "ready"
    report = _reconcile(uapp)
    assert report.missing == [lost["id"]]
    status, reason = _row(uapp, lost["id"])
    assert status == "failed" and "找不到" in reason
    assert _row(uapp, kept["id"]) == ("ready", None)
    assert _reconcile(uapp).changed == 0  # a second run finds nothing


def test_objects_no_row_refers_to_are_removed_and_live_ones_kept(uapp, teacher, lesson_id, storage_keys):
    from learnspace.storage import get_storage

    ready = teacher.upload(lesson_id, "exercises", "练习.pdf", fake_pdf(40_000)).get_json()
    data = fake_pdf(11 * MIB)
    live = teacher.start(lesson_id, "courseware", "课件.pdf", len(data)).get_json()
    teacher.send_parts(live, data, numbers=[1])
    live_keys = storage_keys()
    orphans = [f"lessons/{lesson_id}/files/left-by-a-crash", "uploads/424242/00000",  # a chunk of the old protocol
               f"lessons/{lesson_id}/posters/old.jpg"]
    with uapp.app_context():
        for key in orphans:
            get_storage().put_bytes(key, b"x")

    recent = _reconcile(uapp)  # default grace: just-written objects may belong to running requests
    assert recent.orphans == [] and len(storage_keys()) == 4
    dry = _reconcile(uapp, dry_run=True, orphan_grace=timedelta(0))
    assert len(dry.orphans) == 3 and len(storage_keys()) == 4
    report = _reconcile(uapp, orphan_grace=timedelta(0))
    assert sorted(report.orphans) == sorted(orphans)
    assert storage_keys() == live_keys
    assert teacher.status(ready["id"]).get_json()["status"] == "ready"
    assert teacher.status(live["id"]).get_json()["parts"] == [1]


def test_uploads_unfinished_after_a_day_are_failed_and_their_multipart_uploads_aborted(uapp, teacher, lesson_id,
                                                                                      storage_keys):
    from learnspace.db import utcnow
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile
    from learnspace.storage import get_storage

    data = fake_pdf(11 * MIB)
    stale = teacher.start(lesson_id, "courseware", "课件.pdf", len(data)).get_json()
    fresh = teacher.start(lesson_id, "exercises", "练习.pdf", len(data)).get_json()
    for body in (stale, fresh):
        teacher.send_parts(body, data, numbers=[1])
    with uapp.app_context():
        db.session.get(LessonFile, stale["id"]).created_dt = utcnow() - timedelta(hours=30)
        db.session.commit()
        fresh_key = db.session.get(LessonFile, fresh["id"]).object_key

    dry = _reconcile(uapp, dry_run=True)
    assert dry.stale_uploads == [stale["id"]] and dry.multipart == []
    report = _reconcile(uapp)
    assert report.stale_uploads == [stale["id"]]
    assert _row(uapp, stale["id"]) == ("failed", "上传超过 24 小时未完成，已失效，请重新选择文件上传。")
    with uapp.app_context():
        assert [u.key for u in get_storage().list_incomplete_uploads()] == [fresh_key]
    assert _row(uapp, fresh["id"]) == ("uploading", None)
    assert teacher.status(stale["id"]).get_json()["status"] == "failed"


def test_multipart_uploads_no_uploading_row_owns_are_aborted_after_the_threshold(uapp, teacher, lesson_id,
                                                                                 storage_keys):
    from learnspace.storage import get_storage

    live = teacher.start(lesson_id, "courseware", "课件.pdf", 11 * MIB).get_json()
    with uapp.app_context():
        get_storage().create_multipart(f"lessons/{lesson_id}/files/row-never-committed")
    assert _reconcile(uapp).multipart == []  # younger than a day: a start may still be committing
    report = _reconcile(uapp, older_than=timedelta(0))
    assert report.multipart == [f"lessons/{lesson_id}/files/row-never-committed"]
    assert report.stale_uploads == [live["id"]]  # and with a threshold of 0 the live one is stale too
    with uapp.app_context():
        assert get_storage().list_incomplete_uploads() == []


def test_an_upload_minio_expired_is_reported_failed_with_the_reason(uapp, teacher, lesson_id, storage_keys):
    """MinIO drops multipart uploads unfinished after 24 hours: the page learns it and starts cleanly."""
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile
    from learnspace.storage import get_storage

    data = fake_pdf(11 * MIB)
    first = teacher.start(lesson_id, "courseware", "课件.pdf", len(data)).get_json()
    second = teacher.start(lesson_id, "exercises", "练习.pdf", len(data)).get_json()
    for body in (first, second):
        teacher.send_parts(body, data)
        with uapp.app_context():  # what MinIO's stale_uploads_expiry does, behind the app's back
            file = db.session.get(LessonFile, body["id"])
            get_storage().abort_incomplete_upload(file.object_key, file.upload_id)

    state = teacher.status(first["id"]).get_json()
    assert (state["status"], state["parts"]) == ("failed", [])
    assert state["failure_reason"] == "上传超过 24 小时未完成，已失效，请重新选择文件上传。"
    done = teacher.complete(second["id"])
    assert done.status_code == 409 and done.get_json()["status"] == "failed"
    assert done.get_json()["error"] == "上传超过 24 小时未完成，已失效，请重新选择文件上传。"
    assert storage_keys() == []
    again = teacher.start(lesson_id, "courseware", "课件.pdf", len(data)).get_json()  # starting again works
    teacher.send_parts(again, data)
    assert teacher.complete(again["id"]).status_code == 202


def test_the_reconcile_command_prints_what_it_did(uapp, teacher, lesson_id, storage_keys):
    from learnspace.lessons.cli import reconcile_command
    from learnspace.storage import get_storage

    with uapp.app_context():
        get_storage().put_bytes(f"lessons/{lesson_id}/files/orphan", b"x")
    runner = uapp.test_cli_runner()
    dry = runner.invoke(reconcile_command, ["--dry-run", "--older-than-hours", "0"])
    assert dry.exit_code == 0, dry.output
    assert "演练模式" in dry.output and "没有记录引用的对象：1 个，将删除" in dry.output
    assert len(storage_keys()) == 1
    done = runner.invoke(reconcile_command, ["--older-than-hours", "0"])
    assert done.exit_code == 0 and "对账完成" in done.output and "没有记录引用的对象：1 个，已删除" in done.output
    assert storage_keys() == []
