"""A real recording through the upload API, then watched by a student: facts, poster, seeking."""
from __future__ import annotations

import base64
import hashlib
import re

import requests


def test_uploaded_recording_gets_facts_and_plays_with_seeking(app, lesson_id, media_files, viewer):
    """李老师 uploads a 720×576 H.264/AAC MP4; it is eligible with a poster; a student seeks in it via MinIO."""
    data = media_files.bytes("eligible")
    teacher = viewer("teacher_a1")
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"',
                      teacher.get("/space", follow_redirects=True).get_data(as_text=True)).group(1)
    started = teacher.post(f"/api/lessons/{lesson_id}/uploads", headers={"X-CSRFToken": token},
                           json={"kind": "recording", "filename": "李老师 第一课.mp4", "size": len(data)})
    assert started.status_code == 201, started.get_json()
    upload = started.get_json()
    size = upload["part_size"]
    parts = {n: data[(n - 1) * size:n * size] for n in range(1, upload["part_count"] + 1)}
    sha256 = {n: base64.b64encode(hashlib.sha256(part).digest()).decode() for n, part in parts.items()}
    urls = teacher.post(f"/api/uploads/{upload['id']}/part-urls", headers={"X-CSRFToken": token},
                        json={"parts": [{"number": n, "sha256": sha256[n]} for n in parts]}).get_json()["urls"]
    for n, part in parts.items():  # straight to MinIO, as the browser does
        answer = requests.put(urls[str(n)], data=part, headers={"x-amz-checksum-sha256": sha256[n]}, timeout=30)
        assert answer.status_code == 200
    done = teacher.post(f"/api/uploads/{upload['id']}/complete", headers={"X-CSRFToken": token})
    assert done.status_code == 202, done.get_json()
    from learnspace.jobs import run_due

    with app.app_context():
        run_due()  # the worker verifies, probes and makes the poster
    assert teacher.get(f"/api/uploads/{upload['id']}").get_json()["status"] == "ready"

    from learnspace.extensions import db
    from learnspace.lessons.models import LessonFile

    with app.app_context():
        file = db.session.get(LessonFile, upload["id"])
        assert (file.width, file.height, file.video_codec, file.audio_codec) == (720, 576, "h264", "aac")
        assert file.is_showcase_eligible is True and file.poster_key.startswith(f"lessons/{lesson_id}/posters/")

    student = viewer("student_a1")
    location = student.get(f"/files/{upload['id']}/play").headers["Location"]
    middle = len(data) // 2
    seek = requests.get(location, headers={"Range": f"bytes={middle}-{middle + 999}"}, timeout=10)
    assert seek.status_code == 206 and seek.content == data[middle:middle + 1000]
    poster = student.get(f"/files/{upload['id']}/poster")
    assert poster.status_code == 200 and poster.data[:2] == b"\xff\xd8"
