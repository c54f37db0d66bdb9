"""The demo editions: ``learnspace demo`` loads the catalogue and gives every demo school editions, once."""
from __future__ import annotations

from sqlalchemy import select

from learnspace.catalog import operations
from learnspace.cli import main
from learnspace.extensions import db
from learnspace.orgs.models import School
from tests.fixtures.catalog import node


def test_demo_loads_the_catalogue_and_gives_demo_schools_editions_that_a_rerun_keeps(app):
    """After ``learnspace demo`` every demo school has editions (both maths editions in use); a rerun keeps an
    admin's change."""
    runner = app.test_cli_runner()
    assert runner.invoke(main, ["demo"]).exit_code == 0
    with app.app_context():
        schools = db.session.scalars(select(School).order_by(School.code)).all()
        chosen = {s.code: operations.editions_for_school(s) for s in schools}
        assert len(schools) == 12 and all(chosen.values())
        primary = chosen["4301020001"]
        assert {("三年级", "数学"), ("三年级", "语文"), ("六年级", "数学")} <= set(primary)
        assert all(n.stage == "小学" for n in primary.values())
        assert {n.key for c in chosen.values() for (g, s), n in c.items() if (g, s) == ("三年级", "数学")} == {
            "xx-math-pep", "xx-math-bsd"}
        junior = chosen["4301020003"]
        assert set(junior) == {(g, s) for g in ("七年级", "八年级", "九年级") for s in ("数学", "语文")}
        school = db.session.scalar(select(School).where(School.code == "4301020001"))
        other = "xx-math-bsd" if primary[("三年级", "数学")].key == "xx-math-pep" else "xx-math-pep"
        operations.set_school_edition(school, "三年级", "数学", node(other))
        db.session.commit()
    assert runner.invoke(main, ["demo"]).exit_code == 0
    with app.app_context():
        school = db.session.scalar(select(School).where(School.code == "4301020001"))
        assert operations.edition_for(school, "三年级", "数学").key == other
