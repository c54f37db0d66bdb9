"""Two app nodes on one machine: two var dirs (each its own search replica), one PostgreSQL, one MinIO.

Each node is an app built with its own LEARNSPACE_VAR_DIR, LEARNSPACE_SEARCH_DIR and
LEARNSPACE_NODE_ID, as a second server would be; both read the one outbox from their own
cursor (learnspace/search/nodes.py). PostgreSQL only: the out-of-order commit these cursors
are built for does not happen on SQLite, where writers run one at a time.
"""
from __future__ import annotations

import base64
import shutil
import time
from datetime import timedelta
from types import SimpleNamespace

import pytest
from sqlalchemy import func, select, text

from tests.fixtures.search import publish_lesson
from tests.fixtures.worker import start_worker_thread


@pytest.fixture
def two_nodes(app, make_app, tmp_path):
    """Nodes a and b: own var and search directories, same database, MinIO and keys."""
    if not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        pytest.fail("tests/search/test_nodes.py needs PostgreSQL (LEARNSPACE_TEST_DB=postgresql)", pytrace=False)
    settings = app.config["LEARNSPACE"]
    shared = {"LEARNSPACE_SECRET_KEY": settings.secret_key,
              "LEARNSPACE_DATA_KEY": base64.urlsafe_b64encode(settings.data_key).decode()}
    made = {}
    for name in ("a", "b"):
        var = tmp_path / f"node-{name}"
        made[name] = make_app(env={**shared, "LEARNSPACE_VAR_DIR": str(var),
                                   "LEARNSPACE_SEARCH_DIR": str(var / "search"), "LEARNSPACE_NODE_ID": f"node-{name}"})
        drain(made[name])  # the node's first pass builds its replica and registers its cursor
    return SimpleNamespace(**made)


def drain(node) -> int:
    """What the node's worker does every two seconds."""
    from learnspace.extensions import db
    from learnspace.search.writer import drain as apply

    with node.app_context():
        try:
            return apply()
        finally:
            db.session.remove()


def found(node, q: str) -> set[int]:
    """Lesson ids a visitor of *node* finds for *q*."""
    from learnspace.extensions import db
    from learnspace.search.query import search

    with node.app_context():
        result = search(None, q=q, per_page=100)
        db.session.remove()
    assert result.message is None, result.message
    return {hit["id"] for hit in result.hits}


def publish(node, world, title: str) -> int:
    from learnspace.extensions import db

    with node.app_context():
        try:
            return publish_lesson(world.people["teacher_a1"], title)
        finally:
            db.session.remove()


def outbox_rows(node, after: int = 0) -> int:
    """Lesson rows in the outbox with an id above *after* (rows of earlier steps may wait for pruning)."""
    from learnspace.extensions import db
    from learnspace.search.models import SearchOutbox

    with node.app_context():
        count = db.session.scalar(select(func.count()).select_from(SearchOutbox).where(
            SearchOutbox.doc_type == "lesson", SearchOutbox.id > after))
        db.session.remove()
    return count


def last_id(node) -> int:
    from learnspace.extensions import db
    from learnspace.search.models import SearchOutbox

    with node.app_context():
        value = db.session.scalar(select(func.coalesce(func.max(SearchOutbox.id), 0)))
        db.session.remove()
    return value


def search_node(node) -> dict:
    body = node.test_client().get("/healthz").get_json()
    return body["search_node"]


def test_a_lesson_published_through_node_a_is_found_through_node_b_within_seconds(two_nodes, world):
    """Node b's worker (periodic search drain) applies what node a wrote; /healthz shows b's lag."""
    a, b = two_nodes.a, two_nodes.b
    lesson = publish(a, world, "勾股定理的十六种证明")
    behind = search_node(b)
    assert behind["node_id"] == "node-b" and behind["rows_behind"] == 1 and not behind["rebuild_needed"]
    assert behind["seconds_behind"] >= 0

    started = time.monotonic()
    stop = start_worker_thread(b, name="node-b-worker", periodic_tasks=True)
    try:
        while lesson not in found(b, "十六种证明"):
            assert time.monotonic() - started < 5, "node b did not find node a's lesson within 5 s"
            time.sleep(0.1)
    finally:
        stop()
    assert search_node(b)["rows_behind"] == 0
    assert lesson not in found(a, "十六种证明")  # a's replica is its own: its worker has not run yet
    assert drain(a) == 1 and lesson in found(a, "十六种证明")


def test_node_b_restarted_from_an_empty_index_catches_up(two_nodes, world):
    """b is down while a publishes; its search directory is lost; its next pass rebuilds and finds everything."""
    a, b = two_nodes.a, two_nodes.b
    before = publish(a, world, "认识钟表")
    assert drain(b) == 1 and before in found(b, "钟表")
    later = {publish(a, world, f"平行四边形的性质{n}") for n in range(2)}
    shutil.rmtree(b.config["LEARNSPACE"].search_dir)  # node b's var dir emptied while it was down

    assert drain(b) >= 3  # the rebuild counts the documents it indexed
    assert {before} | later <= found(b, "钟表") | found(b, "平行四边形")
    assert search_node(b)["rows_behind"] == 0


def test_pruning_keeps_the_rows_a_lagging_node_needs_and_retention_makes_it_rebuild(two_nodes, world):
    """a applies and prunes: the rows stay for b. Rows past the retention go; b, which needed them, rebuilds."""
    from learnspace.extensions import db
    from learnspace.search import nodes

    a, b = two_nodes.a, two_nodes.b
    mark = last_id(a)
    ours = {publish(a, world, f"秒的认识{n}") for n in range(3)}
    assert drain(a) == 3 and ours <= found(a, "秒的认识")
    assert outbox_rows(a, mark) == 3  # a's drain pruned, but node b has not passed them
    assert search_node(b)["rows_behind"] == 3

    with b.app_context():
        assert nodes.prune(keep=timedelta(0)) >= 3  # "older than the retention": gone whatever b says
        db.session.remove()
    assert outbox_rows(a) == 0
    lagging = search_node(b)
    assert lagging["rebuild_needed"] and lagging["last_pass_seconds_ago"] is not None
    assert not search_node(a)["rebuild_needed"]  # a had applied them: its cursor is past them

    from learnspace.cli import main

    listing = b.test_cli_runner().invoke(main, ["search-nodes"])
    assert listing.exit_code == 0, listing.output
    assert "本节点 node-b：" in listing.output and "需要重建索引" in listing.output
    assert "node-a\t位置" in listing.output and "node-b\t需要重建" in listing.output

    assert drain(b) == 3  # a rebuild from the database, not the (gone) outbox rows
    assert ours <= found(b, "秒的认识")
    assert not search_node(b)["rebuild_needed"]


def test_a_row_committed_after_a_higher_id_was_read_is_still_applied(two_nodes, world):
    """Two overlapping transactions: the one with the lower outbox id commits last; b applies both."""
    from learnspace.extensions import db

    a, b = two_nodes.a, two_nodes.b
    first, second = publish(a, world, "旧标题甲"), publish(a, world, "旧标题乙")
    drain(b)

    def change(conn, lesson_id: int, title: str) -> int:
        conn.execute(text("UPDATE lessons SET title = :t WHERE id = :i"), {"t": title, "i": lesson_id})
        return conn.execute(text("INSERT INTO search_outbox (doc_type, doc_id, created_dt) "
                                 "VALUES ('lesson', :i, now()) RETURNING id"), {"i": lesson_id}).scalar_one()

    with a.app_context():
        slow, quick = db.engine.connect(), db.engine.connect()
        try:
            slow_tx = slow.begin()
            low_id = change(slow, first, "毕达哥拉斯定理")  # takes the lower id, commits last
            with quick.begin():
                high_id = change(quick, second, "赵爽弦图")
            assert low_id < high_id

            drain(b)  # reads the higher id while the lower one is not visible yet
            assert second in found(b, "赵爽弦图") and first not in found(b, "毕达哥拉斯")
            slow_tx.commit()
        finally:
            slow.close()
            quick.close()
            db.session.remove()

    assert drain(b) == 1  # "id > last id read" would have skipped it for good
    assert first in found(b, "毕达哥拉斯")
    assert drain(b) == 0  # applied once


def test_a_school_rename_is_expanded_once_and_every_node_applies_the_rows(two_nodes, world):
    """While one node holds the rename's row the other skips it (no second expansion); both nodes find the new name."""
    from learnspace.extensions import db
    from learnspace.orgs import operations as orgs
    from learnspace.search.models import SearchOutbox

    a, b = two_nodes.a, two_nodes.b
    ours = {publish(a, world, f"认识人民币{n}") for n in range(2)}
    drain(a), drain(b)
    mark = last_id(a)
    with a.app_context():
        school = orgs.get_school_by_code("4301020001")
        assert orgs.rename_school(school, "星河湾实验小学") is True
        db.session.commit()
        school_id = school.id
        holder = db.engine.connect()
        try:
            with holder.begin():  # another node is expanding this row right now
                holder.execute(text("SELECT id FROM search_outbox WHERE doc_type = 'school' FOR UPDATE"))
                assert drain(b) == 0  # skipped, not expanded a second time
                assert db.session.scalar(select(func.count()).select_from(SearchOutbox).where(
                    SearchOutbox.doc_type == "school", SearchOutbox.doc_id == school_id)) == 1
        finally:
            holder.close()
        db.session.remove()

    assert drain(a) >= len(ours)
    assert outbox_rows(a, mark) == len(ours)  # one row per lesson of the school, kept for b
    assert ours <= found(a, "星河湾")
    assert drain(b) == len(ours)
    assert ours <= found(b, "星河湾") and not (ours & found(b, "芙蓉区"))
