"""ffprobe facts, showcase eligibility and posters of recordings stored in the real MinIO."""
from __future__ import annotations

import json
import logging
import re
import subprocess

import pytest

from tests.fixtures.media import store_ready_file


def inspected(app, lesson_id: int, data: bytes, *, content_type: str = "video/mp4",
              original_name: str = "李老师 第一课.mp4") -> dict:
    """Store *data* as a ready recording, run media.inspect on it, commit, and return the row's facts."""
    from learnspace.extensions import db
    from learnspace.lessons import media
    from learnspace.lessons.models import LessonFile

    with app.app_context():
        file_id = store_ready_file(lesson_id, data, content_type=content_type, original_name=original_name)
        file = db.session.get(LessonFile, file_id)
        assert media.inspect(file) is file
        db.session.commit()
        return {name: getattr(file, name) for name in (
            "id", "duration_seconds", "width", "height", "video_codec", "audio_codec", "poster_key",
            "is_showcase_eligible", "ineligible_reason", "object_key")}


def image_size(jpeg: bytes) -> tuple[int, int]:
    result = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", "-i", "pipe:0"],
                            input=jpeg, capture_output=True, check=True, timeout=30)
    stream = json.loads(result.stdout)["streams"][0]
    return stream["width"], stream["height"]


def stored(app, key: str) -> bytes:
    from learnspace.storage import get_storage

    with app.app_context():
        return get_storage().get_bytes(key)


def test_eligible_mp4_gets_its_facts_and_a_poster(app, lesson_id, media_files, caplog):
    """H.264/AAC MP4 at 720×576: duration, size, codecs read; eligible; a JPEG poster stored under the lesson."""
    caplog.set_level(logging.DEBUG)
    facts = inspected(app, lesson_id, media_files.bytes("eligible"))
    assert facts["duration_seconds"] == pytest.approx(4.0, abs=0.2)
    assert (facts["width"], facts["height"]) == (720, 576)
    assert (facts["video_codec"], facts["audio_codec"]) == ("h264", "aac")
    assert facts["is_showcase_eligible"] is True and facts["ineligible_reason"] is None
    # The poster key is made of the lesson id and a random id, never the teacher's file name.
    assert re.fullmatch(rf"lessons/{lesson_id}/posters/[0-9a-f]{{32}}\.jpg", facts["poster_key"])
    poster = stored(app, facts["poster_key"])
    assert poster[:2] == b"\xff\xd8" and image_size(poster) == (720, 576)
    # No personal data (the file name carries the teacher's name) in what was logged.
    assert all("李老师" not in record.getMessage() for record in caplog.records)


def test_poster_of_a_full_hd_recording_is_scaled_to_1280_wide(app, lesson_id, media_files):
    """A 1920×1080 recording is eligible and its poster is 1280×720."""
    facts = inspected(app, lesson_id, media_files.bytes("full_hd"))
    assert facts["is_showcase_eligible"] is True
    assert image_size(stored(app, facts["poster_key"])) == (1280, 720)


def test_low_resolution_recording_is_kept_but_not_eligible(app, lesson_id, media_files):
    """320×240 H.264/AAC: facts recorded, flagged with the resolution as the only reason."""
    facts = inspected(app, lesson_id, media_files.bytes("low_res"))
    assert (facts["width"], facts["height"]) == (320, 240)
    assert facts["is_showcase_eligible"] is False
    assert facts["ineligible_reason"] == "分辨率 320×240 低于 720×576"
    assert facts["poster_key"] is not None


def test_wrong_codecs_are_named_in_the_reason(app, lesson_id, media_files):
    """MPEG-4 Part 2 video with MP3 audio in MP4: both codecs are named with what they should be."""
    facts = inspected(app, lesson_id, media_files.bytes("wrong_codec"))
    assert (facts["video_codec"], facts["audio_codec"]) == ("mpeg4", "mp3")
    assert facts["is_showcase_eligible"] is False
    assert facts["ineligible_reason"] == "视频编码为 mpeg4，应为 H.264；音频编码为 mp3，应为 AAC"
    assert facts["duration_seconds"] == pytest.approx(2.0, abs=0.2)


def test_webm_is_playable_but_not_eligible_for_its_container(app, lesson_id, media_files):
    """A VP8/Vorbis WebM: facts and poster, not eligible because of container and codecs."""
    facts = inspected(app, lesson_id, media_files.bytes("webm"), content_type="video/webm",
                      original_name="课堂实录.webm")
    assert (facts["width"], facts["height"]) == (720, 576)
    assert (facts["video_codec"], facts["audio_codec"]) == ("vp8", "vorbis")
    assert facts["is_showcase_eligible"] is False
    assert facts["ineligible_reason"] == ("容器格式为 WebM，应为 MP4；视频编码为 vp8，应为 H.264；"
                                          "音频编码为 vorbis，应为 AAC")
    assert stored(app, facts["poster_key"])[:2] == b"\xff\xd8"


def test_corrupt_mp4_is_flagged_unreadable_without_raising(app, lesson_id, media_files):
    """An ftyp header, then random bytes: ffprobe fails, inspect does not; not eligible, no facts or poster."""
    facts = inspected(app, lesson_id, media_files.bytes("corrupt"))
    assert facts["is_showcase_eligible"] is False
    assert facts["ineligible_reason"] == "无法读取视频信息"
    assert facts["duration_seconds"] is None and facts["width"] is None and facts["video_codec"] is None
    assert facts["poster_key"] is None


def test_without_ffmpeg_the_facts_stay_unknown(app, lesson_id, media_files, monkeypatch, tmp_path):
    """ffprobe/ffmpeg not on PATH: eligibility unknown (None) with the reason, nothing raised."""
    monkeypatch.setenv("PATH", str(tmp_path))
    facts = inspected(app, lesson_id, media_files.bytes("eligible"))
    assert facts["is_showcase_eligible"] is None
    assert facts["ineligible_reason"] == "服务器未安装 ffmpeg"
    assert facts["width"] is None and facts["poster_key"] is None


def test_poster_is_served_to_viewers_only(app, lesson_id, media_files, viewer):
    """GET /files/<id>/poster returns the stored JPEG to a student of the school, 404 to another county."""
    facts = inspected(app, lesson_id, media_files.bytes("low_res"))
    response = viewer("student_a1").get(f"/files/{facts['id']}/poster")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    assert response.data == stored(app, facts["poster_key"])
    refused = viewer("student_b1").get(f"/files/{facts['id']}/poster")
    assert refused.status_code == 404 and refused.data[:2] != b"\xff\xd8"


def test_file_without_poster_answers_404(app, recording_id, viewer):
    """A ready file with no poster_key has no poster to serve."""
    assert viewer("student_a1").get(f"/files/{recording_id}/poster").status_code == 404


def test_playlist_in_disguise_makes_ffmpeg_fetch_nothing_else(app, lesson_id):
    """An HLS playlist stored as a recording pointing at another URL: refused as unreadable, URL never fetched."""
    import http.server
    import threading

    hits = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            hits.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        playlist = (f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10.0,\n"
                    f"http://127.0.0.1:{server.server_port}/internal-secret.ts\n#EXT-X-ENDLIST\n").encode()
        facts = inspected(app, lesson_id, playlist)
    finally:
        server.shutdown()
        server.server_close()
    assert facts["ineligible_reason"] == "无法读取视频信息"
    assert hits == []


def test_unreachable_storage_raises_instead_of_flagging_the_recording(make_app):
    """MinIO down: inspect raises StorageError (the upload is verified again later), the row is not flagged."""
    from learnspace.lessons import media
    from learnspace.lessons.models import LessonFile
    from learnspace.storage import StorageError
    from tests.fixtures.helpers import free_port

    dead = make_app({"LEARNSPACE_MINIO_ENDPOINT": f"127.0.0.1:{free_port()}"})
    stand_in = LessonFile(id=1, lesson_id=1, kind="recording", object_key="lessons/1/files/abc",
                          original_name="课堂实录.mp4", size=1000, content_type="video/mp4")
    with dead.app_context(), pytest.raises(StorageError):
        media.inspect(stand_in)
    assert stand_in.is_showcase_eligible is None and stand_in.ineligible_reason is None
