"""An index that is never stale: renames of schools, teachers and catalogue nodes reach it; a start applies the outbox."""
from __future__ import annotations

import io

import pytest
from sqlalchemy import select

from tests.fixtures.search import geometry_nodes, index_now, publish_lesson


@pytest.fixture
def fresh_index(app):
    """Start each test from an index that matches the database."""
    from learnspace.search import writer

    with app.app_context():
        writer.rebuild(procs=1)
    yield


def _outbox() -> list[tuple[str, int]]:
    """The outbox rows this node has still to apply (applied rows stay for other nodes until pruned)."""
    from learnspace.extensions import db
    from learnspace.search.nodes import waiting_rows

    rows = waiting_rows()
    db.session.rollback()
    return rows


def _found(q: str, **filters) -> set[int]:
    from learnspace.search.query import search

    result = search(None, q=q, filters=filters or None, per_page=100)
    assert result.message is None, result.message
    return {hit["id"] for hit in result.hits}


def test_renaming_a_school_writes_one_row_and_the_drain_reindexes_every_lesson_of_the_school(app, world, fresh_index):
    """One outbox row in the rename's transaction; after the drain the new name finds the lessons, the old one not."""
    from learnspace.extensions import db
    from learnspace.orgs import operations as orgs

    with app.app_context():
        teacher = world.people["teacher_a1"]
        ours = {publish_lesson(teacher, f"认识钟表{n}") for n in range(3)}
        index_now()
        assert ours <= _found("芙蓉区")

        school = orgs.get_school_by_code("4301020001")
        assert orgs.rename_school(school, "  星河湾实验小学 ") is True
        db.session.rollback()  # not committed: no rename, no outbox row
        assert _outbox() == []
        school = orgs.get_school_by_code("4301020001")
        assert school.name == "芙蓉区第一小学"

        assert orgs.rename_school(school, "星河湾实验小学") is True
        db.session.commit()
        assert _outbox() == [("school", school.id)]  # one row, however many lessons the school has
        assert index_now() == len(ours)  # expanded into the school's published lessons, then applied
        assert _outbox() == []
        assert _found("星河湾") == ours
        assert not (ours & _found("芙蓉区"))
        assert orgs.rename_school(school, "星河湾实验小学") is False  # unchanged: nothing to write
        assert _outbox() == []


@pytest.mark.parametrize("name, words", [("", "不能为空"), ("=HYPERLINK(1)", "不能以 = + - @ 开头"),
                                         ("学校<b>", "不能以 = + - @ 开头"), ("校" * 101, "不超过 100 个字")])
def test_a_school_name_is_checked_as_at_registration_and_nothing_is_written(app, world, name, words):
    """The rename refuses what registration refuses (spreadsheet formulas, markup, empty, too long)."""
    from learnspace.errors import ValidationError
    from learnspace.orgs import operations as orgs

    with app.app_context():
        school = orgs.get_school_by_code("4301020001")
        with pytest.raises(ValidationError) as caught:
            orgs.rename_school(school, name)
        assert words in caught.value.message
        assert school.name == "芙蓉区第一小学"
        assert _outbox() == []


def test_renaming_a_school_from_the_cli_reindexes_now(app, world, fresh_index):
    """``learnspace rename-school CODE NAME`` commits, audits and applies the outbox (no worker needed)."""
    from learnspace.audit.models import AuditEntry
    from learnspace.cli import main
    from learnspace.extensions import db

    with app.app_context():
        lesson = publish_lesson(world.people["teacher_a1"], "认识钟表")
        index_now()
    runner = app.test_cli_runner()
    result = runner.invoke(main, ["rename-school", "4301020001", "星河湾实验小学"])
    assert result.exit_code == 0, result.output
    assert "renamed school 4301020001" in result.output and "search: 1 changes applied" in result.output
    bad = runner.invoke(main, ["rename-school", "4301020001", "@坏名字"])
    assert bad.exit_code == 1 and "不能以 = + - @ 开头" in bad.output
    with app.app_context():
        assert _found("星河湾") == {lesson}
        assert db.session.scalar(select(AuditEntry.id).where(AuditEntry.action == "school.rename")) is not None


def test_renaming_a_school_on_the_admin_page(app, world, client, fresh_index):
    """The county's admin renames the school from its page; the school's own admin sees no form and is refused."""
    from learnspace.extensions import db
    from learnspace.orgs.models import School
    from tests.fixtures.helpers import login, post_form
    from tests.fixtures.world import PASSWORD

    page_url, action = "/admin/schools/4301020001", "/admin/schools/4301020001/rename"
    with app.app_context():
        lesson = publish_lesson(world.people["teacher_a1"], "认识钟表")
        index_now()
    login(client, world.admins["county_a"], PASSWORD)
    assert "修改学校名称" in client.get(page_url).get_data(as_text=True)
    refused = post_form(client, page_url, action, {"name": "=1+1"}, follow_redirects=True)
    assert "不能以 = + - @ 开头" in refused.get_data(as_text=True)
    done = post_form(client, page_url, action, {"name": "星河湾实验小学"}, follow_redirects=True)
    assert "已将“芙蓉区第一小学”改名为“星河湾实验小学”" in done.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(School.name).where(School.code == "4301020001")) == "星河湾实验小学"
        assert _found("星河湾") == {lesson}  # drained after the request (no worker in tests)

    other = app.test_client()
    login(other, world.admins["school_a1"], PASSWORD)
    assert "修改学校名称" not in other.get(page_url).get_data(as_text=True)
    assert post_form(other, page_url, action, {"name": "别的名字"}).status_code == 403
    with app.app_context():
        assert db.session.scalar(select(School.name).where(School.code == "4301020001")) == "星河湾实验小学"


def _roster(rows: list[tuple[str, str, str]]) -> io.BytesIO:
    lines = ["姓名,角色,教师编号"] + [",".join(row) for row in rows]
    return io.BytesIO(("\n".join(lines) + "\n").encode("utf-8"))


def test_a_teacher_renamed_by_a_roster_reimport_is_found_by_the_new_name(app, world, fresh_index):
    """The roster changes the teacher's real name: one outbox row; after the drain, new name finds, old does not."""
    from learnspace.accounts.roster import import_roster
    from learnspace.extensions import db
    from learnspace.orgs import operations as orgs

    with app.app_context():
        from learnspace.accounts.models import User

        teacher = db.session.get(User, world.people["teacher_a1"])
        lesson = publish_lesson(teacher.id, "认识钟表")
        index_now()
        assert lesson in _found("李老师")
        number = teacher.teacher_number
        result = import_roster(_roster([("欧阳春晓", "教师", number)]), "r.csv", orgs.get_school_by_code("4301020001"))
        db.session.commit()
        assert result.updated == 1
        assert _outbox() == [("teacher", teacher.id)]
        assert index_now() == 1
        assert _found("欧阳春晓") == {lesson}
        assert lesson not in _found("李老师")
        # The same roster again changes nothing, so nothing is queued.
        import_roster(_roster([("欧阳春晓", "教师", number)]), "r.csv", orgs.get_school_by_code("4301020001"))
        db.session.commit()
        assert _outbox() == []


def test_catalogue_edits_reach_the_lessons_filed_below_the_node(app, world, fresh_index):
    """A chapter renamed and an edition renamed by a catalogue import: the lessons below are reindexed."""
    from learnspace.catalog.operations import import_catalogue_file
    from learnspace.extensions import db

    with app.app_context():
        nodes = geometry_nodes()
        db.session.commit()
        teacher = world.people["teacher_a1"]
        on_chapter = publish_lesson(teacher, "第一课时", node=nodes["chapter"])
        on_section = publish_lesson(teacher, "第二课时", node=nodes["section"])
        elsewhere = publish_lesson(teacher, "第三课时", node=nodes["chapter2"])
        index_now()
        assert {on_chapter, on_section} <= _found("勾股")
        assert {on_chapter, on_section, elsewhere} <= _found("", edition="人教版")

        csv = ("key,parent_key,level,name\n"
               "t-junior-math-pep,t-junior-math,edition,人民教育出版社版\n"
               "t-junior-math-pep-g8b-c17,t-junior-math-pep-g8b,chapter,第十七章 直角三角形的三边\n")
        result = import_catalogue_file(io.BytesIO(csv.encode()), "edit.csv")
        db.session.commit()
        assert result.updated == 2
        assert sorted(_outbox()) == sorted([("catalog_node", nodes["edition"]), ("catalog_node", nodes["chapter"])])
        index_now()
        assert _outbox() == []
        assert {on_chapter, on_section} <= _found("直角三角形")
        assert on_chapter not in _found("勾股")  # the section keeps its own name 17.1 勾股定理的证明
        assert {on_chapter, on_section, elsewhere} <= _found("", edition="人民教育出版社版")
        assert not ({on_chapter, on_section, elsewhere} & _found("", edition="人教版"))
        # The lessons' own facet columns (what the 课程 list filters on) follow in the same transaction.
        from learnspace.lessons.models import Lesson
        from learnspace.lessons.operations import count_lessons_visible_to
        assert {db.session.get(Lesson, i).edition for i in (on_chapter, on_section, elsewhere)} == {"人民教育出版社版"}
        assert count_lessons_visible_to(None, filters={"edition": "人民教育出版社版"}) >= 3
        assert count_lessons_visible_to(None, filters={"edition": "人教版"}) == 0


def test_a_bulk_row_for_a_school_of_thousands_expands_in_one_statement(app, world, fresh_index):
    """The expansion is one SELECT of lesson ids and a batched INSERT: cheap however many lessons."""
    from sqlalchemy import event

    from learnspace.extensions import db
    from learnspace.orgs import operations as orgs
    from learnspace.search import writer

    with app.app_context():
        ours = {publish_lesson(world.people["teacher_a1"], f"认识钟表{n}") for n in range(4)}
        index_now()
        orgs.rename_school(orgs.get_school_by_code("4301020001"), "星河湾实验小学")
        db.session.commit()
        statements: list[str] = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731  (conn, cursor, statement, …)
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            assert writer._expand(writer.BATCH) == 1
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert sum(s.lstrip().upper().startswith("SELECT") for s in statements) == 2  # the row, then the lessons
        assert sum(s.lstrip().upper().startswith("INSERT") for s in statements) == 1
        assert sorted(_outbox()) == sorted(("lesson", i) for i in ours)


def test_the_worker_drains_at_its_first_pass(app, world, fresh_index):
    """A worker's first periodic pass runs the search drain at once, not after its interval."""
    from learnspace.jobs.worker import Worker
    from learnspace.search.writer import pending

    with app.app_context():
        lesson = publish_lesson(world.people["teacher_a1"], "认识钟表")
        assert pending() == 1
        Worker(app, beat_seconds=None).run_periodic()  # not forced: the first pass of a starting worker
        assert pending() == 0
        assert _found("认识钟表") == {lesson}


def test_init_applies_the_outbox_within_its_budget_and_leaves_the_rest_to_the_worker(app, world, fresh_index,
                                                                                      monkeypatch):
    """``learnspace init`` applies what waits; with no time left it says what it leaves (drain returns at once)."""
    from learnspace.cli import main
    from learnspace.search import writer

    with app.app_context():
        lessons = {publish_lesson(world.people["teacher_a1"], f"认识钟表{n}") for n in range(2)}
    runner = app.test_cli_runner()
    monkeypatch.setattr(writer, "START_SECONDS", 0.0)
    late = runner.invoke(main, ["init"])
    assert late.exit_code == 0, late.output
    assert "search: 0 changes applied, 2 left for `learnspace worker`" in late.output
    monkeypatch.undo()
    done = runner.invoke(main, ["init"])
    assert done.exit_code == 0, done.output
    assert "search: 2 changes applied\n" in done.output
    with app.app_context():
        assert _found("认识钟表") == lessons


def test_a_failing_expansion_keeps_the_rename_row_and_writes_nothing(app, world, fresh_index, monkeypatch):
    """The expansion is one transaction: when it fails, the school's row stays for the next drain, no lesson rows."""
    from learnspace.extensions import db
    from learnspace.orgs import operations as orgs
    from learnspace.search import documents
    from learnspace.search.writer import drain

    with app.app_context():
        lesson = publish_lesson(world.people["teacher_a1"], "认识钟表")
        index_now()
        school = orgs.get_school_by_code("4301020001")
        orgs.rename_school(school, "星河湾实验小学")
        db.session.commit()
        real = documents.get_expander("school")

        def broken(ids):
            yield from real(ids)
            raise OSError("database went away")

        monkeypatch.setitem(documents._expanders, "school", broken)
        with pytest.raises(OSError):
            drain()
        assert _outbox() == [("school", school.id)]
        monkeypatch.undo()
        assert drain() == 1
        assert _found("星河湾") == {lesson}
