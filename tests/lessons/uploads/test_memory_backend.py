"""The upload operations on the in-memory storage: the same verbs and the same verdicts, without MinIO."""
from __future__ import annotations

import pytest

from tests.fixtures.lessons import make_lesson
from tests.lessons.uploads.conftest import MIB, PART, fake_pdf, sha, sha256_b64


@pytest.fixture
def mapp(make_app):
    return make_app(env={"LEARNSPACE_UPLOAD_CHUNK_BYTES": str(PART)}, overrides={"STORAGE_BACKEND": "memory"})


def test_start_parts_complete_and_verification_on_memory_storage(mapp, world):
    from learnspace.accounts.models import User
    from learnspace.errors import Conflict
    from learnspace.extensions import db
    from learnspace.jobs import run_due
    from learnspace.lessons import uploads
    from learnspace.lessons.models import Lesson, LessonFile
    from learnspace.storage import MemoryStorage, get_storage

    data = fake_pdf(11 * MIB, seed=3)
    with mapp.app_context():
        storage = get_storage()
        assert isinstance(storage, MemoryStorage)
        lesson = db.session.get(Lesson, make_lesson(world.people["teacher_a1"], world.schools["a1"]))
        file = uploads.start_upload(lesson, "courseware", "课件.pdf", len(data),
                                    db.session.get(User, world.people["teacher_a1"]))
        db.session.commit()
        assert (file.part_count, uploads.parts_in_place(file)) == (3, [])
        for number in (3, 1):
            part = data[(number - 1) * PART:number * PART]
            storage.upload_part(file.object_key, file.upload_id, number, part, sha256_b64(part))
        assert uploads.parts_in_place(file) == [1, 3]
        with pytest.raises(uploads.MissingParts) as missing:
            uploads.complete_upload(file)
        assert missing.value.details == [2]
        db.session.rollback()
        file = db.session.get(LessonFile, file.id)
        storage.upload_part(file.object_key, file.upload_id, 2, data[PART:2 * PART])  # unchecked: not counted
        assert uploads.parts_in_place(file) == [1, 3]
        storage.upload_part(file.object_key, file.upload_id, 2, data[PART:2 * PART], sha256_b64(data[PART:2 * PART]))
        assert uploads.complete_upload(file) is True
        db.session.commit()
        assert uploads.complete_upload(db.session.get(LessonFile, file.id)) is False
        assert run_due() == 1
        file = db.session.get(LessonFile, file.id)
        assert (file.status, file.sha256, file.content_type) == ("ready", sha(data), "application/pdf")
        with pytest.raises(Conflict):
            uploads.retry_verification(file)
        assert storage.get_bytes(file.object_key) == data and storage.uploads == {}
