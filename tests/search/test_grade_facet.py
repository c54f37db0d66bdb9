"""The search page's 年级 facet lists grades in school order (四 五 七), not by count or character code."""
from __future__ import annotations

import re

from tests.search.test_pages import page, sw  # noqa: F401  (sw is the search world fixture)


def chapter_of_grade(grade: str, number: int, volume: str = "上册"):
    """A 小学/初中 数学 chapter whose volume is *grade* + *volume* (七年级上册)."""
    from tests.fixtures.lessons import _node

    stage = "初中" if grade == "七年级" else "小学"
    facets = {"stage": stage}
    root = _node(f"g-{stage}", "stage", stage, None, **facets)
    facets["subject"] = "数学"
    subject = _node(f"g-{stage}-math", "subject", "数学", root, **facets)
    facets["edition"] = "人教版"
    edition = _node(f"g-{stage}-math-pep", "edition", "人教版", subject, **facets)
    facets["grade"] = grade
    volume = _node(f"g-{stage}-math-pep-{number}", "volume", f"{grade}{volume}", edition, **facets)
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


def test_volume_words_filter_grade_and_volume_from_the_catalogue(app, client, sw):  # noqa: F811
    """The 册次 comes from the lesson's catalogue volume: 七上 finds the 上册 lesson, not the 下册 one."""
    from learnspace.extensions import db
    from tests.fixtures.search import index_now, publish_lesson

    with app.app_context():
        upper = chapter_of_grade("七年级", 17).id
        lower = chapter_of_grade("七年级", 18, volume="下册").id
        db.session.commit()
        publish_lesson(sw["teachers"]["wang"], "分册练习 秋季", node=upper)
        publish_lesson(sw["teachers"]["wang"], "分册练习 春季", node=lower)
        publish_lesson(sw["teachers"]["wang"], "分册练习 夏季", node=lower)  # more 下册 than 上册
        index_now()
        db.session.remove()
    html = page(client, "/search?q=七上 分册练习")
    assert "秋季" in html and "春季" not in html
    assert re.search(r"已按搜索词筛选.*七年级.*上册", html, re.S)
    html = page(client, "/search?q=分册练习 下学期")
    assert "春季" in html and "秋季" not in html
    # The facet panel offers 册次 with both values, and the URL filter means the same.
    html = page(client, "/search?q=分册练习")
    values = re.findall(r'class="facet-value"[^>]*>([^<]+)<span class="count">(\d+)</span>', html)
    assert [name for name, _ in values if name.endswith("册")] == ["上册", "下册"]  # book order, not by count
    html = page(client, "/search?q=分册练习&volume=上册")
    assert "秋季" in html and "春季" not in html
