"""Lesson counts on every catalogue node: descendants included, only what the viewer may see, one query."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import event, select

from tests.fixtures.browse import VIEWERS, build_browse_world, viewer
from tests.fixtures.people import signed_in


@pytest.fixture
def bw(app, world):
    return build_browse_world(app, world)


def _all_nodes():
    from learnspace.catalog.models import CatalogNode
    from learnspace.extensions import db

    return list(db.session.scalars(select(CatalogNode).order_by(CatalogNode.id)))


def _expected(v, nodes) -> dict[int, int]:
    """Count per node by hand: every lesson can_view allows whose node lies at or below it."""
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.lessons.permissions import can_view

    visible = [lesson for lesson in db.session.scalars(select(Lesson)) if can_view(v, lesson)]
    return {n.id: sum(1 for lesson in visible if lesson.catalog_node.path.startswith(n.path)) for n in nodes}


def test_counts_include_descendants_and_agree_with_can_view_for_every_viewer(app, world, bw):
    from learnspace.catalog import operations as catalog
    from learnspace.directory import operations

    with app.app_context():
        nodes = _all_nodes()
        for key in VIEWERS:
            v = viewer(world, key)
            expected = _expected(v, nodes)
            assert operations.lesson_counts(v, nodes) == expected, key
            # The groups pages ask for: the stages, the children of each node, and one node with its children.
            assert operations.lesson_counts(v, catalog.children(None)) == {
                n.id: expected[n.id] for n in catalog.children(None)}, key
            for node in nodes:
                shown = [node, *catalog.children(node.id)]
                assert operations.lesson_counts(v, shown) == {n.id: expected[n.id] for n in shown}, (key, node.key)
        # Sanity: the numbers are not all equal, so the comparison above could fail.
        stage = catalog.children(None)[0]
        per_viewer = {key: operations.lesson_counts(viewer(world, key), [stage])[stage.id] for key in VIEWERS}
        assert per_viewer["teacher_a1"] == 17 and per_viewer[None] == 5 and per_viewer["student_a1"] == 8


def test_counting_is_one_grouped_query_however_many_nodes(app, world, bw):
    from learnspace.directory import operations
    from learnspace.extensions import db

    with app.app_context():
        nodes = _all_nodes()
        v = viewer(world, "county_a")
        v.school  # noqa: B018  (load what the visibility rule reads before counting)
        statements = []
        listener = lambda conn, cursor, statement, *rest: statements.append(statement)  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            operations.lesson_counts(v, nodes)
            one = len(statements)
            operations.lesson_counts(v, nodes[:2])
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert one == 1 and len(statements) == 2, statements
        assert "GROUP BY" in statements[0].upper()


def _tag(html: str, name: str) -> str:
    """The lesson count printed after a node's link."""
    match = re.search(re.escape(name) + r'</a>\s*<span class="tag lesson-count[^"]*">(\d+) 节课</span>', html)
    assert match, name
    return match.group(1)


def test_volume_page_shows_each_viewers_counts_on_chapters_and_sections(app, world, bw):
    outsider = signed_in(app, bw.logins["student_b1"])
    insider = signed_in(app, bw.logins["student_a1"])
    url = f"/catalog/{bw.nodes['volume']}"
    page_out = outsider.get(url).get_data(as_text=True)
    page_in = insider.get(url).get_data(as_text=True)
    # 王小红 (b1, another county): 李's public lesson on 1.1, plus 周's and both of 黄's (her school) on the chapter.
    assert [_tag(page_out, n) for n in ("第一单元 时、分、秒", "1.1 秒的认识", "1.2 时间的计算", "第二单元 万以内的加法和减法")] \
        == ["4", "1", "0", "2"]
    # 张小明 (a1): 李's school, region and public lessons and 陈's region lesson (same county) on 1.1, 周 and 黄's
    # public one on the chapter.
    assert [_tag(page_in, n) for n in ("第一单元 时、分、秒", "1.1 秒的认识", "1.2 时间的计算", "第二单元 万以内的加法和减法")] \
        == ["6", "4", "0", "2"]
    # The volume's own total is in its heading.
    assert re.search(r"<h1>三年级上册 <span class=\"tag lesson-count ok\">6 节课</span>", page_out)
    assert re.search(r"<h1>三年级上册 <span class=\"tag lesson-count ok\">8 节课</span>", page_in)


def test_upper_levels_show_counts_on_their_cards(app, world, bw):
    client = signed_in(app, bw.logins["student_b1"])
    root = client.get("/catalog").get_data(as_text=True)
    assert re.search(r"<h2>小学</h2>\s*<p class=\"hint\">[^<]*<span class=\"tag lesson-count ok\">6 节课</span>", root)
    edition = client.get(f"/catalog/{bw.nodes['subject']}").get_data(as_text=True)
    assert re.search(r"<h2>人教版</h2>\s*<p class=\"hint\">[^<]*<span class=\"tag lesson-count ok\">6 节课</span>",
                     edition)


def test_chapter_page_lists_only_the_lessons_the_viewer_may_see(app, world, bw):
    client = signed_in(app, bw.logins["student_b1"])
    html = client.get(f"/catalog/{bw.nodes['chapter']}").get_data(as_text=True)
    lessons = html.split('id="lessons"', 1)[1].split("</section>", 1)[0]
    assert "课例（4）" in lessons
    for title in ("李-published-public", "周-第一单元", "黄-public", "黄-school"):
        assert title in lessons, title
    for title in ("李-published-school", "李-draft-public", "陈-本区域", "周-第二单元"):
        assert title not in lessons, title
    section = client.get(f"/catalog/{bw.nodes['section']}").get_data(as_text=True)
    assert "李-published-public" in section and "黄-public" not in section  # 黄's lessons are on the chapter itself
    with app.app_context():
        from learnspace.catalog import operations as catalog
        quiet = catalog.get_node_by_key("test-primary-math-pep-g3a-u1-s2").id
    empty = client.get(f"/catalog/{quiet}").get_data(as_text=True)
    assert "课例（0）" in empty and "还没有您可以查看的课例" in empty
