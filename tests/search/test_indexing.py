"""Keeping the Whoosh index in step with the database: outbox, drain, rebuild, health, analysis."""
from __future__ import annotations

import pytest
from whoosh.qparser import QueryParser

from tests.fixtures.lessons import make_lesson
from tests.fixtures.media import store_ready_file


@pytest.fixture
def fresh_index(app):
    """Start each test from an index that matches the (empty) database."""
    from learnspace.search import writer

    with app.app_context():
        writer.rebuild(procs=1)
    yield


def _outbox():
    """The outbox rows this node has still to apply (applied rows stay for other nodes until pruned)."""
    from learnspace.search.nodes import waiting_rows

    return waiting_rows()


def _find(field: str, text: str) -> list[str]:
    """Return the ids of indexed lessons matching *text* in *field*, through the schema's analyzers."""
    from learnspace.search.generations import open_index

    ix = open_index()
    with ix.searcher() as searcher:
        query = QueryParser(field, ix.schema).parse(text)
        return sorted(hit["id"] for hit in searcher.search(query, limit=None))


def _indexed() -> dict[str, dict]:
    from learnspace.search.generations import open_index

    with open_index().searcher() as searcher:
        return {fields["id"]: fields for fields in searcher.all_stored_fields()}


def _draft(world, title="认识时间", **fields) -> int:
    """Return a draft lesson of teacher_a1 with a ready recording (so it can be published)."""
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson

    lesson_id = make_lesson(world.people["teacher_a1"], world.schools["a1"], visibility="public")
    lesson = db.session.get(Lesson, lesson_id)
    lesson.title = title
    for name, value in fields.items():
        setattr(lesson, name, value)
    db.session.commit()
    store_ready_file(lesson_id, b"video")
    return lesson_id


def test_each_change_writes_an_outbox_row_in_the_same_transaction(app, world, fresh_index):
    """Publish, edit, withdraw and delete each add one row, committed or rolled back with the change."""
    from learnspace.extensions import db
    from learnspace.lessons import operations
    from learnspace.lessons.models import Lesson

    with app.app_context():
        lesson_id = _draft(world)
        operations.publish(db.session.get(Lesson, lesson_id))
        db.session.rollback()
        assert _outbox() == []
        assert db.session.get(Lesson, lesson_id).status == "draft"

        lesson = db.session.get(Lesson, lesson_id)
        operations.publish(lesson)
        db.session.commit()
        operations.update_lesson(lesson, title="勾股定理")
        db.session.commit()
        operations.withdraw(lesson)
        db.session.commit()
        operations.delete_lesson(lesson)
        db.session.commit()
        assert _outbox() == [("lesson", lesson_id)] * 4


def test_drain_applies_publish_edit_withdraw_and_delete(app, world, fresh_index):
    from learnspace.extensions import db
    from learnspace.lessons import operations
    from learnspace.lessons.models import Lesson
    from learnspace.search.writer import drain

    with app.app_context():
        lesson_id = _draft(world, title="认识时间", description="认识时、分、秒")
        lesson = db.session.get(Lesson, lesson_id)
        operations.publish(lesson)
        db.session.commit()
        assert _find("title", "时间") == []  # nothing is indexed before the drain
        assert drain() == 1
        assert _outbox() == []
        doc = _indexed()[str(lesson_id)]
        assert (doc["title"], doc["teacher_name"], doc["school_name"]) == ("认识时间", "李老师", "芙蓉区第一小学")
        assert (doc["stage"], doc["subject"], doc["grade"], doc["edition"]) == ("小学", "数学", "三年级", "人教版")
        assert doc["visibility"] == "public" and doc["published_ts"] > 0
        chapter_id = str(lesson.catalog_node_id)
        stage_id = lesson.catalog_node.path.strip("/").split("/")[0]
        assert _find("node_ids", stage_id) == _find("node_ids", chapter_id) == [str(lesson_id)]

        operations.update_lesson(lesson, title="勾股定理", visibility="school")
        db.session.commit()
        assert drain() == 1
        assert _find("title", "勾股定理") == [str(lesson_id)] and _find("title", "时间") == []
        assert _indexed()[str(lesson_id)]["visibility"] == "school"

        operations.withdraw(lesson)
        db.session.commit()
        drain()
        assert _indexed() == {}

        operations.publish(lesson)
        db.session.commit()
        drain()
        assert list(_indexed()) == [str(lesson_id)]
        operations.delete_lesson(lesson)
        db.session.commit()
        assert drain() == 1
        assert _indexed() == {} and _outbox() == []


def test_applied_rows_are_pruned_and_a_new_row_is_never_behind_the_cursor(app, world, fresh_index, client):
    """The one node prunes what it applied; a row written after the outbox emptied is still applied (ids are
    not reused on SQLite, or the new row would sit below the cursor); /healthz shows the node's lag."""
    from sqlalchemy import func, select

    from learnspace.extensions import db
    from learnspace.lessons import operations
    from learnspace.lessons.models import Lesson
    from learnspace.search.models import SearchOutbox
    from learnspace.search.writer import drain

    with app.app_context():
        first = _draft(world, title="认识时间")
        operations.publish(db.session.get(Lesson, first))
        db.session.commit()
        db.session.remove()
    lag = client.get("/healthz").get_json()["search_node"]  # outside the context: no drain after this request
    assert lag["rows_behind"] == 1 and lag["node_id"] == app.config["LEARNSPACE"].node_id
    with app.app_context():
        assert drain() == 1
        db.session.remove()
    assert client.get("/healthz").get_json()["search_node"]["rows_behind"] == 0
    with app.app_context():
        if db.engine.dialect.name == "sqlite":  # PostgreSQL prunes once no older transaction still runs
            assert db.session.scalar(select(func.count()).select_from(SearchOutbox)) == 0
        db.session.rollback()

        second = _draft(world, title="认识钟表")
        operations.publish(db.session.get(Lesson, second))
        db.session.commit()
        assert drain() == 1
        assert _find("title", "钟表") == [str(second)] and _find("title", "时间") == [str(first)]


def test_a_crash_between_commit_and_indexing_loses_nothing(app, world, fresh_index, monkeypatch):
    """Rows stay when the drain dies before or after the Whoosh commit; a later drain applies them once."""
    from learnspace.extensions import db
    from learnspace.lessons import operations
    from learnspace.lessons.models import Lesson
    from learnspace.search import writer

    with app.app_context():
        ids = [_draft(world, title=f"勾股定理 第{i}课") for i in range(3)]
        for lesson_id in ids:
            operations.publish(db.session.get(Lesson, lesson_id))
        db.session.commit()  # committed; the process "dies" before any drain

        real_apply = writer._apply

        def die_before_whoosh_commit(ix, rows):
            raise OSError("killed before the index was written")

        monkeypatch.setattr(writer, "_apply", die_before_whoosh_commit)
        with pytest.raises(OSError):
            writer.drain()
        assert len(_outbox()) == 3 and _indexed() == {}

        def die_after_whoosh_commit(ix, rows):
            real_apply(ix, rows)
            raise OSError("killed before the outbox rows were deleted")

        monkeypatch.setattr(writer, "_apply", die_after_whoosh_commit)
        with pytest.raises(OSError):
            writer.drain()
        assert len(_outbox()) == 3 and len(_indexed()) == 3

        monkeypatch.setattr(writer, "_apply", real_apply)
        assert writer.drain() == 3
        assert _outbox() == []
        assert sorted(_indexed()) == sorted(str(i) for i in ids)  # replayed, not duplicated
        assert _find("title", "勾股定理") == sorted(str(i) for i in ids)


def test_drain_leaves_the_rows_when_another_writer_holds_the_lock(app, world, fresh_index):
    """A busy index is not an error: drain returns 0 at once and the rows wait for the lock holder."""
    from learnspace.extensions import db
    from learnspace.lessons import operations
    from learnspace.lessons.models import Lesson
    from learnspace.search.writer import drain, writer_lock

    with app.app_context():
        lesson_id = _draft(world)
        operations.publish(db.session.get(Lesson, lesson_id))
        db.session.commit()
        with writer_lock() as held:
            assert held
            assert drain() == 0
            with writer_lock() as second:
                assert not second
        assert _outbox() == [("lesson", lesson_id)]
        assert drain() == 1


def test_publishing_through_the_web_is_indexed_after_the_request(app, world, fresh_index):
    from tests.fixtures.helpers import post_form
    from tests.fixtures.people import give_login, signed_in

    with app.app_context():
        lesson_id = _draft(world, title="勾股定理的证明")
    teacher = signed_in(app, give_login(app, world.people["teacher_a1"]))
    response = post_form(teacher, f"/lessons/{lesson_id}", f"/lessons/{lesson_id}/publish", {})
    assert response.status_code in (302, 303)
    with app.app_context():
        assert _outbox() == []
        assert _find("title", "勾股定理") == [str(lesson_id)]


def test_rebuild_swaps_in_a_new_generation_while_searches_keep_working(app, world, fresh_index):
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.search import generations
    from learnspace.search.writer import drain, rebuild

    with app.app_context():
        first = _draft(world, title="认识时间")
        db.session.get(Lesson, first).status = "published"
        db.session.commit()
        rebuild(procs=1)
        old_generation = generations.current_dir()
        searcher = generations.get_searcher()
        assert searcher.doc_count() == 1

        # Direct SQL changes with no outbox rows: only a rebuild can pick them up.
        for title in ("勾股定理", "勾股定理的应用"):
            lesson_id = _draft(world, title=title)
            db.session.get(Lesson, lesson_id).status = "published"
        db.session.commit()

        seen_during_build = []

        def progress(done, total):
            # Still before the swap: the live index is the old one and answers searches.
            seen_during_build.append((done, total, generations.current_dir() == old_generation,
                                      _find("title", "时间")))

        assert rebuild(progress, procs=1) == 3
        assert seen_during_build[-1] == (3, 3, True, [str(first)])
        new_generation = generations.current_dir()
        assert new_generation != old_generation
        assert (generations.index_dir() / "current").is_symlink()

        # A searcher opened before the swap still reads the old generation; a new one sees the new.
        assert searcher.doc_count() == 1
        assert len(list(searcher.search(QueryParser("title", searcher.schema).parse("时间")))) == 1
        assert generations.get_searcher().doc_count() == 3
        assert len(_find("title", "勾股定理")) == 2

        rebuild(procs=1)  # the generation before the previous one is removed
        kept = sorted(p.name for p in generations.index_dir().glob("gen-*"))
        assert kept == sorted([new_generation.name, generations.current_dir().name])
        assert drain() == 0


def test_missing_or_corrupt_index_makes_healthz_degraded(app, client, fresh_index):
    from learnspace.search import generations

    with app.app_context():
        root = generations.index_dir()
        live = generations.current_dir()
    body = client.get("/healthz").get_json()
    assert body["search"]["ok"] is True

    link = root / "current"
    aside = root / "current.aside"
    link.rename(aside)
    try:
        response = client.get("/healthz")
        assert response.status_code == 503
        body = response.get_json()
        assert body["status"] == "degraded" and "search" in body["failing"]
        assert "missing" in body["search"]["detail"]
        with app.app_context(), pytest.raises(generations.IndexUnavailable):
            generations.get_searcher()
    finally:
        aside.rename(link)

    toc = next(live.glob("_lessons_*.toc"))
    original = toc.read_bytes()
    toc.write_bytes(b"\x00garbage" * 8)
    try:
        response = client.get("/healthz")
        assert response.status_code == 503
        assert "unreadable" in response.get_json()["search"]["detail"]
    finally:
        toc.write_bytes(original)
    assert client.get("/healthz").status_code == 200


def test_ensure_index_creates_an_empty_live_index_only_once(app, fresh_index):
    from learnspace.search import generations

    with app.app_context():
        assert generations.ensure_index() is False
        root = generations.index_dir()
        (root / "current").unlink()
        assert generations.ensure_index() is True
        assert generations.get_searcher().doc_count() == 0
        assert generations.ensure_index() is False


@pytest.mark.parametrize("field, query", [
    ("pinyin", "gougudingli"),
    ("pinyin", "ggdl"),
    ("pinyin", "GouGuDingLi"),
    ("pinyin", "lilaoshi"),
    ("title", "勾股"),
    ("title", "勾股定理"),
    ("title", "ｐｐｔ"),
    ("title", "ＰＰＴ"),
    ("title", "ppt"),
    ("description", "Ｐｙｔｈａｇｏｒａｓ"),
    ("teacher_name", "李老师"),
])
def test_pinyin_initials_and_full_width_forms_find_the_lesson(app, world, fresh_index, field, query):
    from learnspace.extensions import db
    from learnspace.lessons import operations
    from learnspace.lessons.models import Lesson
    from learnspace.search.writer import drain

    with app.app_context():
        lesson_id = _draft(world, title="探索勾股定理（ＰＰＴ讲解）", description="Pythagoras 定理的证明")
        operations.publish(db.session.get(Lesson, lesson_id))
        db.session.commit()
        drain()
        assert _find(field, query) == [str(lesson_id)]
        assert _find("title", "勾股定律") == []


def test_analysis_folds_and_skips_punctuation_and_emoji():
    from learnspace.search.analysis import fold, pinyin_terms, segment

    assert fold("ＡＢＣ１２３，Ｘ") == "abc123,x"
    assert [t for t, *_ in segment("！！😀 ？？")] == []
    tokens = segment("探索勾股定理")
    assert ("勾股定理", 2, 6) in tokens  # character offsets into the original text, for highlighting
    terms = pinyin_terms("勾股定理", "张伟").split()
    assert {"gougudingli", "ggdl", "zhangwei", "zw"} <= set(terms)


def test_a_parallel_rebuild_writes_one_segment_per_process_and_finds_the_same_lessons(app, world, fresh_index,
                                                                                       monkeypatch):
    """The path `learnspace reindex` takes for a large index (several writer processes, segments kept)."""
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.search import generations, writer
    from learnspace.search.query import Viewer, search

    with app.app_context():
        titles = [f"勾股定理第{n}课" for n in range(12)] + ["认识时间"]
        for title in titles:
            db.session.get(Lesson, _draft(world, title=title)).status = "published"
        db.session.commit()
        monkeypatch.setattr(writer, "PARALLEL_FROM", 1)
        monkeypatch.setattr(writer, "PARALLEL_BATCH", 4)  # four batches, so both processes get some
        assert writer.rebuild(procs=2) == 13
        searcher = generations.get_searcher()
        assert len(list(searcher.reader().leaf_readers())) == 2
        result = search(Viewer(), q="勾股定理", per_page=50)
        assert sorted(hit["title"] for hit in result.hits) == sorted(titles[:12])
        assert search(Viewer(), q="gougudingli", per_page=50).total == 12


def test_the_drain_after_requests_and_the_dictionary_warm_up_follow_the_environment(make_app, monkeypatch):
    """LEARNSPACE_SEARCH_DRAIN_AFTER_REQUEST=0 leaves draining to a worker; SEARCH_WARM_UP=1 loads jieba at start."""
    import threading

    from learnspace.search import writer
    from learnspace.search.writer import drain_after_request

    def hooks(app):
        return app.after_request_funcs.get(None, [])

    warmed = threading.Event()
    monkeypatch.setattr(writer, "warm_up", warmed.set)  # the name the start-up thread calls
    assert drain_after_request in hooks(make_app())
    assert drain_after_request not in hooks(make_app(env={"LEARNSPACE_SEARCH_DRAIN_AFTER_REQUEST": "0"}))
    assert not warmed.is_set()  # off by default: commands and tests do not load dictionaries at start
    make_app(env={"LEARNSPACE_SEARCH_WARM_UP": "1"})
    assert warmed.wait(timeout=30)
