"""MinIO down while a deletion runs: nothing is deleted, the job is retried, and the retry finishes it."""
from __future__ import annotations

from sqlalchemy import select, update

from tests.fixtures.search import publish_lesson
from tests.study.people import add_person


def test_a_deletion_with_storage_down_touches_no_row_and_the_retry_finishes(app, world, minio_server):
    from learnspace.accounts.models import User
    from learnspace.db import utcnow
    from learnspace.extensions import db
    from learnspace.jobs import run_due
    from learnspace.jobs.models import Job
    from learnspace.lessons.models import Lesson
    from learnspace.privacy import operations
    from learnspace.storage import get_storage

    minio = minio_server["server"]
    with app.app_context():
        teacher_id = add_person(world.schools["a1"], "teacher", name="郭存储")
        lesson_id = publish_lesson(teacher_id, "圆的面积")
        keys = get_storage().list_keys(f"lessons/{lesson_id}/")
        assert keys
        teacher = db.session.get(User, teacher_id)
        app.config["PRIVACY_COOLING_OFF_HOURS"] = 0
        try:
            req = operations.request_deletion(teacher, teacher, password="Passw0rd-test")
        finally:
            app.config.pop("PRIVACY_COOLING_OFF_HOURS")
        db.session.commit()
        request_id = req.id
        try:
            minio.kill()
            run_due()
            job = db.session.scalar(select(Job).where(Job.kind == "privacy.delete"))
            assert job.state == "queued" and job.attempts == 1 and job.last_error  # retried after a pause
            assert db.session.get(User, teacher_id) is not None
            assert db.session.get(Lesson, lesson_id) is not None
        finally:
            if not minio.is_live():
                minio.start()
        db.session.execute(update(Job).values(run_after_dt=utcnow()))
        db.session.commit()
        assert run_due() == 1
        db.session.expire_all()
        assert db.session.get(User, teacher_id) is None
        assert db.session.get(Lesson, lesson_id) is None
        assert get_storage().list_keys(f"lessons/{lesson_id}/") == []
        from learnspace.privacy.models import PrivacyRequest
        assert db.session.get(PrivacyRequest, request_id).state == "done"
