"""The matcher: terms found exactly and in the variant forms people use to slip past a plain search."""
from __future__ import annotations

import random

import pytest

from learnspace.moderation.matcher import Matcher, fold


def matcher(*terms: str) -> Matcher:
    return Matcher([(fold(t), t) for t in terms])


@pytest.mark.parametrize("text, folded", [
    ("ＳＢ １２３", "sb123"),            # full-width letters and digits → half-width, lower case
    ("Hello World", "helloworld"),        # case and spaces
    ("頭髮亂了，發愁", "头发乱了发愁"),     # traditional → simplified, punctuation dropped
    ("臺灣", "台湾"),
    ("傻\u200b逼", "傻逼"),               # zero-width space (a format character)
    ("傻★逼♥", "傻逼"),                   # symbols
    ("ｶﾀｶﾅ", "カタカナ"),                  # half-width katakana → full-width
    ("Straße", "strasse"),                # case folding, not just lower()
])
def test_folding(text, folded):
    assert fold(text) == folded


@pytest.mark.parametrize("text", [
    "你真是个脑残",          # exact
    "你真是個腦殘",          # traditional
    "你真是个脑 残",         # a space between the characters
    "你真是个脑.残",         # punctuation
    "你真是个脑、，残",       # several separators
    "你真是个脑\u200b残",     # zero-width space
    "你真是个脑\n残",        # a line break
    "你真是个 腦－殘！",      # traditional + full-width hyphen + full-width exclamation
])
def test_variants_of_a_chinese_term_are_found(text):
    assert matcher("脑残").terms_in(text) == ["脑残"]


def test_a_term_listed_in_traditional_form_catches_simplified_text():
    assert matcher("腦殘").terms_in("脑残") == ["腦殘"]


@pytest.mark.parametrize("text", ["this is SPAM", "ｓｐａｍ!", "S p A m", "s-p-a-m"])
def test_latin_terms_ignore_case_width_and_separators(text):
    assert matcher("spam").terms_in(text) == ["spam"]


def test_clean_text_and_near_misses_are_not_refused():
    m = matcher("脑残", "去死")
    assert m.terms_in("这节课讲得真好，脑子都清楚了") == []
    assert m.terms_in("脑1残") == []  # a letter or digit in between is not a separator (documented limit)
    assert m.terms_in("") == []


def test_every_term_once_in_order_of_first_occurrence():
    m = matcher("脑残", "去死", "垃圾")
    assert m.terms_in("去死吧，垃圾，脑残，去 死") == ["去死", "垃圾", "脑残"]
    assert [h.term for h in m.hits("去死去死")] == ["去死", "去死"]


def test_overlapping_and_nested_terms_are_all_reported():
    assert matcher("垃圾", "垃圾老师").terms_in("真是垃圾老师") == ["垃圾", "垃圾老师"]


def test_an_empty_list_finds_nothing():
    assert Matcher([]).terms_in("随便说点什么") == []


def test_a_large_list_still_finds_its_terms():
    """The automaton does not degrade with the list size: 50,000 random terms, the planted ones are found."""
    rng = random.Random(6)
    alphabet = [chr(c) for c in range(0x4E00, 0x4E00 + 3000)]
    terms = {"".join(rng.choice(alphabet) for _ in range(rng.randint(3, 6))) for _ in range(50_000)}
    m = Matcher([(fold(t), t) for t in terms])
    planted = sorted(terms)[:3]
    text = "，".join(f"前面的话{p[0]} {p[1:]}后面" for p in planted)
    found = m.terms_in(text)
    assert set(planted) <= set(found)
    assert m.size == len(terms)
