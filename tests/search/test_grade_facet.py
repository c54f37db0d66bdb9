"""The search page's 年级 facet lists grades in school order (四 五 七), not by count or character code."""
from __future__ import annotations

import re

from tests.search.test_pages import page, sw  # noqa: F401  (sw is the search world fixture)


def chapter_of_grade(grade: str, number: int):
    """A 小学/初中 数学 chapter whose volume is of *grade*."""
    from tests.fixtures.lessons import _node

    stage = "初中" if grade == "七年级" else "小学"
    facets = {"stage": stage}
    root = _node(f"g-{stage}", "stage", stage, None, **facets)
    facets["subject"] = "数学"
    subject = _node(f"g-{stage}-math", "subject", "数学", root, **facets)
    facets["edition"] = "人教版"
    edition = _node(f"g-{stage}-math-pep", "edition", "人教版", subject, **facets)
    facets["grade"] = grade
    volume = _node(f"g-{stage}-math-pep-{number}", "volume", f"{grade}上册", edition, **facets)
    return _node(f"g-{stage}-math-pep-{number}-u1", "chapter", "第一单元", volume, **facets)


def test_grade_facet_is_in_school_order(app, client, sw):  # noqa: F811
    """Three 七年级 lessons, two 五年级, one 四年级: the facet still reads 四年级, 五年级, 七年级."""
    from learnspace.extensions import db
    from tests.fixtures.search import index_now, publish_lesson

    with app.app_context():
        for grade, number, lessons in (("七年级", 7, 3), ("五年级", 5, 2), ("四年级", 4, 1)):
            node = chapter_of_grade(grade, number).id
            db.session.commit()
            for n in range(lessons):
                publish_lesson(sw["teachers"]["wang"], f"排序练习 {grade}{n}", node=node)
        index_now()
        db.session.remove()
    html = page(client, "/search?q=排序练习")
    values = re.findall(r'class="facet-value"[^>]*>([^<]+)<span class="count">(\d+)</span>', html)
    grades = [(name, int(count)) for name, count in values if name.endswith("年级")]
    assert grades == [("四年级", 1), ("五年级", 2), ("七年级", 3)]
