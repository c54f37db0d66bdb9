"""Fixtures for media facts and playback: ffmpeg samples, a published school lesson, signed-in viewers."""
from __future__ import annotations

import random

import pytest

from tests.fixtures.lessons import make_lesson
from tests.fixtures.media import media_files, store_ready_file  # noqa: F401  (media_files: a fixture)
from tests.fixtures.people import give_login, signed_in
from tests.fixtures.snapshots import replay

#: bytes of a stand-in recording: more than two streaming blocks, so block boundaries are crossed
RECORDING = random.Random(20190101).randbytes(600_000)  # fixed: this module may be imported twice
RECORDING_NAME = "第一课 认识时间（课堂实录）.mp4"


@pytest.fixture
def lesson_id(app, world) -> int:
    """A lesson of 李老师 at school a1, published to her school."""
    def build():
        with app.app_context():
            return make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published",
                               visibility="school")
    return replay(app, ("playback: lesson", repr(world)), build)


@pytest.fixture
def recording_id(app, lesson_id) -> int:
    """A ready recording of that lesson whose bytes are RECORDING."""
    def build():
        with app.app_context():
            return store_ready_file(lesson_id, RECORDING, original_name=RECORDING_NAME)
    return replay(app, ("playback: recording", lesson_id), build)  # puts the object back if a test removed it


@pytest.fixture
def login_names(app, world) -> dict:
    """Local logins for 李老师, her school's student and a student of another county."""
    return {name: give_login(app, world.people[name]) for name in ("teacher_a1", "student_a1", "student_b1")}


@pytest.fixture
def viewer(app, login_names):
    """Return ``viewer(name, app=None)``: a test client signed in as one of the people above."""
    def sign_in(name: str, on_app=None):
        return signed_in(on_app or app, login_names[name])
    return sign_in
