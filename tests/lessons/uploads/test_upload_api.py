"""The upload through its JSON API against the real MinIO: parts PUT straight to MinIO, complete, the worker."""
from __future__ import annotations

import base64
import hashlib
from concurrent.futures import ThreadPoolExecutor

from learnspace.storage.multipart import CHECKSUM_MISMATCH, error_code
from tests.lessons.uploads.conftest import MIB, PART, Uploader, fake_mp4, fake_pdf, put_part, run_jobs, sha, sha256_b64

NAME = "第一课 认识时间（课堂实录）.mp4"


def _row(app, file_id):
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile

    with app.app_context():
        file = db.session.get(LessonFile, file_id)
        if file is not None:
            db.session.expunge(file)
        return file


def _incomplete(app):
    from learnspace.storage import get_storage

    with app.app_context():
        return get_storage().list_incomplete_uploads()


def test_a_recording_goes_part_by_part_to_minio_and_the_worker_makes_it_ready(uapp, teacher, lesson_id,
                                                                              storage_keys):
    data = fake_mp4(11 * MIB + 12345)
    started = teacher.start(lesson_id, "recording", NAME, len(data))
    assert started.status_code == 201
    body = started.get_json()
    file_id = body["id"]
    assert {k: body[k] for k in ("lesson_id", "kind", "filename", "status", "size", "part_size", "part_count",
                                 "parts", "sha256", "failure_reason", "job")} == {
        "lesson_id": lesson_id, "kind": "recording", "filename": NAME, "status": "uploading", "size": len(data),
        "part_size": PART, "part_count": 3, "parts": [], "sha256": None, "failure_reason": None, "job": None}
    row = _row(uapp, file_id)
    assert row.upload_id and row.object_key.startswith(f"lessons/{lesson_id}/files/") and "课" not in row.object_key
    assert storage_keys() == [] and [u.key for u in _incomplete(uapp)] == [row.object_key]

    pieces = {n: data[(n - 1) * PART:n * PART] for n in (1, 2, 3)}
    urls = teacher.part_urls(file_id, [{"number": n, "sha256": sha256_b64(p)} for n, p in pieces.items()])
    assert urls.status_code == 200
    assert urls.get_json()["expires_in"] == 3600 and sorted(urls.get_json()["urls"]) == ["1", "2", "3"]
    with ThreadPoolExecutor(3) as pool:  # several parts in flight, as the browser sends them
        answers = list(pool.map(lambda n: put_part(urls.get_json()["urls"][str(n)], pieces[n]), (3, 1, 2)))
    assert [a.status for a in answers] == [200, 200, 200]
    assert teacher.status(file_id).get_json()["parts"] == [1, 2, 3]
    assert storage_keys() == []  # the parts live inside the multipart upload until complete

    done = teacher.complete(file_id)
    assert done.status_code == 202, done.get_json()
    assert done.get_json()["status"] == "verifying" and done.get_json()["job"]["state"] == "queued"
    assert storage_keys() == [row.object_key] and _incomplete(uapp) == []
    again = teacher.complete(file_id)  # a repeated click or a lost answer
    assert again.status_code == 200 and again.get_json()["status"] == "verifying"

    assert run_jobs(uapp) == 1
    result = teacher.status(file_id).get_json()
    assert result["status"] == "ready" and result["sha256"] == sha(data) and result["content_type"] == "video/mp4"
    assert result["parts"] == [1, 2, 3] and result["job"] is None
    # noise after an ftyp box is no video: kept, but flagged for the showcase
    assert result["is_showcase_eligible"] is False and result["ineligible_reason"]
    row = _row(uapp, file_id)
    assert row.sha256 == sha(data) and row.ready_dt is not None and row.original_name == NAME
    with uapp.app_context():
        from learnspace.storage import get_storage

        assert b"".join(get_storage().iter_object(row.object_key)) == data
    assert run_jobs(uapp) == 0


def test_the_verification_job_run_twice_gives_the_same_result(uapp, teacher, lesson_id, storage_keys):
    from learnspace.lessons import uploads
    from learnspace.lessons.verification import verify_upload_job

    data = fake_pdf(6 * MIB)
    body = teacher.start(lesson_id, "courseware", "课件.pdf", len(data)).get_json()
    teacher.send_parts(body, data)
    assert teacher.complete(body["id"]).status_code == 202
    key = _row(uapp, body["id"]).object_key
    for _ in range(2):  # the worker died after the verdict was committed, and the job runs again
        with uapp.app_context():
            verify_upload_job({"file_id": body["id"], "object_key": key})
            from learnspace.extensions import db

            db.session.commit()
        row = _row(uapp, body["id"])
        assert (row.status, row.sha256, row.content_type) == ("ready", sha(data), "application/pdf")
    assert storage_keys() == [key]
    assert uploads.VERIFY_JOB == "lessons.verify_upload"


def test_a_part_damaged_on_the_way_is_refused_by_minio_and_sent_again(uapp, teacher, lesson_id, storage_keys):
    data = fake_pdf(2 * MIB)
    body = teacher.start(lesson_id, "exercises", "练习.pdf", len(data)).get_json()
    url = teacher.part_urls(body["id"], [{"number": 1, "sha256": sha256_b64(data)}]).get_json()["urls"]["1"]
    damaged = bytearray(data)
    damaged[1000] ^= 0xFF
    # the browser's SHA-256 of the bytes it meant to send
    refused = put_part(url, bytes(damaged), checksum=sha256_b64(data))
    assert refused.status == 400 and error_code(refused.data)[0] in CHECKSUM_MISMATCH, refused.data
    assert teacher.status(body["id"]).get_json()["parts"] == []
    assert put_part(url, data).status == 200
    assert teacher.complete(body["id"]).status_code == 202
    run_jobs(uapp)
    assert teacher.status(body["id"]).get_json()["sha256"] == sha(data)


def test_a_reloaded_page_resumes_with_only_the_parts_minio_lacks(uapp, teacher, lesson_id, storage_keys):
    data = fake_pdf(11 * MIB)
    body = teacher.start(lesson_id, "lesson_plan", "教学设计.pdf", len(data)).get_json()
    teacher.send_parts(body, data, numbers=[2])

    again = Uploader(teacher.client)  # the tab is reloaded: the new page asks which parts MinIO holds
    state = again.status(body["id"]).get_json()
    assert (state["status"], state["parts"], state["part_count"], state["size"]) == ("uploading", [2], 3, len(data))
    early = again.complete(body["id"])
    assert early.status_code == 409 and early.get_json()["missing"] == [1, 3]
    assert "2 个分段" in early.get_json()["error"]
    missing = [n for n in range(1, state["part_count"] + 1) if n not in state["parts"]]
    again.send_parts(state, data, numbers=missing)
    assert again.complete(body["id"]).status_code == 202
    run_jobs(uapp)
    assert again.status(body["id"]).get_json()["sha256"] == sha(data)


def test_a_part_of_the_wrong_size_does_not_count_and_complete_names_it(uapp, teacher, lesson_id, storage_keys):
    data = fake_pdf(11 * MIB, seed=7)
    body = teacher.start(lesson_id, "courseware", "课件.pdf", len(data)).get_json()
    teacher.send_parts(body, data, numbers=[2, 3])
    assert teacher.put(body["id"], 1, data[:PART - 1]).status == 200  # MinIO takes it; the app does not count it
    assert teacher.status(body["id"]).get_json()["parts"] == [2, 3]
    refused = teacher.complete(body["id"])
    assert refused.status_code == 409 and refused.get_json()["missing"] == [1]
    assert _row(uapp, body["id"]).status == "uploading"
    teacher.send_parts(body, data, numbers=[1])
    assert teacher.complete(body["id"]).status_code == 202


def test_part_urls_refuse_bad_requests(uapp, teacher, lesson_id):
    body = teacher.start(lesson_id, "courseware", "课件.pdf", 11 * MIB).get_json()
    good = sha256_b64(b"x")
    an_md5 = base64.b64encode(hashlib.md5(b"x").digest()).decode()  # the old protocol's checksum: 16 bytes, not 32
    for parts, words in [([{"number": 4, "sha256": good}], "1 到 3"), ([{"number": 0, "sha256": good}], "1 到 3"),
                         ([{"number": "1", "sha256": good}], "1 到 3"), ([{"number": 1, "sha256": "abc"}], "sha256"),
                         ([{"number": 1, "sha256": an_md5}], "44 个字符"), ([], "1 到 100"),
                         ([{"number": 1, "sha256": good}] * 101, "1 到 100"), ("1", "1 到 100")]:
        answer = teacher.part_urls(body["id"], parts)
        assert answer.status_code == 400 and words in answer.get_json()["error"], (parts, answer.get_json())
    no_json = teacher.client.post(f"/api/uploads/{body['id']}/part-urls", data="x", headers=teacher._headers())
    assert no_json.status_code == 400 and "JSON" in no_json.get_json()["error"]
    # URLs need no checksum (a client asks ahead of hashing); the checksum goes with the PUT
    ahead = teacher.part_urls(body["id"], [{"number": 1}, {"number": 2, "md5": an_md5}])
    assert ahead.status_code == 200 and sorted(ahead.get_json()["urls"]) == ["1", "2"]


def test_a_part_sent_without_its_checksum_does_not_count(uapp, teacher, lesson_id, storage_keys):
    """The upload is declared SHA-256, so a part without x-amz-checksum-sha256 is refused; it is sent again."""
    data = fake_pdf(11 * MIB, seed=9)
    body = teacher.start(lesson_id, "courseware", "课件.pdf", len(data)).get_json()
    teacher.send_parts(body, data, numbers=[2, 3])
    url = teacher.part_urls(body["id"], [{"number": 1}]).get_json()["urls"]["1"]
    unchecked = put_part(url, data[:PART], checksum=None)
    assert unchecked.status == 400, unchecked.data  # not stored (before uploads were declared SHA-256: unchecked)
    assert teacher.status(body["id"]).get_json()["parts"] == [2, 3]
    refused = teacher.complete(body["id"])
    assert refused.status_code == 409 and refused.get_json()["missing"] == [1]
    teacher.send_parts(body, data, numbers=[1])  # again, with its checksum
    assert teacher.status(body["id"]).get_json()["parts"] == [1, 2, 3]
    assert teacher.complete(body["id"]).status_code == 202
    run_jobs(uapp)
    assert teacher.status(body["id"]).get_json()["sha256"] == sha(data)


def test_two_completes_at_once_join_once_and_verify_once(uapp, teacher, lesson_id, storage_keys):
    """A double click or a client retrying a slow complete: both requests answer, the file is joined once."""
    data = fake_pdf(11 * MIB, seed=4)
    body = teacher.start(lesson_id, "courseware", "课件.pdf", len(data)).get_json()
    teacher.send_parts(body, data)
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda _: teacher.complete(body["id"]), range(2)))
    assert sorted(a.status_code for a in answers) == [200, 202], [a.get_json() for a in answers]
    assert [a.get_json()["status"] for a in answers] == ["verifying", "verifying"]
    assert run_jobs(uapp) == 1
    state = teacher.status(body["id"]).get_json()
    assert state["status"] == "ready" and state["sha256"] == sha(data)
    assert storage_keys() == [_row(uapp, body["id"]).object_key] and _incomplete(uapp) == []


def test_a_new_upload_of_a_part_replaces_the_old_file_and_its_object(uapp, teacher, lesson_id, storage_keys):
    first, second = fake_pdf(300_000, seed=1), fake_pdf(200_000, seed=2)
    old = teacher.upload(lesson_id, "courseware", "课件第一版.pdf", first).get_json()
    old_key = _row(uapp, old["id"]).object_key
    new = teacher.upload(lesson_id, "courseware", "课件第二版.pdf", second).get_json()
    assert new["status"] == "ready"
    assert _row(uapp, old["id"]) is None
    new_key = _row(uapp, new["id"]).object_key
    assert storage_keys() == [new_key] and new_key != old_key


def test_start_reports_json_errors_for_bad_requests(uapp, teacher, lesson_id, storage_keys):
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
    for path in (f"/api/uploads/{file_id}/part-urls", f"/api/uploads/{file_id}/complete",
                 f"/api/uploads/{file_id}/retry"):
        refused = teacher.client.post(path, json={"parts": [{"number": 1, "sha256": sha256_b64(b"0123456789")}]})
        assert refused.status_code == 400 and "error" in refused.get_json()
    assert teacher.client.delete(f"/api/uploads/{file_id}").status_code == 400
    assert storage_keys() == [] and _row(uapp, file_id).status == "uploading"


def test_a_completed_upload_takes_no_more_part_urls(uapp, teacher, lesson_id):
    data = fake_pdf(100_000)
    body = teacher.start(lesson_id, "exercises", "练习.pdf", len(data)).get_json()
    teacher.send_parts(body, data)
    assert teacher.complete(body["id"]).status_code == 202
    late = teacher.part_urls(body["id"], [{"number": 1, "sha256": sha256_b64(data)}])
    assert late.status_code == 409 and "不能再修改" in late.get_json()["error"]


def test_part_urls_are_signed_for_the_public_minio_endpoint_browsers_reach(make_app, world, minio_server):
    """Behind a proxy MinIO has another name for browsers: the part URL carries it, and MinIO accepts the PUT."""
    from urllib.parse import urlsplit

    from tests.fixtures.lessons import make_lesson
    from tests.fixtures.people import give_login, signed_in

    port = minio_server["endpoint"].rsplit(":", 1)[1]
    app = make_app(env={"LEARNSPACE_MINIO_PUBLIC_ENDPOINT": f"http://localhost:{port}"})
    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"])
    teacher = Uploader(signed_in(app, give_login(app, world.people["teacher_a1"])))
    data = fake_pdf(300_000, seed=12)
    body = teacher.start(lesson_id, "exercises", "练习.pdf", len(data)).get_json()
    url = teacher.part_urls(body["id"], [{"number": 1, "sha256": sha256_b64(data)}]).get_json()["urls"]["1"]
    assert urlsplit(url).netloc == f"localhost:{port}"
    assert put_part(url, data).status == 200
    assert teacher.status(body["id"]).get_json()["parts"] == [1]
    assert f"connect-src 'self' http://localhost:{port}" in teacher.client.get("/space").headers[
        "Content-Security-Policy"]
