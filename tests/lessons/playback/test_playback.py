"""Playing and downloading lesson files: presigned MinIO URLs, proxy streaming with Range, access checks."""
from __future__ import annotations

import time
from urllib.parse import quote, urlsplit

import pytest
import requests

from tests.fixtures.lessons import make_lesson
from tests.fixtures.media import store_ready_file
from tests.lessons.playback.conftest import RECORDING, RECORDING_NAME

SIZE = len(RECORDING)
ENCODED_NAME = quote(RECORDING_NAME, safe="")


def fetch(url: str, **headers) -> requests.Response:
    return requests.get(url, headers=headers, timeout=10)


# --- presign mode (the default) ---------------------------------------------------------------

def test_play_redirects_to_a_presigned_url_that_serves_the_bytes(minio_server, recording_id, viewer):
    """A student of the school is sent (302, no-store) to MinIO; the URL returns the object with its type."""
    response = viewer("student_a1").get(f"/files/{recording_id}/play")
    assert response.status_code == 302
    assert response.headers["Cache-Control"] == "no-store"
    location = response.headers["Location"]
    assert location.startswith(f"http://{minio_server['endpoint']}/learnspace-test/lessons/")
    assert "X-Amz-Signature=" in location
    got = fetch(location)
    assert got.status_code == 200 and got.content == RECORDING
    assert got.headers["Content-Type"] == "video/mp4"


def test_presigned_url_answers_range_requests(recording_id, viewer):
    """Seeking works against MinIO itself: a Range request to the presigned URL gets 206 and those bytes."""
    location = viewer("student_a1").get(f"/files/{recording_id}/play").headers["Location"]
    got = fetch(location, Range="bytes=300000-300099")
    assert got.status_code == 206
    assert got.content == RECORDING[300000:300100]
    assert got.headers["Content-Range"] == f"bytes 300000-300099/{SIZE}"


def test_download_url_names_the_file_in_chinese(recording_id, viewer):
    """The presigned download makes MinIO answer with an attachment carrying the original name (RFC 5987)."""
    response = viewer("student_a1").get(f"/files/{recording_id}/download")
    assert response.status_code == 302
    got = fetch(response.headers["Location"])
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=\"")
    assert f"filename*=UTF-8''{ENCODED_NAME}" in disposition
    assert got.content == RECORDING


def test_presigned_url_expires(make_app, recording_id, login_names):
    """With a 2-second lifetime the URL works at once and is refused by MinIO a few seconds later."""
    from tests.fixtures.people import signed_in

    short = make_app({"LEARNSPACE_PRESIGN_SECONDS": "2"})
    location = signed_in(short, login_names["student_a1"]).get(f"/files/{recording_id}/play").headers["Location"]
    assert "X-Amz-Expires=2&" in location or location.endswith("X-Amz-Expires=2")
    assert fetch(location, Range="bytes=0-9").status_code == 206
    time.sleep(3.5)
    expired = fetch(location)
    assert expired.status_code == 403 and b"expired" in expired.content


def test_public_endpoint_is_used_for_browser_urls_and_the_csp(make_app, minio_server, recording_id, login_names):
    """LEARNSPACE_MINIO_PUBLIC_ENDPOINT: URLs are signed for that host (and work there); CSP allows its origin."""
    from tests.fixtures.people import signed_in

    port = minio_server["endpoint"].rsplit(":", 1)[1]
    public = make_app({"LEARNSPACE_MINIO_PUBLIC_ENDPOINT": f"localhost:{port}"})
    response = signed_in(public, login_names["student_a1"]).get(f"/files/{recording_id}/play")
    location = response.headers["Location"]
    assert urlsplit(location).netloc == f"localhost:{port}"
    assert fetch(location, Range="bytes=-10").content == RECORDING[-10:]
    assert f"media-src 'self' blob: http://localhost:{port};" in response.headers["Content-Security-Policy"]


def test_csp_allows_media_from_minio_only_in_presign_mode(app, make_app, minio_server, client):
    """media-src names the MinIO origin in presign mode and not in proxy mode; img-src stays the app's."""
    csp = client.get("/login").headers["Content-Security-Policy"]
    assert f"media-src 'self' blob: http://{minio_server['endpoint']};" in csp
    assert "img-src 'self' data: blob:;" in csp and "script-src 'self';" in csp
    proxy = make_app({"LEARNSPACE_PLAYBACK_MODE": "proxy"})
    proxy_csp = proxy.test_client().get("/login").headers["Content-Security-Policy"]
    assert "media-src 'self' blob:;" in proxy_csp
    # uploads PUT their parts straight to MinIO in either mode
    assert proxy_csp.endswith(f"connect-src 'self' http://{minio_server['endpoint']}")


def test_subtitles_are_served_by_the_app_even_in_presign_mode(app, lesson_id, viewer):
    """A <track> needs same-origin WebVTT, so subtitles never redirect to MinIO."""
    vtt = "WEBVTT\n\n00:00.000 --> 00:02.000\n同学们好\n".encode()
    with app.app_context():
        file_id = store_ready_file(lesson_id, vtt, kind="subtitles", original_name="字幕.vtt",
                                   content_type="text/vtt")
    response = viewer("student_a1").get(f"/files/{file_id}/play")
    assert response.status_code == 200 and response.data == vtt
    assert response.headers["Content-Type"] == "text/vtt; charset=utf-8"


# --- proxy mode ---------------------------------------------------------------------------------

@pytest.fixture
def proxied(make_app, recording_id, login_names):
    """A client of an app in proxy mode, signed in as a student of the lesson's school."""
    from tests.fixtures.people import signed_in

    return signed_in(make_app({"LEARNSPACE_PLAYBACK_MODE": "proxy"}), login_names["student_a1"])


@pytest.mark.parametrize("header, start, end", [
    ("bytes=0-99", 0, 99),
    ("bytes=-100", SIZE - 100, SIZE - 1),
    ("bytes=100-", 100, SIZE - 1),
    ("bytes=599990-700000", 599990, SIZE - 1),
])
def test_proxy_serves_byte_ranges(proxied, recording_id, header, start, end):
    """Range forms a video element uses get 206 with Content-Range, Content-Length and exactly those bytes."""
    response = proxied.get(f"/files/{recording_id}/play", headers={"Range": header})
    assert response.status_code == 206
    assert response.headers["Content-Range"] == f"bytes {start}-{end}/{SIZE}"
    assert response.headers["Content-Length"] == str(end - start + 1)
    assert response.headers["Accept-Ranges"] == "bytes"
    assert response.headers["Content-Type"] == "video/mp4"
    assert response.data == RECORDING[start:end + 1]


def test_proxy_without_range_streams_the_whole_file_in_blocks(proxied, recording_id):
    """No Range: 200 with the full length, delivered as several bounded blocks, never as one buffer."""
    response = proxied.get(f"/files/{recording_id}/play", buffered=False)
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(SIZE)
    assert response.headers["Accept-Ranges"] == "bytes"
    assert "Location" not in response.headers
    blocks = list(response.response)
    response.close()
    assert len(blocks) > 1 and max(len(b) for b in blocks) <= 256 * 1024
    assert b"".join(blocks) == RECORDING


def test_proxy_refuses_unsatisfiable_ranges_with_416(proxied, recording_id):
    """A range starting past the end gets 416 and Content-Range: bytes */size."""
    response = proxied.get(f"/files/{recording_id}/play", headers={"Range": f"bytes={SIZE}-"})
    assert response.status_code == 416
    assert response.headers["Content-Range"] == f"bytes */{SIZE}"
    assert response.data == b""


@pytest.mark.parametrize("headers", [
    {"Range": "bytes=0-1,5-6"},                          # several ranges: the whole file is allowed
    {"Range": "pages=1-2"},                              # unknown unit: ignored
    {"Range": "bytes=0-99", "If-Range": '"changed"'},    # the file changed since: the whole file
])
def test_proxy_answers_other_range_requests_with_the_whole_file(proxied, recording_id, headers):
    response = proxied.get(f"/files/{recording_id}/play", headers=headers)
    assert response.status_code == 200 and response.data == RECORDING


def test_proxy_if_range_with_the_current_etag_keeps_the_range(proxied, recording_id):
    """The ETag is the recorded SHA-256: resuming with If-Range against it still gets 206."""
    etag = proxied.head(f"/files/{recording_id}/play").headers["ETag"]
    response = proxied.get(f"/files/{recording_id}/play", headers={"Range": "bytes=10-19", "If-Range": etag})
    assert response.status_code == 206 and response.data == RECORDING[10:20]


def test_proxy_head_gives_the_length_without_a_body(proxied, recording_id):
    response = proxied.head(f"/files/{recording_id}/play")
    assert response.status_code == 200
    assert response.headers["Content-Length"] == str(SIZE) and response.data == b""


def test_proxy_download_has_the_chinese_name_and_an_ascii_fallback(proxied, recording_id):
    """Content-Disposition: attachment, a plain-ASCII filename= and the UTF-8 filename*= (RFC 6266/5987)."""
    response = proxied.get(f"/files/{recording_id}/download")
    assert response.status_code == 200 and response.data == RECORDING
    disposition = response.headers["Content-Disposition"]
    assert disposition == f"attachment; filename=\"file.mp4\"; filename*=UTF-8''{ENCODED_NAME}"
    inline = proxied.head(f"/files/{recording_id}/play").headers["Content-Disposition"]
    assert inline.startswith("inline; ")


def test_proxy_answers_404_when_the_object_is_gone(app, proxied, recording_id):
    """A ready row whose object vanished is a 404, not a 500 halfway through a stream."""
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile
    from learnspace.storage import get_storage

    with app.app_context():
        get_storage().delete(db.session.get(LessonFile, recording_id).object_key)
    assert proxied.get(f"/files/{recording_id}/play").status_code == 404


# --- who may see what ---------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["play", "download", "poster"])
def test_viewer_outside_the_school_gets_404_and_no_url(recording_id, viewer, client, action):
    """A student of another county and an anonymous visitor get 404 and no Location for a school lesson."""
    for other in (viewer("student_b1"), client):
        response = other.get(f"/files/{recording_id}/{action}")
        assert response.status_code == 404
        assert "Location" not in response.headers
        assert b"X-Amz" not in response.data


def test_draft_lessons_play_only_for_their_teacher(app, world, viewer):
    """A draft: 404 for a student of the same school, 302 for the teacher who made it."""
    with app.app_context():
        draft = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="draft")
        file_id = store_ready_file(draft, RECORDING)
    assert viewer("student_a1").get(f"/files/{file_id}/play").status_code == 404
    assert viewer("teacher_a1").get(f"/files/{file_id}/play").status_code == 302


def test_public_published_lessons_play_for_anonymous_visitors(app, world, client):
    with app.app_context():
        public = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published",
                             visibility="public")
        file_id = store_ready_file(public, RECORDING)
    response = client.get(f"/files/{file_id}/play")
    assert response.status_code == 302 and fetch(response.headers["Location"]).content == RECORDING


def test_file_still_uploading_is_404_even_for_its_teacher(app, lesson_id, viewer):
    with app.app_context():
        file_id = store_ready_file(lesson_id, RECORDING, status="uploading")
    teacher = viewer("teacher_a1")
    for action in ("play", "download"):
        response = teacher.get(f"/files/{file_id}/{action}")
        assert response.status_code == 404 and "Location" not in response.headers


def test_unknown_file_is_404(viewer, world):
    assert viewer("student_a1").get("/files/999999/play").status_code == 404


def test_presigned_url_of_a_long_recording_outlives_its_duration(app, make_app, recording_id, login_names):
    """The URL lives the configured seconds plus the recording's length, so seeking late in a lesson works."""
    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile
    from tests.fixtures.people import signed_in

    with app.app_context():
        db.session.get(LessonFile, recording_id).duration_seconds = 2700.4  # a 45-minute lesson
        db.session.commit()
    short = make_app({"LEARNSPACE_PRESIGN_SECONDS": "60"})
    location = signed_in(short, login_names["student_a1"]).get(f"/files/{recording_id}/play").headers["Location"]
    assert "X-Amz-Expires=2760" in location
