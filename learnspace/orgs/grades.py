"""Grades (年级): their natural order and which school stages (学段) teach them.

Grades are free text in rosters and catalogues, so every list, filter and export sorts them with
:func:`grade_sort_key` (一年级 … 九年级, 高一 … 高三) instead of by character code (七 before 三).
"""
from __future__ import annotations

from sqlalchemy import case, or_

_NUMERALS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二")

GRADES_OF_STAGE = {
    "小学": ("一年级", "二年级", "三年级", "四年级", "五年级", "六年级"),
    "初中": ("七年级", "八年级", "九年级"),
    "高中": ("高一", "高二", "高三"),
}
#: which catalogue stages (小学/初中/高中) a school of each kind (orgs.models.SCHOOL_STAGES) teaches
STAGES_OF_SCHOOL = {
    "小学": ("小学",), "初中": ("初中",), "高中": ("高中",), "九年一贯制": ("小学", "初中"),
    "完全中学": ("初中", "高中"), "十二年一贯制": ("小学", "初中", "高中"), "中职": ("高中",),
    "特殊教育": ("小学", "初中"),
}
#: years of schooling (1–12) of each stage
YEARS_OF_STAGE = {"小学": range(1, 7), "初中": range(7, 10), "高中": range(10, 13)}


def _spellings() -> dict[str, int]:
    """Every grade spelling the app recognises, with its year of schooling (1–12)."""
    years: dict[str, int] = {}
    for year, numeral in enumerate(_NUMERALS, start=1):
        years[f"{numeral}年级"] = years[f"{year}年级"] = year
    for offset, stage, short in ((0, "小学", None), (6, "初中", "初"), (9, "高中", "高")):
        for year in range(1, 7 if offset == 0 else 4):
            years[f"{stage}{_NUMERALS[year - 1]}年级"] = years[f"{stage}{year}年级"] = offset + year
            if short:
                years[f"{short}{_NUMERALS[year - 1]}"] = offset + year
    return years


#: spelling → year of schooling: 三年级/3年级/小学三年级 → 3, 七年级/初一/初中一年级 → 7, 高一/十年级/高中一年级 → 10
GRADE_YEARS = _spellings()


def grade_year(grade: str | None) -> int | None:
    """Return the year of schooling (1–12) of a grade spelling, or None if it is not one the app knows."""
    return GRADE_YEARS.get((grade or "").strip())


def grade_sort_key(grade: str | None) -> tuple:
    """Sort key for grades: known grades by year, then unknown ones by text, then no grade at all."""
    text = (grade or "").strip()
    year = GRADE_YEARS.get(text)
    if year is not None:
        return (0, year, text)
    return (1, 0, text) if text else (2, 0, "")


def grade_order(column):
    """SQL ORDER BY terms that sort *column* like :func:`grade_sort_key` (for paginated queries)."""
    known = case(GRADE_YEARS, value=column, else_=None)
    # known grades first by year, unknown text next, NULL/empty last
    rank = case((known.is_not(None), 0), (or_(column.is_(None), column == ""), 2), else_=1)
    return (rank, known, column)


def grade_fits_school(grade: str | None, school_stage: str | None) -> bool:
    """Whether a school of *school_stage* (e.g. 九年一贯制) teaches *grade*; unknown grades or stages fit."""
    year = grade_year(grade)
    stages = STAGES_OF_SCHOOL.get(school_stage or "")
    if year is None or stages is None:
        return True
    return any(year in YEARS_OF_STAGE[stage] for stage in stages)
