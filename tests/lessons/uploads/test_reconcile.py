"""learnspace reconcile: rows without objects, objects without rows, stale and incomplete uploads."""
from __future__ import annotations

from datetime import timedelta

from tests.lessons.uploads.conftest import CHUNK, MIB, fake_pdf


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
    live = teacher.start(lesson_id, "courseware", "课件.pdf", len(data)).get_json()["id"]
    assert teacher.put(live, 0, data[:CHUNK]).status_code == 200
    live_keys = storage_keys()
    with uapp.app_context():
        storage = get_storage()
        for key in (f"lessons/{lesson_id}/files/left-by-a-crash", "uploads/424242/00000",
                    f"lessons/{lesson_id}/posters/old.jpg"):
            storage.put_bytes(key, b"x")

    recent = _reconcile(uapp)  # default grace: just-written objects may belong to running requests
    assert recent.orphans == [] and len(storage_keys()) == 5
    dry = _reconcile(uapp, dry_run=True, orphan_grace=timedelta(0))
    assert len(dry.orphans) == 3 and len(storage_keys()) == 5
    report = _reconcile(uapp, orphan_grace=timedelta(0))
    assert sorted(report.orphans) == sorted([f"lessons/{lesson_id}/files/left-by-a-crash", "uploads/424242/00000",
                                             f"lessons/{lesson_id}/posters/old.jpg"])
    assert storage_keys() == live_keys
    assert teacher.status(ready["id"]).get_json()["status"] == "ready"
    assert teacher.status(live).get_json()["received"] == [0]


def test_uploads_without_progress_for_a_day_are_aborted_and_their_chunks_removed(uapp, teacher, lesson_id,
                                                                                  storage_keys):
    from learnspace.db import utcnow
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile, UploadChunk

    data = fake_pdf(11 * MIB)
    stale = teacher.start(lesson_id, "courseware", "课件.pdf", len(data)).get_json()["id"]
    fresh = teacher.start(lesson_id, "exercises", "练习.pdf", len(data)).get_json()["id"]
    for file_id in (stale, fresh):
        assert teacher.put(file_id, 0, data[:CHUNK]).status_code == 200
    with uapp.app_context():
        long_ago = utcnow() - timedelta(hours=30)
        db.session.get(LessonFile, stale).created_dt = long_ago
        db.session.query(UploadChunk).filter_by(file_id=stale).update({"created_dt": long_ago})
        db.session.commit()

    report = _reconcile(uapp)
    assert report.stale_uploads == [stale]
    status, reason = _row(uapp, stale)
    assert status == "failed" and "24 小时" in reason
    assert storage_keys("uploads/") == [f"uploads/{fresh}/00000"]
    assert _row(uapp, fresh) == ("uploading", None)


def test_incomplete_multipart_uploads_older_than_the_threshold_are_aborted(uapp, storage_keys):
    from learnspace.storage import get_storage

    with uapp.app_context():
        storage = get_storage()
        storage.client._create_multipart_upload(storage.bucket, "lessons/7/files/cut-short", {})
    assert _reconcile(uapp).multipart == []  # younger than a day
    assert _reconcile(uapp, older_than=timedelta(0)).multipart == ["lessons/7/files/cut-short"]
    with uapp.app_context():
        assert get_storage().list_incomplete_uploads() == []


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
