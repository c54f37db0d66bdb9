"""Lesson operations: creating on a catalogue chapter, validation, the publish rule, withdraw, delete, audit."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from tests.fixtures.lessons import make_lesson
from tests.fixtures.media import store_ready_file
from tests.fixtures.people import audit_log


def _user(key, world):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    return db.session.get(User, world.people[key])


def _admin(login_name):
    from learnspace.accounts.models import User
    from learnspace.extensions import db

    return db.session.scalar(select(User).where(User.login_name == login_name))


def _create(world, node_id, **overrides):
    from learnspace.extensions import db
    from learnspace.lessons import operations

    teacher = overrides.pop("teacher", None) or _user("teacher_a1", world)
    fields = dict(title="认识时间", description="认识时、分、秒。\n会换算。", catalog_node=node_id,
                  lesson_type="新授课", language="zh", visibility="school")
    fields.update(overrides)
    lesson = operations.create_lesson(teacher, **fields)
    db.session.commit()
    return lesson


def test_create_copies_facets_school_and_starts_as_draft(app, world, nodes):
    """A lesson on a section gets stage, subject, grade and edition from the node, and the teacher's school."""
    with app.app_context():
        lesson = _create(world, nodes["section"], visibility="region", language="ko", lesson_type="复习课")
        assert (lesson.stage, lesson.subject, lesson.grade, lesson.edition) == ("小学", "数学", "三年级", "人教版")
        assert lesson.catalog_node_id == nodes["section"]
        assert lesson.school.code == world.schools["a1"] and lesson.teacher_id == world.people["teacher_a1"]
        assert (lesson.status, lesson.visibility, lesson.language, lesson.lesson_type) == (
            "draft", "region", "ko", "复习课")
        assert lesson.description == "认识时、分、秒。\n会换算。"
        lesson_id = lesson.id
    assert [e for e in audit_log(app) if e["action"] == "lesson.create"] == [
        dict(action="lesson.create", result="success", target=f"lesson:{lesson_id}",
             detail="node=test-primary-math-pep-g3a-u1-s1", actor_id=None, ip=None)]


def test_create_accepts_a_chapter_but_not_a_volume_or_a_missing_node(app, world, nodes):
    """Chapters and sections carry lessons; higher levels and unknown ids are refused in Chinese."""
    from learnspace.lessons.operations import LessonInvalid

    with app.app_context():
        assert _create(world, nodes["chapter"]).catalog_node_id == nodes["chapter"]
        for node_id, message in [(nodes["volume"], "请一直选到“章”或“节”这一级"),
                                 (nodes["stage"], "请一直选到“章”或“节”这一级"),
                                 (999_999, "所选的教材章节不存在"), (None, "请选择这节课对应的教材章节")]:
            with pytest.raises(LessonInvalid) as refused:
                _create(world, node_id)
            assert message in refused.value.errors["catalog_node"]


@pytest.mark.parametrize("field, value, message", [
    ("title", "   ", "请填写课程标题"),
    ("title", "长" * 121, "课程标题最多 120 个字（现在 121 个）"),
    ("title", "认识\x07时间", "控制字符"),
    ("title", "认识时间\u202egnp.exe", "控制字符"),
    ("description", "字" * 5001, "课程简介最多 5000 个字"),
    ("description", "第一行\x00第二行", "控制字符"),
    ("lesson_type", "公开课", "请选择课型"),
    ("language", "fr", "请选择授课语言"),
    ("visibility", "friends", "请选择谁可以查看"),
])
def test_create_refuses_bad_fields_with_a_message_per_field(app, world, nodes, field, value, message):
    """Each bad field gets its own actionable message, and nothing is written."""
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.lessons.operations import LessonInvalid

    with app.app_context():
        with pytest.raises(LessonInvalid) as refused:
            _create(world, nodes["chapter"], **{field: value})
        assert list(refused.value.errors) == [field]
        assert message in refused.value.errors[field]
        db.session.rollback()
        assert db.session.scalar(select(Lesson.id)) is None


def test_title_of_exactly_120_characters_and_multiline_description_are_fine(app, world, nodes):
    with app.app_context():
        lesson = _create(world, nodes["chapter"], title="  " + "长" * 120 + "  ", description="a\r\nb\tc")
        assert lesson.title == "长" * 120 and lesson.description == "a\nb\tc"


@pytest.mark.parametrize("who", ["student_a1", "school_a1"])
def test_only_teachers_create_lessons(app, world, nodes, who):
    from learnspace.errors import PermissionDenied

    with app.app_context():
        person = _user(who, world) if who in world.people else _admin(world.admins[who])
        with pytest.raises(PermissionDenied, match="只有教师可以创建课程"):
            _create(world, nodes["chapter"], teacher=person)


def test_update_moves_the_lesson_to_another_chapter_and_refreshes_facets(app, world, nodes):
    from learnspace.catalog.models import CatalogNode
    from learnspace.extensions import db
    from learnspace.lessons import operations

    with app.app_context():
        other = db.session.get(CatalogNode, nodes["chapter2"])
        other.grade = "四年级"  # pretend the second chapter belongs to another grade's book
        lesson = _create(world, nodes["chapter"])
        operations.update_lesson(lesson, title="新标题", catalog_node=nodes["chapter2"], visibility="public")
        db.session.commit()
        assert (lesson.title, lesson.catalog_node_id, lesson.grade, lesson.visibility) == (
            "新标题", nodes["chapter2"], "四年级", "public")
        with pytest.raises(operations.LessonInvalid):
            operations.update_lesson(lesson, catalog_node=nodes["edition"])
        with pytest.raises(TypeError):
            operations.update_lesson(lesson, status="published")  # publishing has its own verb


def test_publishing_needs_a_ready_recording(app, world, nodes):
    """Documents alone or an unfinished recording are not enough; a ready recording is (even if incomplete)."""
    from learnspace.errors import Conflict
    from learnspace.extensions import db
    from learnspace.lessons import operations
    from learnspace.lessons.models import Lesson

    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"])
        store_ready_file(lesson_id, b"%PDF-1.4 plan", kind="lesson_plan", original_name="教学设计.pdf",
                         content_type="application/pdf")
        store_ready_file(lesson_id, b"half a video", status="uploading")
        lesson = db.session.get(Lesson, lesson_id)
        with pytest.raises(Conflict, match="请先上传课堂实录"):
            operations.publish(lesson)
        db.session.rollback()
        assert db.session.get(Lesson, lesson_id).status == "draft"

        store_ready_file(lesson_id, b"a whole video")
        lesson = db.session.get(Lesson, lesson_id)
        db.session.refresh(lesson)
        operations.publish(lesson)
        db.session.commit()
        assert lesson.status == "published" and lesson.published_dt is not None
        assert lesson.missing_parts == ["courseware", "exercises"] and not lesson.is_complete
        with pytest.raises(Conflict, match="课程已经发布"):
            operations.publish(lesson)
    published = [e for e in audit_log(app) if e["action"] == "lesson.publish"]
    assert published == [dict(action="lesson.publish", result="success", target=f"lesson:{lesson_id}",
                              detail="missing=courseware,exercises", actor_id=None, ip=None)]


def test_withdraw_only_a_published_lesson_and_publish_it_again(app, world):
    from learnspace.errors import Conflict
    from learnspace.extensions import db
    from learnspace.lessons import operations
    from learnspace.lessons.models import Lesson

    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published")
        store_ready_file(lesson_id, b"video")
        lesson = db.session.get(Lesson, lesson_id)
        operations.withdraw(lesson)
        db.session.commit()
        assert lesson.status == "withdrawn"
        with pytest.raises(Conflict, match="只有已发布的课程可以撤回"):
            operations.withdraw(lesson)
        operations.publish(lesson)
        db.session.commit()
        assert lesson.status == "published"
    assert [e["action"] for e in audit_log(app)] == ["lesson.withdraw", "lesson.publish"]


def test_delete_removes_rows_and_objects_through_the_upload_lifecycle(app, world):
    """Every file's object is gone from MinIO and no row is left (files, chunks, the lesson)."""
    pytest.importorskip("learnspace.lessons.uploads")
    from learnspace.extensions import db
    from learnspace.lessons import operations
    from learnspace.lessons.models import Lesson, LessonFile
    from learnspace.storage import get_storage

    with app.app_context():
        lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], status="published")
        file_ids = [store_ready_file(lesson_id, b"video bytes"),
                    store_ready_file(lesson_id, b"%PDF plan", kind="lesson_plan", original_name="教案.pdf",
                                     content_type="application/pdf")]
        keys = [db.session.get(LessonFile, i).object_key for i in file_ids]
        assert all(get_storage().exists(k) for k in keys)
        operations.delete_lesson(db.session.get(Lesson, lesson_id))
        db.session.commit()
        assert db.session.get(Lesson, lesson_id) is None
        assert db.session.scalar(select(LessonFile.id).where(LessonFile.lesson_id == lesson_id)) is None
        assert not any(get_storage().exists(k) for k in keys)
    assert [e for e in audit_log(app) if e["action"] == "lesson.delete"][0]["detail"] == "files=2"
