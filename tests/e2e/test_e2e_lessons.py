"""A teacher makes a complete lesson in the browser; a student of her school watches it on a phone.

The teacher picks the textbook section with the cascading selects (the shipped catalogue), uploads a real
H.264/AAC recording through upload.js in 8 MiB parts straight to MinIO (presigned URLs, each part's SHA-256
in x-amz-checksum-sha256), loses the network to MinIO half way, reloads the page and resumes with the same
file (only the missing parts are sent again), watches the server check it (校验中 → 处理中 → 完成, the background jobs held
and run one at a time by the test), adds the three documents, and publishes. A student of the same school
opens the lesson on a phone; the video loads, seeks and plays.
"""
from __future__ import annotations

import base64
import hashlib
import io
import re
import shutil
import subprocess
import zipfile
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import expect

from tests.fixtures.lessons import make_lesson
from tests.fixtures.media import make_pdf
from tests.fixtures.people import give_login

from .harness import PHONE, origin, sign_in

pytestmark = pytest.mark.e2e

TITLE = "秒的认识（第一课时）"
#: generous: the worker joins the parts in MinIO, hashes the file and runs ffprobe/ffmpeg
COMPLETE_MS = 60_000
PART = 8 * 1024 * 1024


def recording(path) -> bytes:
    """A 6-second 720×576 H.264/AAC MP4 of about 24 MB (noise keeps it big), so it takes 3 parts of 8 MiB."""
    if shutil.which("ffmpeg") is None:
        pytest.fail("ffmpeg is not installed (Debian: apt-get install ffmpeg; scripts/test does it)", pytrace=False)
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y",
                    "-f", "lavfi", "-i", "testsrc2=size=720x576:rate=25:duration=6",
                    "-f", "lavfi", "-i", "sine=frequency=440:duration=6", "-vf", "noise=alls=60:allf=t",
                    "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
                    "-b:v", "30M", "-maxrate", "30M", "-bufsize", "30M", "-c:a", "aac", "-shortest",
                    "-movflags", "+faststart", str(path)], check=True, timeout=120)
    return path.read_bytes()


def office_document(path, folder: str, main: str):
    """A minimal OOXML package (DOCX: word/document.xml, PPTX: ppt/presentation.xml)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as package:
        package.writestr("[Content_Types].xml",
                         '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                         'package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/>'
                         '</Types>')
        package.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://'
                                        'schemas.openxmlformats.org/package/2006/relationships"/>')
        package.writestr(f"{folder}/{main}", '<?xml version="1.0" encoding="UTF-8"?><document/>')
    path.write_bytes(buffer.getvalue())
    return path


@pytest.fixture
def shipped_catalogue(app):
    from learnspace.catalog import operations as catalog
    from learnspace.extensions import db

    with app.app_context():
        catalog.load_shipped_catalogue()
        db.session.commit()


def assert_fits(visit, page=None) -> None:
    size = visit.overflow(page)
    assert size["scrollWidth"] <= size["innerWidth"], f"page too wide on a phone: {size}"


def part(page, kind: str):
    return page.locator(f"#part-{kind}")


def part_number(url: str) -> int | None:
    """The part number of a presigned part PUT (``...?partNumber=2&uploadId=...``)."""
    numbers = parse_qs(urlsplit(url).query).get("partNumber")
    return int(numbers[0]) if numbers else None


def stage(part_locator):
    return part_locator.locator("[data-stage]")


def check_only(app) -> None:
    """Run the worker's first step (size, type, SHA-256) on the one file being verified; its job stays queued.

    The same code the job runs (learnspace.lessons.verification), stopped between its two steps as a worker
    that died there would leave it: the page then shows "处理中" until the job runs.
    """
    from sqlalchemy import select

    from learnspace.extensions import db
    from learnspace.lessons import verification
    from learnspace.lessons.models import LessonFile

    with app.app_context():
        file_id = db.session.scalars(select(LessonFile.id).where(LessonFile.status == "verifying")).one()
        plan = verification.read_plan(file_id, None)
        db.session.commit()
        assert verification.apply_verdict(plan, verification.check_object(plan)) is not None, "not a recording?"
        db.session.commit()
        db.session.remove()


def expire_unfinished(app) -> None:
    """Drop the one unfinished upload's multipart upload in MinIO, as the 24-hour expiry rule would."""
    from sqlalchemy import select

    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile
    from learnspace.storage import get_storage

    with app.app_context():
        file = db.session.scalars(select(LessonFile).where(LessonFile.status == "uploading")).one()
        get_storage().abort_incomplete_upload(file.object_key, file.upload_id)
        db.session.remove()


def upload_and_wait(page, kind: str, path) -> None:
    """Choose a file for one part and wait until the part is re-drawn as uploaded."""
    part(page, kind).locator('input[type="file"]').set_input_files(str(path))
    expect(part(page, kind).locator(".tag.ok")).to_have_text("已上传", timeout=COMPLETE_MS)
    expect(part(page, kind).locator(".upload-message")).to_contain_text("上传成功")


def test_teacher_uploads_a_complete_lesson_and_a_student_watches_it(app, world, shipped_catalogue, open_browser,
                                                                    minio_server, job_runner, tmp_path):
    teacher_login = give_login(app, world.people["teacher_a1"])
    student_login = give_login(app, world.people["student_a1"])
    video = tmp_path / "秒的认识-课堂实录.mp4"
    video_size = len(recording(video))
    assert video_size > 2 * PART  # three parts
    plan = make_pdf(tmp_path / "教学设计.pdf", "Lesson plan")
    slides = office_document(tmp_path / "课件.pptx", "ppt", "presentation.xml")
    exercises = office_document(tmp_path / "评测练习.docx", "word", "document.xml")

    # --- the teacher creates the lesson on a section of the catalogue ---------------------------------
    store = f"http://{minio_server['endpoint']}"
    minio = (store,)  # parts are PUT there; presigned playback URLs point the <video> there
    teacher = open_browser(allow=minio)
    page = sign_in(teacher, teacher_login, "Passw0rd-test")
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page?" while an upload runs
    page.get_by_role("link", name="新建课程").click()
    expect(page.get_by_role("heading", name="新建课程")).to_be_visible()
    page.get_by_label("课程标题").fill(TITLE)
    for label, choice in [("学段", "小学"), ("学科", "数学"), ("教材版本", "人教版"), ("册次", "三年级上册"),
                          ("章", "1 时、分、秒"), ("节", "秒的认识")]:
        select = page.get_by_label(label, exact=True)
        expect(select).to_be_visible()  # appears once its parent is chosen (GET /api/catalog/children)
        select.select_option(label=choice)
    expect(page.locator(".node-next")).to_be_hidden()  # the no-JavaScript button is not needed
    page.get_by_label("课型").select_option("新授课")
    page.get_by_label("课程简介").fill("认识时间单位“秒”，体会 1 分 = 60 秒。")
    teacher.shot("new-lesson")
    with page.expect_navigation():
        page.get_by_role("button", name="创建课程").click()
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(page.locator(".crumbs")).to_have_text("小学 › 数学 › 人教版 › 三年级上册 › 1 时、分、秒 › 秒的认识")
    expect(page.locator("#lesson-summary")).to_contain_text("0/4")
    expect(page.get_by_role("button", name="发布课程")).to_be_disabled()
    teacher.shot("lesson-created")
    # The page is a secure context (127.0.0.1), so parts are hashed by the browser's own SHA-256; hash-wasm
    # also runs here (the page's CSP allows WebAssembly, and nothing more than that), and the plain-JavaScript
    # SHA-256 agrees with both and with Python's for sizes around the padding's edges and over a MiB.
    assert page.evaluate("() => LearnSpaceChecksum.engine()") == "subtle"
    sizes = [0, 1, 55, 56, 63, 64, 65, 1000, 1048576 + 77]
    digests = page.evaluate("""async (sizes) => {
        const out = [];
        for (const size of sizes) {
            const bytes = new Uint8Array(size);
            for (let i = 0; i < size; i++) bytes[i] = (i * 7919 + (i >> 9)) & 255;
            const found = [await LearnSpaceChecksum.base64(new Blob([bytes]))];
            for (const engine of ["subtle", "wasm", "js"]) found.push(await LearnSpaceChecksum.using(engine, bytes));
            out.push(found);
        }
        return out;
    }""", sizes)
    for size, found in zip(sizes, digests):
        expected = base64.b64encode(hashlib.sha256(bytes((i * 7919 + (i >> 9)) & 255 for i in range(size)))
                                    .digest()).decode()
        assert found == [expected] * 4, (size, expected, found)
    # On plain http (no crypto.subtle) the same page hashes with hash-wasm.
    lan = teacher.context.new_page()
    lan.add_init_script("Object.defineProperty(window.crypto, 'subtle', {value: undefined});")
    lan.goto(page.url)
    assert lan.evaluate("async () => [await LearnSpaceChecksum.engine(), window.crypto.subtle === undefined]") == [
        "wasm", True]
    lan.close()
    csp = page.request.get(page.url).headers["content-security-policy"]
    assert "script-src 'self' 'wasm-unsafe-eval';" in csp and "'unsafe-eval'" not in csp.replace("'wasm-unsafe-eval'", "")

    # --- the recording: part 1 arrives corrupted once, parts 2 and 3 cannot reach MinIO, the page is reloaded,
    # the upload resumes ------------------------------------------------------------------------------------
    part_puts: list[int] = []
    answers: list[tuple[int, int]] = []
    refusals: list[str] = []  # MinIO's answers to the parts it refused
    page.on("request", lambda r: part_puts.append(part_number(r.url))
            if r.method == "PUT" and origin(r.url) == store else None)
    page.on("response", lambda r: answers.append((part_number(r.url), r.status))
            if r.request.method == "PUT" and origin(r.url) == store else None)
    page.on("response", lambda r: refusals.append(r.text())
            if r.request.method == "PUT" and origin(r.url) == store and r.status == 400 else None)

    def to_store(url: str) -> bool:
        return origin(url) == store

    def cut_or_corrupt(route) -> None:
        number = part_number(route.request.url)
        if route.request.method != "PUT":
            route.continue_()
        elif number in (2, 3):
            route.abort("internetdisconnected")
        elif number == 1 and (1, 400) not in answers:  # one byte flipped on the way: MinIO's SHA-256 check fails
            body = bytearray(route.request.post_data_buffer)
            body[len(body) // 2] ^= 0xFF
            route.continue_(post_data=bytes(body))
        else:
            route.continue_()

    page.route(to_store, cut_or_corrupt)
    recording_part = part(page, "recording")
    with page.expect_response(lambda r: r.request.method == "PUT" and origin(r.url) == store
                              and part_number(r.url) == 1 and r.status == 200, timeout=30_000) as first:
        recording_part.locator('input[type="file"]').set_input_files(str(video))
    # MinIO checked the part against its SHA-256, as the browser computed it from the file
    sent_checksum = first.value.request.all_headers()["x-amz-checksum-sha256"]
    assert sent_checksum == base64.b64encode(hashlib.sha256(video.read_bytes()[:PART]).digest()).decode()
    assert {2, 3} <= set(part_puts), part_puts  # in flight alongside part 1, not after it
    assert (1, 400) in answers and answers.index((1, 400)) < answers.index((1, 200)), answers  # refused, resent
    assert refusals and "<Code>XAmzContentChecksumMismatch</Code>" in refusals[0], refusals
    expect(recording_part.locator(".upload-message")).to_contain_text("秒后自动重试", timeout=15_000)
    bar = recording_part.get_by_role("progressbar")
    expect(bar).to_be_visible()
    assert 30 <= int(bar.get_attribute("aria-valuenow")) < 100
    expect(stage(recording_part)).to_have_text("上传中")
    expect(recording_part.locator("[data-bytes]")).to_contain_text(f" / {video_size / 1024 / 1024:.1f} MB")
    teacher.shot("upload-interrupted")

    page.reload()
    page.unroute(to_store)
    expect(recording_part.locator(".part-note")).to_contain_text("有一个未完成的上传：秒的认识-课堂实录.mp4")
    expect(recording_part.locator(".part-note")).to_contain_text("共 3 段")
    teacher.shot("upload-unfinished-after-reload")
    sent_before = len(part_puts)
    # A school line: uploads at 3 MiB/s, so the status line shows speed and time left on the way.
    network = teacher.context.new_cdp_session(page)
    network.send("Network.emulateNetworkConditions", {"offline": False, "latency": 20, "downloadThroughput": -1,
                                                      "uploadThroughput": 3 * 1024 * 1024})
    with job_runner.held():  # the server checks the file only when the test says so
        recording_part.locator('input[type="file"]').set_input_files(str(video))
        expect(recording_part.locator(".upload-message")).to_contain_text("找到未完成的上传，从中断处继续（服务器已有 8.0 MB）")
        expect(recording_part.locator("[data-eta]")).to_contain_text("剩余约")
        expect(recording_part.locator("[data-speed]")).to_contain_text(re.compile(r"^\d+(\.\d)? (MB|KB)/秒$"))
        expect(stage(recording_part)).to_have_text("上传中")
        teacher.shot("upload-resuming")
        expect(recording_part.locator(".upload-message")).to_contain_text("服务器正在校验", timeout=COMPLETE_MS)
        network.send("Network.emulateNetworkConditions", {"offline": False, "latency": 0, "downloadThroughput": -1,
                                                          "uploadThroughput": -1})
        expect(stage(recording_part)).to_have_text("校验中")
        expect(recording_part.locator(".part-note")).to_be_hidden()  # "有一个未完成的上传" is no longer true
        resumed = part_puts[sent_before:]
        assert sorted(resumed) == [2, 3], resumed  # part 1 was not sent again
        expect(bar).to_have_attribute("aria-valuenow", "100")
        teacher.shot("upload-verifying")
        check_only(app)  # the worker's first step (SHA-256, type): the file waits in "processing"
        expect(stage(recording_part)).to_have_text("处理中", timeout=15_000)
        expect(recording_part.locator(".upload-message")).to_contain_text("生成封面")
        teacher.shot("upload-processing")
    expect(recording_part.locator(".tag.ok")).to_have_text("已上传", timeout=COMPLETE_MS)
    expect(recording_part.locator(".upload-message")).to_contain_text("上传成功")
    expect(recording_part).to_contain_text("720×576")
    expect(recording_part).to_contain_text("符合晒课技术要求")
    expect(page.locator("#lesson-player video.player")).to_be_attached()
    expect(page.get_by_role("button", name="发布课程")).to_be_enabled()
    teacher.shot("upload-done")
    assert page.evaluate("() => Object.keys(localStorage).filter(k => k.startsWith('learnspace-upload:'))") == []

    # --- the three documents -----------------------------------------------------------------------------
    upload_and_wait(page, "lesson_plan", plan)
    upload_and_wait(page, "courseware", slides)
    upload_and_wait(page, "exercises", exercises)
    expect(page.locator("#lesson-summary")).to_contain_text("四项材料已齐全")
    expect(page.locator("#lesson-summary")).to_contain_text("4/4")
    teacher.shot("lesson-complete")

    with page.expect_navigation():
        page.get_by_role("button", name="发布课程").click()
    expect(page.get_by_role("status")).to_contain_text("课程已发布。")
    expect(page.locator(".lesson-head .tag")).to_have_text("已发布")
    teacher.shot("lesson-published")
    page.get_by_role("link", name="我的空间").click()
    mine = page.locator("#lessons")
    expect(mine.get_by_role("heading", level=2)).to_have_text("我的课程（1）")
    expect(mine.get_by_role("link", name=TITLE)).to_be_visible()
    # The lesson's completeness badge (the subject group above it says "1 节四项齐全").
    expect(mine.locator(".tag.ok[title]")).to_have_text("四项齐全")
    teacher.shot("space-with-lesson")

    # --- a student of the same school watches it on a phone, with seeking --------------------------------
    student = open_browser(PHONE, allow=minio)
    spage = sign_in(student, student_login, "Passw0rd-test")
    spage.get_by_role("link", name="课程", exact=True).click()
    spage.get_by_role("link", name=TITLE).click()
    expect(spage.get_by_role("heading", name=TITLE)).to_be_visible()
    expect(spage.locator("[data-uploader]")).to_have_count(0)
    spage.wait_for_function("() => document.querySelector('video.player').readyState >= 1", timeout=20_000)
    seeked = spage.evaluate("""() => new Promise((resolve, reject) => {
        const video = document.querySelector('video.player');
        const timer = setTimeout(() => reject(new Error('no seeked event')), 15000);
        video.addEventListener('seeked', () => {
          clearTimeout(timer);
          resolve({time: video.currentTime, duration: video.duration, ready: video.readyState});
        }, {once: true});
        video.currentTime = 4;
    })""")
    assert abs(seeked["time"] - 4) < 0.2 and 5.5 < seeked["duration"] < 6.5 and seeked["ready"] >= 1, seeked
    spage.evaluate("() => { const v = document.querySelector('video.player'); v.muted = true; return v.play(); }")
    spage.wait_for_function("() => document.querySelector('video.player').currentTime > 4.3", timeout=15_000)
    assert_fits(student)
    student.shot("student-watches")
    for name in ("教学设计.pdf", "课件.pptx", "评测练习.docx"):
        expect(spage.get_by_role("link", name=name)).to_be_visible()


def test_lesson_form_and_page_fit_a_phone(app, world, shipped_catalogue, open_browser, minio_server, job_runner,
                                          tmp_path):
    """On an old phone on plain http: the form shows its errors; the lesson page fits; a refused file, an expired
    upload and a cancelled one say so."""
    store = f"http://{minio_server['endpoint']}"
    teacher = open_browser(PHONE, allow=(store,))
    # No crypto.subtle (plain http on a school LAN) and no WebAssembly: part-checksum.js hashes in plain JS.
    teacher.context.add_init_script("Object.defineProperty(window.crypto, 'subtle', {value: undefined});"
                                    " delete window.WebAssembly;")
    page = sign_in(teacher, give_login(app, world.people["teacher_a1"]), "Passw0rd-test")
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page?" while an upload runs
    page.goto("/lessons/new")
    page.get_by_label("学段", exact=True).select_option(label="初中")
    page.get_by_label("学科", exact=True).select_option(label="数学")
    expect(page.get_by_label("教材版本", exact=True)).to_be_visible()
    with page.expect_navigation():
        page.get_by_role("button", name="创建课程").click()
    expect(page.get_by_text("请填写课程标题")).to_be_visible()
    expect(page.locator("#node-error")).to_contain_text("请一直选到“章”或“节”这一级")
    expect(page.get_by_label("学科", exact=True)).to_have_value(re.compile(r"\d+"))  # the choice is kept
    assert_fits(teacher)
    teacher.shot("new-lesson-errors")

    page.get_by_label("课程标题").fill("有理数的加法")
    for label, choice in [("教材版本", "人教版"), ("册次", "七年级上册")]:
        page.get_by_label(label, exact=True).select_option(label=choice)
    chapter = page.get_by_label("章", exact=True)
    expect(chapter).to_be_visible()
    chapter.select_option(index=1)
    with page.expect_navigation():
        page.get_by_role("button", name="创建课程").click()
    expect(page.get_by_role("heading", name="有理数的加法")).to_be_visible()
    expect(page.locator("[data-uploader]")).to_have_count(5)
    assert page.evaluate("async () => [await LearnSpaceChecksum.engine(), window.crypto.subtle === undefined]") == [
        "js", True]
    assert_fits(teacher)
    teacher.shot("lesson-page")

    # A file whose bytes are not what its name says reaches MinIO, and the worker refuses it with a Chinese reason.
    fake = tmp_path / "教学设计.pdf"
    fake.write_bytes(b"MZ\x90\x00 this is a Windows program, not a PDF" + bytes(2000))
    plan = part(page, "lesson_plan")
    plan.locator('input[type="file"]').set_input_files(str(fake))
    expect(plan.locator(".upload-message.error")).to_contain_text("未通过检查", timeout=COMPLETE_MS)
    expect(plan.locator(".upload-message.error")).to_contain_text("可执行程序")
    expect(plan.locator(".tag.miss")).to_be_visible()
    assert_fits(teacher)
    teacher.shot("upload-refused")
    page.reload()  # the page says so too, drawn by the server
    expect(plan.locator(".part-note.error")).to_contain_text("上次上传的“教学设计.pdf”未通过检查")
    expect(plan.locator(".part-note.error")).to_contain_text("可执行程序")

    def blocked(url: str) -> bool:
        return origin(url) == store

    # An unfinished upload whose parts MinIO dropped (its 24-hour expiry) starts again cleanly, saying why.
    page.route(blocked, lambda route: route.abort("internetdisconnected"))
    good = make_pdf(tmp_path / "教学设计（定稿）.pdf")
    plan.locator('input[type="file"]').set_input_files(str(good))
    expect(plan.locator(".upload-message")).to_contain_text("秒后自动重试", timeout=15_000)
    page.reload()
    page.unroute(blocked)
    expire_unfinished(app)
    with job_runner.held():
        plan.locator('input[type="file"]').set_input_files(str(good))
        expect(plan.locator(".part-note[data-notice]")).to_contain_text(
            "上次未完成的上传已失效，现已重新开始上传。原因：上传超过 24 小时未完成")
        expect(plan.locator(".upload-message")).to_contain_text("服务器正在校验", timeout=COMPLETE_MS)
        expect(plan.locator(".part-note", has_text="有一个未完成的上传")).to_be_hidden()
        assert_fits(teacher)
        teacher.shot("upload-expired-restarted")
    expect(plan.locator(".tag.ok")).to_have_text("已上传", timeout=COMPLETE_MS)
    expect(plan.locator(".part-file")).to_contain_text("教学设计（定稿）.pdf")
    teacher.shot("upload-done")

    # After eight failed attempts an upload pauses; 继续上传 goes on once the network is back. (The page's clock
    # jumps over the growing pauses: 1, 2, 4 … 30 s.)
    courseware = part(page, "courseware")
    page.route(blocked, lambda route: route.abort("internetdisconnected"))
    page.clock.install()
    courseware.locator('input[type="file"]').set_input_files(
        str(office_document(tmp_path / "课件.pptx", "ppt", "presentation.xml")))
    for failures in range(1, 8):
        expect(courseware.locator(".upload-message")).to_contain_text(f"秒后自动重试（已失败 {failures} 次）")
        page.clock.fast_forward(31_000)
    expect(courseware.locator(".upload-message.error")).to_contain_text("上传暂停：网络连接中断，已重试 7 次")
    expect(stage(courseware)).to_have_text("已暂停")
    resume = courseware.get_by_role("button", name="继续上传")
    expect(resume).to_be_visible()
    assert_fits(teacher)
    teacher.shot("upload-paused")
    page.unroute(blocked)
    resume.click()
    expect(courseware.locator(".tag.ok")).to_have_text("已上传", timeout=COMPLETE_MS)
    expect(courseware.locator(".upload-message")).to_contain_text("课件上传成功：课件.pptx")

    # Cancelling an upload that cannot get through to MinIO removes what the server holds of it.
    page.route(blocked, lambda route: route.abort("internetdisconnected"))
    plan.locator('input[type="file"]').set_input_files(str(make_pdf(tmp_path / "plan.pdf")))
    expect(plan.locator(".upload-message")).to_contain_text("秒后自动重试", timeout=15_000)
    expect(plan.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "0")
    expect(stage(plan)).to_have_text("上传中")
    assert_fits(teacher)
    teacher.shot("upload-retrying")
    plan.get_by_role("button", name="取消上传").click()
    expect(plan.locator(".upload-message")).to_have_text("已取消上传，服务器上的部分内容已删除。")
    expect(plan.get_by_role("progressbar")).to_be_hidden()
    page.unroute(blocked)
    with app.app_context():
        # the refused program's and the expired upload's records, the ready ones; the cancelled one is gone
        assert lesson_files(app) == [("lesson_plan", "failed"), ("lesson_plan", "failed"), ("lesson_plan", "ready"),
                                     ("courseware", "ready")]


def test_storage_down_while_a_file_is_checked_then_the_teacher_retries(app, world, open_browser, minio_server,
                                                                        job_runner, tmp_path):
    """MinIO stops while the worker checks a file: "处理失败，可重试", also after a reload; 重试 finishes it (phone)."""
    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"])
    store, minio = f"http://{minio_server['endpoint']}", minio_server["server"]
    teacher = open_browser(PHONE, allow=(store,))
    page = sign_in(teacher, give_login(app, world.people["teacher_a1"]), "Passw0rd-test")
    page.goto(f"/lessons/{lesson_id}")
    plan = part(page, "lesson_plan")
    try:
        with job_runner.held():
            plan.locator('input[type="file"]').set_input_files(str(make_pdf(tmp_path / "教学设计.pdf")))
            # the server has the file (not only "submitting": MinIO must still join the parts)
            expect(plan.locator(".upload-message")).to_contain_text("服务器正在校验", timeout=COMPLETE_MS)
            minio.kill()
            for _ in range(20):  # every attempt finds the storage down, until the queue gives up
                job_runner.make_due()  # the backoff pauses (15 s, 30 s, …) pass at once
                if not job_runner.run_one():
                    break
            expect(stage(plan)).to_have_text("处理失败", timeout=15_000)
            expect(plan.locator(".upload-message.error")).to_contain_text("处理失败，可重试：存储服务暂时不可用")
            expect(plan.get_by_role("button", name="重试")).to_be_visible()
            assert_fits(teacher)
            teacher.shot("verification-failed")
            page.reload()  # the server draws the same state
            note = plan.locator(".part-note[data-watch]")
            expect(note).to_contain_text("“教学设计.pdf”处理失败，可重试")
            expect(note.get_by_role("button", name="重试")).to_be_visible()
            teacher.shot("verification-failed-after-reload")
            minio.start()
    finally:
        if not minio.is_live():
            minio.start()
    note.get_by_role("button", name="重试").click()
    expect(plan.locator(".tag.ok")).to_have_text("已上传", timeout=COMPLETE_MS)
    expect(plan.locator(".part-file")).to_contain_text("教学设计.pdf")
    expect(page.locator("#lesson-summary")).to_contain_text("1/4")
    teacher.shot("verification-retried")


def lesson_files(app) -> list[tuple[str, str]]:
    from sqlalchemy import select

    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile

    return [(f.kind, f.status) for f in db.session.scalars(select(LessonFile).order_by(LessonFile.id))]
