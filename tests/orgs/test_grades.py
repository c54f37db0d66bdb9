"""Grades in natural order (一年级 … 九年级, 高一 … 高三) and which school stages teach them."""
from __future__ import annotations

import random

from learnspace.orgs.grades import grade_fits_school, grade_sort_key, grade_year

NATURAL = ["一年级", "二年级", "三年级", "四年级", "五年级", "六年级", "七年级", "八年级", "九年级", "高一", "高二", "高三"]


def test_the_app_grades_sort_in_school_order_not_by_character_code():
    """Shuffled 一年级…高三 come back in school order; plain sorted() would put 七 before 三."""
    shuffled = random.Random(7).sample(NATURAL, len(NATURAL))
    assert sorted(shuffled, key=grade_sort_key) == NATURAL
    assert sorted(["七年级", "三年级", "五年级", "四年级"]) == ["七年级", "三年级", "五年级", "四年级"]


def test_every_spelling_of_a_year_sorts_with_it():
    """初一/初中一年级/7年级 are year 7, 高中一年级/十年级 year 10, 小学三年级/3年级 year 3."""
    assert {g: grade_year(g) for g in ("初一", "初中一年级", "初中1年级", "7年级", "七年级")} == dict.fromkeys(
        ("初一", "初中一年级", "初中1年级", "7年级", "七年级"), 7)
    assert [grade_year(g) for g in ("高中一年级", "十年级", "高一", "高中三年级", "十二年级", "高三", "12年级")] == \
        [10, 10, 10, 12, 12, 12, 12]
    assert [grade_year(g) for g in ("小学三年级", "3年级", " 三年级 ", "初三", "九年级")] == [3, 3, 3, 9, 9]
    mixed = ["高中二年级", "初三", "小学六年级", "初一", "八年级", "1年级", "十年级"]
    assert sorted(mixed, key=grade_sort_key) == ["1年级", "小学六年级", "初一", "八年级", "初三", "十年级", "高中二年级"]


def test_unknown_grades_sort_after_known_ones_by_text_and_no_grade_last():
    """Unknown spellings (学前班, 毕业班, 初四) follow 高三 in text order; empty and None come last."""
    grades = ["毕业班", None, "高三", "学前班", "", "一年级", "初四", "七年级"]
    ordered = sorted(grades, key=grade_sort_key)
    assert ordered[:3] == ["一年级", "七年级", "高三"]
    assert ordered[3:6] == sorted(["毕业班", "学前班", "初四"])
    assert set(ordered[6:]) == {None, ""}
    assert grade_year("初四") is None and grade_year("学前班") is None


def test_which_grades_fit_which_school_stage():
    """小学 1–6, 初中 7–9, 高中 10–12; 九年一贯制 and 完全中学 span stages; unknown grades or stages always fit."""
    assert grade_fits_school("六年级", "小学") and not grade_fits_school("七年级", "小学")
    assert not grade_fits_school("初一", "小学") and not grade_fits_school("三年级", "初中")
    assert grade_fits_school("初一", "初中") and not grade_fits_school("高一", "初中")
    assert grade_fits_school("高中一年级", "高中") and not grade_fits_school("九年级", "高中")
    assert grade_fits_school("三年级", "九年一贯制") and grade_fits_school("九年级", "九年一贯制")
    assert not grade_fits_school("高一", "九年一贯制")
    assert grade_fits_school("八年级", "完全中学") and grade_fits_school("高三", "完全中学")
    assert not grade_fits_school("五年级", "完全中学")
    assert all(grade_fits_school(g, "十二年一贯制") for g in NATURAL)
    assert grade_fits_school("兴趣班", "小学") and grade_fits_school(None, "小学") and grade_fits_school("七年级", "")
