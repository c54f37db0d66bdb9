"""After ``learnspace init`` and ``learnspace demo`` the demo's lessons are searchable at once (nobody drains)."""
from __future__ import annotations

from sqlalchemy import select


def test_the_demo_lessons_are_searchable_when_init_and_demo_return(app):
    """Exactly what scripts/run --demo runs before serving; the test itself never applies the outbox."""
    from learnspace.cli import main
    from learnspace.extensions import db
    from learnspace.lessons.models import Lesson
    from learnspace.search.models import SearchOutbox
    from learnspace.search.query import search

    runner = app.test_cli_runner()
    init = runner.invoke(main, ["init"])
    assert init.exit_code == 0, init.output
    demo = runner.invoke(main, ["demo"])
    assert demo.exit_code == 0, demo.output
    assert "search: " in demo.output and "left for" not in demo.output
    with app.app_context():
        assert db.session.scalar(select(SearchOutbox.id)) is None
        public = db.session.execute(select(Lesson.id, Lesson.title).where(
            Lesson.status == "published", Lesson.visibility == "public")).all()
        assert len(public) >= 10
        for lesson_id, title in public:
            assert lesson_id in {hit["id"] for hit in search(None, q=title, per_page=50).hits}, title
