"""The resumable upload through its JSON API, against the real MinIO: chunks, resume, verification."""
from __future__ import annotations

from tests.lessons.uploads.conftest import CHUNK, MIB, fake_mp4, fake_pdf, sha

NAME = "第一课 认识时间（课堂实录）.mp4"


def _row(app, file_id):
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile

    with app.app_context():
        file = db.session.get(LessonFile, file_id)
        if file is not None:
            db.session.expunge(file)
        return file


def test_recording_in_three_chunks_becomes_ready_with_its_sha256_recorded(uapp, teacher, lesson_id, storage_keys):
    data = fake_mp4(11 * MIB + 12345)
    started = teacher.start(lesson_id, "recording", NAME, len(data))
    assert started.status_code == 201
    body = started.get_json()
    assert (body["chunk_size"], body["chunk_count"], body["received"]) == (CHUNK, 3, [])
    file_id = body["id"]
    row = _row(uapp, file_id)
    assert row.status == "uploading" and storage_keys() == []  # the row exists before any byte is stored

    for index in range(3):
        response = teacher.put(file_id, index, data[index * CHUNK:(index + 1) * CHUNK])
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["received"] == index + 1
    assert storage_keys() == [f"uploads/{file_id}/00000", f"uploads/{file_id}/00001", f"uploads/{file_id}/00002"]

    done = teacher.complete(file_id)
    assert done.status_code == 200, done.get_json()
    result = done.get_json()
    assert result["status"] == "ready" and result["sha256"] == sha(data) and result["content_type"] == "video/mp4"
    # noise after an ftyp box is no video: kept, but flagged for the showcase
    assert result["is_showcase_eligible"] is False and result["ineligible_reason"]

    row = _row(uapp, file_id)
    assert row.sha256 == sha(data) and row.size == len(data) and row.ready_dt is not None
    assert row.original_name == NAME
    assert row.object_key.startswith(f"lessons/{lesson_id}/files/") and "课" not in row.object_key
    assert storage_keys() == [row.object_key]  # chunks removed, nothing else
    with uapp.app_context():
        from learnspace.storage import get_storage

        assert b"".join(get_storage().iter_object(row.object_key)) == data
    assert teacher.status(file_id).get_json()["status"] == "ready"


def test_a_reloaded_page_resumes_from_the_received_chunks(uapp, teacher, lesson_id, storage_keys):
    data = fake_pdf(11 * MIB)
    file_id = teacher.start(lesson_id, "lesson_plan", "教学设计.pdf", len(data)).get_json()["id"]
    assert teacher.put(file_id, 0, data[:CHUNK]).status_code == 200

    # The tab is reloaded: a new page asks what the server already has.
    from tests.lessons.uploads.conftest import Uploader

    again = Uploader(teacher.client)
    state = again.status(file_id).get_json()
    assert (state["status"], state["received"], state["chunk_count"], state["size"]) == ("uploading", [0], 3, len(data))
    assert state["sha256"] is None
    early = again.complete(file_id)
    assert early.status_code == 409 and "2 块" in early.get_json()["error"]

    for index in set(range(state["chunk_count"])) - set(state["received"]):
        assert again.put(file_id, index, data[index * CHUNK:(index + 1) * CHUNK]).status_code == 200
    done = again.complete(file_id)
    assert done.status_code == 200 and done.get_json()["sha256"] == sha(data)
    assert storage_keys("uploads/") == []


def test_chunks_may_arrive_out_of_order_and_twice(uapp, teacher, lesson_id, storage_keys):
    data = fake_pdf(11 * MIB, seed=9)
    file_id = teacher.start(lesson_id, "courseware", "课件.pdf", len(data)).get_json()["id"]
    for index in (2, 0, 1, 0):
        assert teacher.put(file_id, index, data[index * CHUNK:(index + 1) * CHUNK]).status_code == 200
    assert teacher.status(file_id).get_json()["received"] == [0, 1, 2]
    done = teacher.complete(file_id)
    assert done.get_json()["status"] == "ready" and done.get_json()["sha256"] == sha(data)
    # complete again after a lost answer: the same ready file
    assert teacher.complete(file_id).get_json()["status"] == "ready"


def test_a_chunk_of_the_wrong_length_is_refused_and_not_stored(uapp, teacher, lesson_id, storage_keys):
    data = fake_pdf(11 * MIB)
    file_id = teacher.start(lesson_id, "exercises", "练习.pdf", len(data)).get_json()["id"]
    short = teacher.put(file_id, 0, data[:CHUNK - 1])
    assert short.status_code == 400 and f"应为 {CHUNK} 字节" in short.get_json()["error"]
    last = teacher.put(file_id, 2, data[2 * CHUNK:] + b"x")
    assert last.status_code == 400 and f"应为 {len(data) - 2 * CHUNK} 字节" in last.get_json()["error"]
    beyond = teacher.put(file_id, 3, b"x")
    assert beyond.status_code == 400 and "超出范围" in beyond.get_json()["error"]
    assert storage_keys() == []
    assert teacher.status(file_id).get_json()["received"] == []


def test_a_chunk_damaged_on_the_way_fails_its_checksum_and_is_dropped(uapp, teacher, lesson_id, storage_keys):
    data = fake_pdf(2 * MIB)
    file_id = teacher.start(lesson_id, "exercises", "练习.pdf", len(data)).get_json()["id"]
    damaged = bytearray(data)
    damaged[1000] ^= 0xFF
    response = teacher.put(file_id, 0, bytes(damaged), checksum=sha(data))
    assert response.status_code == 400 and "SHA-256" in response.get_json()["error"]
    assert storage_keys() == [] and teacher.status(file_id).get_json()["received"] == []
    assert teacher.put(file_id, 0, data).status_code == 200
    assert teacher.complete(file_id).get_json()["status"] == "ready"


def test_complete_checks_the_whole_file_sha256_the_client_computed(uapp, teacher, lesson_id, storage_keys):
    data = fake_pdf(1 * MIB)
    file_id = teacher.start(lesson_id, "exercises", "练习.pdf", len(data)).get_json()["id"]
    assert teacher.put(file_id, 0, data, checksum=None).status_code == 200
    response = teacher.complete(file_id, sha256=sha(data + b"other"))
    assert response.status_code == 400 and response.get_json()["status"] == "failed"
    assert "SHA-256" in response.get_json()["error"]
    assert storage_keys() == []


def test_a_new_upload_of_a_part_replaces_the_old_file_and_its_object(uapp, teacher, lesson_id, storage_keys):
    first, second = fake_pdf(300_000, seed=1), fake_pdf(200_000, seed=2)
    old = teacher.upload(lesson_id, "courseware", "课件第一版.pdf", first).get_json()
    old_key = _row(uapp, old["id"]).object_key
    new = teacher.upload(lesson_id, "courseware", "课件第二版.pdf", second).get_json()
    assert new["status"] == "ready"
    assert _row(uapp, old["id"]) is None
    new_key = _row(uapp, new["id"]).object_key
    assert storage_keys() == [new_key] and new_key != old_key


def test_start_reports_json_errors_for_bad_requests(uapp, teacher, lesson_id):
    bad_json = teacher.client.post(f"/api/lessons/{lesson_id}/uploads", data="x", headers=teacher._headers())
    assert bad_json.status_code == 400 and "JSON" in bad_json.get_json()["error"]
    no_size = teacher.client.post(f"/api/lessons/{lesson_id}/uploads", json={"kind": "courseware", "filename": "a.pdf"},
                                  headers=teacher._headers())
    assert no_size.status_code == 400 and "size" in no_size.get_json()["error"]
    bad_kind = teacher.start(lesson_id, "homework", "a.pdf", 10)
    assert bad_kind.status_code == 400 and "不支持的文件类别" in bad_kind.get_json()["error"]
    no_csrf = teacher.client.post(f"/api/lessons/{lesson_id}/uploads",
                                  json={"kind": "courseware", "filename": "a.pdf", "size": 10})
    assert no_csrf.status_code == 400 and "error" in no_csrf.get_json()
    file_id = teacher.start(lesson_id, "courseware", "a.pdf", 10).get_json()["id"]
    chunk_without_csrf = teacher.client.put(f"/api/uploads/{file_id}/chunks/0", data=b"%PDF-1.4\n0")
    assert chunk_without_csrf.status_code == 400 and "error" in chunk_without_csrf.get_json()


def test_two_completes_at_once_end_with_one_ready_file(uapp, teacher, lesson_id, storage_keys):
    """A double click or a client retrying a slow complete: both requests run, neither damages the file."""
    from concurrent.futures import ThreadPoolExecutor

    data = fake_pdf(11 * MIB, seed=4)
    file_id = teacher.start(lesson_id, "courseware", "课件.pdf", len(data)).get_json()["id"]
    for index in range(3):
        assert teacher.put(file_id, index, data[index * CHUNK:(index + 1) * CHUNK]).status_code == 200
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: teacher.complete(file_id), range(2)))
    assert [answer.status_code for answer in answers] == [200, 200], [a.get_json() for a in answers]
    assert [answer.get_json()["status"] for answer in answers] == ["ready", "ready"]
    state = teacher.status(file_id).get_json()
    assert state["status"] == "ready" and state["sha256"] == sha(data)
    assert storage_keys() == [_row(uapp, file_id).object_key]
    with uapp.app_context():
        from learnspace.storage import get_storage

        assert get_storage().list_incomplete_uploads(keys=storage_keys()) == []


def test_a_chunk_may_be_larger_than_the_form_size_limit(make_app, world, storage_keys):
    """MAX_CONTENT_LENGTH guards forms; a chunk endpoint allows exactly one chunk, whatever that limit is."""
    from tests.fixtures.lessons import make_lesson
    from tests.fixtures.people import give_login, signed_in
    from tests.lessons.uploads.conftest import Uploader

    app = make_app(env={"LEARNSPACE_UPLOAD_CHUNK_BYTES": str(CHUNK), "LEARNSPACE_MAX_ROSTER_BYTES": str(1 * MIB)})
    assert app.config["MAX_CONTENT_LENGTH"] == MIB < CHUNK
    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"])
    teacher = Uploader(signed_in(app, give_login(app, world.people["teacher_a1"])))
    data = fake_pdf(CHUNK + 100)
    assert teacher.upload(lesson_id, "courseware", "课件.pdf", data).get_json()["sha256"] == sha(data)


def test_a_chunk_cut_off_half_way_is_not_stored_and_can_be_sent_again(uapp, teacher, lesson_id, storage_keys):
    data = fake_pdf(11 * MIB, seed=8)
    file_id = teacher.start(lesson_id, "lesson_plan", "教学设计.pdf", len(data)).get_json()["id"]
    cut = teacher.client.put(f"/api/uploads/{file_id}/chunks/0", data=data[:CHUNK // 2],
                             headers={**teacher._headers(), "Content-Type": "application/octet-stream"},
                             environ_overrides={"CONTENT_LENGTH": str(CHUNK)})  # the connection drops
    assert cut.status_code == 400 and "没有传完整" in cut.get_json()["error"]
    assert storage_keys() == [] and teacher.status(file_id).get_json()["received"] == []
    assert teacher.put(file_id, 0, data[:CHUNK]).status_code == 200
