"""After ``learnspace init`` and ``learnspace demo`` the demo's lessons are searchable at once (nobody drains)."""
from __future__ import annotations

from sqlalchemy import select


def test_the_demo_lessons_are_searchable_when_init_and_demo_return(app):
    """Exactly what scripts/run --demo runs before serving; the test itself never applies the outbox."""
    from learnspace.cli import main
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.search.query import search
    from learnspace.search.writer import pending

    runner = app.test_cli_runner()
    init = runner.invoke(main, ["init"])
    assert init.exit_code == 0, init.output
    demo = runner.invoke(main, ["demo"])
    assert demo.exit_code == 0, demo.output
    assert "search: " in demo.output and "left for" not in demo.output
    with app.app_context():
        assert pending() == 0
        public = db.session.execute(select(Lesson.id, Lesson.title).where(
            Lesson.status == "published", Lesson.visibility == "public")).all()
        assert len(public) >= 10
        for lesson_id, title in public:
            assert lesson_id in {hit["id"] for hit in search(None, q=title, per_page=50).hits}, title


def test_what_a_pupil_types_first_finds_the_demo_lessons(app):
    """The issue's walk on the demo: subject, grade and edition words, pinyin, prefixes, ü and a homophone typo."""
    from learnspace.cli import main
    from learnspace.search.query import search

    runner = app.test_cli_runner()
    for command in (["init"], ["demo"]):
        result = runner.invoke(main, command)
        assert result.exit_code == 0, result.output
    with app.app_context():
        def titles(q: str) -> list[str]:
            return [hit["title"] for hit in search(None, q=q, per_page=50).hits]

        for q in ("数学", "shuxue"):
            assert titles(q) and {hit["subject"] for hit in search(None, q=q, per_page=50).hits} == {"数学"}, q
        assert "在牛肚子里旅行" in titles("三年级")
        assert {hit["edition"] for hit in search(None, q="人教版", per_page=50).hits} == {"人教版"}
        for q in ("八年级数学", "gougu", "勾股定理", "八年级数学勾股定理"):
            assert "勾股定理" in titles(q), q
        for q in ("lv", "lu", "lvxing", "luxing"):
            assert "在牛肚子里旅行" in titles(q), q
        typo = search(None, q="勾股定里")
        assert typo.by_pinyin and typo.hits[0]["title"] == "勾股定理"
