"""What the upload refuses, by content and by limits, and that a refusal leaves nothing behind."""
from __future__ import annotations

from sqlalchemy import select

from tests.fixtures.lessons import make_lesson
from tests.fixtures.people import give_login, signed_in
from tests.lessons.uploads.conftest import MIB, PART, Uploader, fake_pdf, office_file, run_jobs, sha256_b64

ELF = b"\x7fELF\x02\x01\x01\x00" + bytes(200_000)
EXE = b"MZ\x90\x00\x03\x00\x00\x00" + bytes(11 * MIB)


def _status(app, file_id):
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile

    with app.app_context():
        file = db.session.get(LessonFile, file_id)
        return (file.status, file.failure_reason) if file else None


def test_a_renamed_windows_program_is_refused_by_the_worker_and_nothing_is_left(uapp, teacher, lesson_id,
                                                                               storage_keys):
    answer = teacher.upload(lesson_id, "courseware", "第三单元课件.pptx", EXE, verify=False)
    assert answer.status_code == 202 and answer.get_json()["status"] == "verifying"
    assert len(storage_keys()) == 1  # joined, not yet looked at
    run_jobs(uapp)
    state = teacher.status(answer.get_json()["id"]).get_json()
    assert state["status"] == "failed"
    assert state["failure_reason"] == "该文件实际是可执行程序（Windows EXE/DLL 程序），不能作为课件上传。"
    assert storage_keys() == []
    again = teacher.complete(answer.get_json()["id"])
    assert again.status_code == 409 and "已失败" in again.get_json()["error"]


def test_a_renamed_linux_program_is_refused_as_a_lesson_plan(uapp, teacher, lesson_id, storage_keys):
    response = teacher.upload(lesson_id, "lesson_plan", "教学设计.pdf", ELF).get_json()
    assert response["status"] == "failed" and "不能作为教学设计上传" in response["failure_reason"]
    assert storage_keys() == []


def test_an_exe_name_is_refused_before_any_byte_is_sent(uapp, teacher, lesson_id, storage_keys):
    response = teacher.start(lesson_id, "courseware", "setup.exe", 1000)
    assert response.status_code == 400
    assert response.get_json()["error"] == "课件只接受 PDF、DOCX、PPTX、XLSX 文件，“setup.exe”扩展名为 .exe。"
    video_as_plan = teacher.start(lesson_id, "lesson_plan", "课堂实录.mp4", 1000)
    assert video_as_plan.status_code == 400 and "教学设计只接受" in video_as_plan.get_json()["error"]


def _refusal(answer) -> str:
    body = answer.get_json()
    assert answer.status_code == 200 and body["status"] == "failed", body
    return body["failure_reason"]


def test_bytes_that_do_not_match_the_declared_type_are_refused(uapp, teacher, lesson_id, storage_keys):
    pdf_named_docx = teacher.upload(lesson_id, "lesson_plan", "教学设计.docx", fake_pdf(100_000))
    assert "文件内容是PDF 文档，与扩展名 .docx 不符" in _refusal(pdf_named_docx)
    pdf_as_recording = teacher.upload(lesson_id, "recording", "课堂实录.mp4", fake_pdf(100_000))
    assert "课堂实录只接受 MP4、WebM" in _refusal(pdf_as_recording)
    assert storage_keys() == []


def test_an_office_file_of_the_wrong_kind_is_caught_in_its_zip_directory(uapp, teacher, lesson_id, storage_keys):
    # 6 MiB of media first, [Content_Types].xml and ppt/ last: only the central directory tells.
    pptx = office_file("ppt/", padding=6 * MIB, content_types_first=False)
    assert len(pptx) > PART
    refused = teacher.upload(lesson_id, "lesson_plan", "教学设计.docx", pptx)
    assert "PowerPoint 演示文稿（PPTX），与扩展名 .docx 不符" in _refusal(refused)
    assert storage_keys() == []


def test_an_office_file_whose_first_entries_show_its_kind_is_refused(uapp, teacher, lesson_id, storage_keys):
    xlsx = office_file("xl/", padding=6 * MIB, padding_name="xl/media/image1.png")
    refused = teacher.upload(lesson_id, "lesson_plan", "教学设计.pptx", xlsx)
    assert "Excel 表格（XLSX），与扩展名 .pptx 不符" in _refusal(refused)
    assert storage_keys() == []


def test_office_documents_of_the_right_kind_are_accepted(uapp, teacher, lesson_id, storage_keys):
    for kind, name, folder, mime in [("lesson_plan", "教学设计.docx", "word/", "wordprocessingml"),
                                     ("courseware", "课件.pptx", "ppt/", "presentationml"),
                                     ("exercises", "练习.xlsx", "xl/", "spreadsheetml")]:
        response = teacher.upload(lesson_id, kind, name, office_file(folder, padding=1000))
        assert response.get_json()["status"] == "ready", response.get_json()
        assert mime in response.get_json()["content_type"]
    assert len(storage_keys("lessons/")) == 3


def test_a_zip_that_is_no_office_document_is_refused(uapp, teacher, lesson_id, storage_keys):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("试卷/第一题.txt", "1+1=?")
    response = teacher.upload(lesson_id, "exercises", "练习.docx", buffer.getvalue())
    assert "不是 Word、PowerPoint 或 Excel 文档" in _refusal(response)
    assert storage_keys() == []


def test_subtitles_must_be_webvtt(uapp, teacher, lesson_id, storage_keys):
    good = "WEBVTT\n\n00:00.000 --> 00:02.000\n同学们好\n".encode()
    assert teacher.upload(lesson_id, "subtitles", "字幕.vtt", good).get_json()["content_type"] == "text/vtt"
    srt = "1\n00:00:00,000 --> 00:00:02,000\n同学们好\n".encode()
    refused = teacher.upload(lesson_id, "subtitles", "字幕.vtt", srt)
    assert "无法识别" in _refusal(refused)
    gbk = "WEBVTT\n\n00:00.000 --> 00:02.000\n同学们好\n".encode("gbk")
    assert "UTF-8" in _refusal(teacher.upload(lesson_id, "subtitles", "字幕.vtt", gbk))
    assert len(storage_keys()) == 1


def test_an_empty_file_is_refused(uapp, teacher, lesson_id, storage_keys):
    response = teacher.start(lesson_id, "courseware", "课件.pdf", 0)
    assert response.status_code == 400 and "空的" in response.get_json()["error"]


def test_files_over_the_configured_limit_are_refused_with_413(make_app, world, storage_keys):
    app = make_app(env={"LEARNSPACE_RECORDING_MAX_BYTES": str(20 * MIB),
                        "LEARNSPACE_DOCUMENT_MAX_BYTES": str(1 * MIB)})
    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"])
    teacher = Uploader(signed_in(app, give_login(app, world.people["teacher_a1"])))
    video = teacher.start(lesson_id, "recording", "课堂实录.mp4", 20 * MIB + 1)
    assert video.status_code == 413 and video.get_json()["error"] == "文件大小 20 MB 超过了课堂实录的上限 20 MB。"
    document = teacher.start(lesson_id, "courseware", "课件.pptx", 1 * MIB + 1)
    assert document.status_code == 413 and "课件的上限 1 MB" in document.get_json()["error"]
    assert teacher.start(lesson_id, "courseware", "课件.pptx", 1 * MIB).status_code == 201


def test_the_space_quota_counts_ready_verifying_and_unfinished_uploads(make_app, world, storage_keys):
    app = make_app(env={"LEARNSPACE_SPACE_QUOTA_BYTES": str(1 * MIB)})
    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"])
    teacher = Uploader(signed_in(app, give_login(app, world.people["teacher_a1"])))
    assert teacher.upload(lesson_id, "courseware", "课件.pdf", fake_pdf(500_000)).get_json()["status"] == "ready"
    waiting = teacher.upload(lesson_id, "lesson_plan", "教学设计.pdf", fake_pdf(200_000), verify=False)
    assert waiting.get_json()["status"] == "verifying"  # not yet verified: counts
    assert teacher.start(lesson_id, "exercises", "练习.pdf", 200_000).status_code == 201  # unfinished: counts
    full = teacher.start(lesson_id, "subtitles", "字幕.vtt", 200_000)
    assert full.status_code == 507 and "空间容量不足" in full.get_json()["error"]
    assert "已用 878.9 KB" in full.get_json()["error"]  # 500,000 + 200,000 + 200,000 bytes
    with app.app_context():  # refused before MinIO heard of it: no multipart upload left behind
        from learnspace.storage import get_storage

        assert len(get_storage().list_incomplete_uploads()) == 1

    # The space's own quota overrides the default.
    from learnspace.extensions import db
    from learnspace.spaces.models import Space

    with app.app_context():
        space = db.session.scalar(select(Space).where(Space.owner_id == world.people["teacher_a1"]))
        space.quota_bytes = 2 * MIB
        db.session.commit()
    assert teacher.start(lesson_id, "subtitles", "字幕.vtt", 200_000).status_code == 201


def test_only_the_lessons_teacher_may_upload_others_get_404(uapp, world, teacher, lesson_id, storage_keys):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    with uapp.app_context():
        colleague = User(role="teacher", real_name="赵老师", school_id=db.session.get(User, world.people["teacher_a1"]).school_id,
                         teacher_number="T4301020001002")
        db.session.add(colleague)
        db.session.commit()
        colleague_id = colleague.id
    file_id = teacher.start(lesson_id, "courseware", "课件.pdf", 1000).get_json()["id"]
    data = fake_pdf(1000)
    for person in (colleague_id, world.people["student_a1"], world.people["student_b1"]):
        other = Uploader(signed_in(uapp, give_login(uapp, person)))
        assert other.start(lesson_id, "courseware", "课件.pdf", 1000).status_code == 404
        assert other.status(file_id).status_code == 404
        assert other.part_urls(file_id, [{"number": 1, "sha256": sha256_b64(data)}]).status_code == 404
        assert other.complete(file_id).status_code == 404
        assert other.retry(file_id).status_code == 404
        assert other.delete(file_id).status_code == 404
    anonymous = uapp.test_client()
    assert anonymous.get(f"/api/uploads/{file_id}").status_code == 401
    assert storage_keys() == []
    assert teacher.status(file_id).get_json()["status"] == "uploading"


def test_a_recording_that_is_a_real_mp4_gets_its_media_facts(uapp, teacher, lesson_id, media_files, storage_keys):
    data = media_files.path("eligible").read_bytes()
    response = teacher.upload(lesson_id, "recording", "课堂实录.mp4", data)
    body = response.get_json()
    assert body["status"] == "ready", body
    assert (body["width"], body["height"], body["video_codec"], body["audio_codec"]) == (720, 576, "h264", "aac")
    assert body["is_showcase_eligible"] is True
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile

    with uapp.app_context():
        row = db.session.get(LessonFile, body["id"])
        keys = sorted([row.object_key, row.poster_key])
    assert keys[1].startswith(f"lessons/{lesson_id}/posters/")
    assert storage_keys() == keys  # the recording and its poster, nothing else
