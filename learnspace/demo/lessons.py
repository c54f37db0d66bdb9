"""Demo lessons, so browsing (and the spaces, learning records and comments built on lessons) has content.

``seed(rng)`` gives some demo teachers who have a space one or two published
lessons on chapters of their school's chosen editions (and a public lesson on each FEATURED chapter), each with a short real
recording (made once with ffmpeg and stored in MinIO like an upload), published on
different days of the last weeks. It adds, flushes and never commits; run it before
the other demo seeds, which look for published lessons.
"""
from __future__ import annotations

import hashlib
import logging
import re
import shutil
import subprocess
import tempfile
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from ..accounts.models import User
from ..activity import operations as activity
from ..catalog import operations as catalog
from ..catalog.models import CatalogNode
from ..db import utcnow
from ..extensions import db
from ..lessons import operations as lessons
from ..lessons.models import Lesson, LessonFile
from ..search.outbox import enqueue as enqueue_for_search
from ..spaces.models import Space
from ..storage import get_storage

log = logging.getLogger(__name__)

#: demo teachers who get lessons, and how many each at most
TEACHERS = 14
LESSONS_PER_TEACHER = 2
DESCRIPTIONS = (
    "本节课从学生熟悉的生活情境导入，先独立尝试，再小组交流，最后用练习巩固。",
    "课堂实录约 40 分钟，附教学设计和课后练习，欢迎同年级老师参考使用。",
    "区级公开课实录。重点是让学生说清思路，难点处放慢节奏、多举例子。",
    "单元起始课：梳理本单元的学习目标，用一个核心问题串起整节课。",
)
LESSON_TYPES = ("新授课", "新授课", "复习课", "练习课")
#: visibility of the demo lessons: most are open beyond the school, so browsing shows something
VISIBILITY_WEIGHTS = (("public", 5), ("region", 3), ("school", 2))
#: chapters every demo has a public lesson on, whatever the random draw: what a pupil tries first in search
#: (勾股定理 / gougu / 勾股定里 / 八年级数学, and 旅 for lv/lu)
FEATURED = (("17.1 勾股定理", "初中"), ("10 在牛肚子里旅行", "小学"))
#: "17.1 勾股定理" → 勾股定理, "三、…" → …; "第一章 …" and 三角形 stay as they are
_NUMBERING = re.compile(r"^(?:\d+(?:[.．]\d+)*[\s.、．]*|[一二三四五六七八九十]+[\s.、．]+)")


def _recording() -> bytes | None:
    """Make a 4-second 720×576 H.264/AAC MP4 with ffmpeg (None without ffmpeg)."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        return None
    with tempfile.TemporaryDirectory(prefix="learnspace-demo-") as folder:
        path = Path(folder) / "demo.mp4"
        result = subprocess.run(
            [ffmpeg, "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=720x576:rate=25:duration=4",
             "-f", "lavfi", "-i", "sine=frequency=440:duration=4", "-c:v", "libx264", "-pix_fmt", "yuv420p",
             "-c:a", "aac", "-shortest", "-movflags", "+faststart", str(path)],
            capture_output=True, timeout=120, check=False)
        if result.returncode != 0 or not path.exists():
            log.warning("demo recording not made: ffmpeg exited with %s", result.returncode)
            return None
        return path.read_bytes()


def _chapters_for(teacher: User, rng) -> list:
    """Return catalogue nodes (a section, or a chapter without sections) the teacher's school teaches."""
    choices = [(grade, edition) for (grade, _subject), edition in catalog.editions_for_school(teacher.school).items()]
    rng.shuffle(choices)
    for grade, edition in choices:
        volumes = [v for v in catalog.children(edition.id) if v.grade == grade]
        if not volumes:
            continue
        chapters = catalog.children(rng.choice(volumes).id)
        if not chapters:
            continue
        picked = []
        for chapter in rng.sample(chapters, k=min(len(chapters), LESSONS_PER_TEACHER)):
            sections = catalog.children(chapter.id)
            picked.append(rng.choice(sections) if sections else chapter)
        return picked
    return []


def _title(node) -> str:
    return _NUMBERING.sub("", node.name).strip() or node.name


class _Publisher:
    """Publish one demo lesson on a catalogue node, with the shared recording stored like an upload."""

    def __init__(self, storage, data: bytes, digest: str, now, rng):
        self.storage, self.data, self.digest, self.now, self.rng = storage, data, digest, now, rng

    def __call__(self, teacher: User, node, visibility: str) -> Lesson:
        rng = self.rng
        lesson = lessons.create_lesson(teacher, title=_title(node), description=rng.choice(DESCRIPTIONS),
                                       catalog_node=node, lesson_type=rng.choice(LESSON_TYPES), visibility=visibility)
        at = self.now - timedelta(days=rng.randint(0, 40), hours=rng.randint(0, 10))
        key = f"lessons/{lesson.id}/files/{uuid.uuid4().hex}"
        self.storage.put_bytes(key, self.data, content_type="video/mp4")
        db.session.add(LessonFile(lesson_id=lesson.id, kind="recording", object_key=key,
                                  original_name=f"{lesson.title}.mp4", content_type="video/mp4", size=len(self.data),
                                  sha256=self.digest, status="ready", uploader_id=teacher.id, created_dt=at,
                                  ready_dt=at, duration_seconds=4.0, width=720, height=576, video_codec="h264",
                                  audio_codec="aac", is_showcase_eligible=True))
        lesson.status, lesson.created_dt, lesson.published_dt = "published", at, at
        db.session.flush()
        enqueue_for_search("lesson", lesson.id)
        activity.record(teacher, "upload", at)
        activity.record(teacher, "publish", at)
        return lesson


def seed(rng) -> int:
    """Give some demo teachers with spaces published lessons with a short recording; return how many were made."""
    if db.session.scalar(select(func.count(Lesson.id))):
        return 0  # the demo has lessons already; running it again adds nothing
    teachers = list(db.session.scalars(
        select(User).join(Space, Space.owner_id == User.id)
        .where(User.role == "teacher", User.school_id.is_not(None)).order_by(User.id)))
    if not teachers:
        return 0
    data = _recording()
    if data is None:
        log.warning("ffmpeg not found: the demo has no lessons (install ffmpeg and run the demo again)")
        return 0
    storage = get_storage()
    visibilities = [v for v, weight in VISIBILITY_WEIGHTS for _ in range(weight)]
    publish = _Publisher(storage, data, hashlib.sha256(data).hexdigest(), utcnow(), rng)
    made = 0
    for teacher in rng.sample(teachers, k=min(len(teachers), TEACHERS)):
        for node in _chapters_for(teacher, rng):
            publish(teacher, node, rng.choice(visibilities))
            made += 1
    for name, stage in FEATURED:
        node = db.session.scalar(select(CatalogNode).where(CatalogNode.name == name, CatalogNode.stage == stage))
        at_stage = [t for t in teachers if t.school.stage == stage]
        if node is not None and at_stage and not db.session.scalar(
                select(Lesson.id).where(Lesson.catalog_node_id == node.id, Lesson.visibility == "public")):
            publish(rng.choice(at_stage), node, "public")
            made += 1
    db.session.flush()
    return made
