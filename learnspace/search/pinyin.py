"""Pinyin as people type it: the query side of the ``pinyin`` field (the index side is analysis.pinyin_terms).

* ü: the index writes it as v (pypinyin: 旅 → lv, 略 → lve); phone keyboards type v, u or ü,
  so a typed l/n + u is looked up both ways (lu → lu, lv) and j/q/x/y + v as u (jv → ju).
* separators: gou'gu and gou-gu are gougu; join_runs joins words that are whole syllables
  (gou gu → gougu) so the caller can try the joined form first.
* prefixes: a typed string matches the pinyin terms that start with it, as the suggestions do,
  when it is long enough to be specific (at least PREFIX_LETTERS letters) or a run of whole
  syllables (lv, gou, shuxue); shorter fragments (zh, gg) must be a whole term.
* homophone typos: ``of_chinese`` gives the full pinyin of a Chinese word (勾股定里 → gougudingli).

Pure functions of their input; matching.py applies them to the index.
"""
from __future__ import annotations

import re
from functools import lru_cache
from itertools import product

from .analysis import _CJK, _pinyin

#: a typed pinyin prefix of at least this many letters matches the terms it starts
PREFIX_LETTERS = 4
#: at most this many spellings of one typed word are looked up (each ambiguous ü doubles them)
MAX_VARIANTS = 4
#: the toneless syllables of Mandarin as pypinyin writes them (ü as v)
SYLLABLES = frozenset("""
    a ai an ang ao ba bai ban bang bao bei ben beng bi bian biang biao bie bin bing bo bong bu ca cai can
    cang cao ce cei cen ceng cha chai chan chang chao che chen cheng chi chong chou chu chua chuai chuan
    chuang chui chun chuo ci cong cou cu cuan cui cun cuo da dai dan dang dao de dei den deng di dia dian
    diao die din ding diu dong dou du duan dui dun duo e ei en eng er fa fan fang fei fen feng fiao fo fou
    fu ga gai gan gang gao ge gei gen geng gong gou gu gua guai guan guang gui gun guo ha hai han hang hao
    he hei hen heng hong hou hu hua huai huan huang hui hun huo ji jia jian jiang jiao jie jin jing jiong
    jiu ju juan jue jun ka kai kan kang kao ke kei ken keng kong kou ku kua kuai kuan kuang kui kun kuo la
    lai lan lang lao le lei len leng li lia lian liang liao lie lin ling liu lo long lou lu luan lun luo lv
    lve ma mai man mang mao me mei men meng mi mian miao mie min ming miu mo mou mu na nai nan nang nao ne
    nei nen neng ni nia nian niang niao nie nin ning niu nong nou nu nuan nun nuo nv nve o ou pa pai pan
    pang pao pei pen peng pi pian piao pie pin ping po pou pu qi qia qian qiang qiao qie qin qing qiong qiu
    qu quan que qun ran rang rao re ren reng ri rong rou ru rua ruan rui run ruo sa sai san sang sao se sen
    seng sha shai shan shang shao she shei shen sheng shi shou shu shua shuai shuan shuang shui shun shuo
    si song sou su suan sui sun suo ta tai tan tang tao te tei teng ti tian tiao tie ting tong tou tu tuan
    tui tun tuo wa wai wan wang wei wen weng wo wong wu xi xia xian xiang xiao xie xin xing xiong xiu xu
    xuan xue xun ya yan yang yao ye yi yin ying yo yong you yu yuan yue yun za zai zan zang zao ze zei zen
    zeng zha zhai zhan zhang zhao zhe zhei zhen zheng zhi zhong zhou zhu zhua zhuai zhuan zhuang zhui zhun
    zhuo zi zong zou zu zuan zui zun zuo
""".split())
_LONGEST = max(len(s) for s in SYLLABLES)
_SEPARATORS = re.compile(r"['’‘`·-]")
_LETTERS = re.compile(r"[a-z]+")
#: where a typed u or v is ambiguous: l/n + u may be ü; j/q/x/y + v is written u by pypinyin
_AMBIGUOUS = re.compile(r"(?<=[ln])u|(?<=[jqxy])v")


def typed(word: str) -> str | None:
    """The pinyin letters of a typed *word* (separators dropped, ü as v), or None when it is not pinyin-like."""
    word = _SEPARATORS.sub("", word.replace("ü", "v"))
    return word if _LETTERS.fullmatch(word) else None


@lru_cache(maxsize=4096)
def is_syllables(letters: str) -> bool:
    """Whether *letters* is a run of whole syllables (gougu, lv, shuxue; not zh, gg)."""
    ends = {0}
    for end in range(1, len(letters) + 1):
        if any(end - size in ends and letters[end - size:end] in SYLLABLES for size in range(1, _LONGEST + 1)):
            ends.add(end)
    return len(letters) in ends


def prefix_allowed(letters: str) -> bool:
    """Whether *letters* also matches the terms it starts (long enough, or whole syllables but not one letter)."""
    return len(letters) >= PREFIX_LETTERS or (len(letters) >= 2 and is_syllables(letters))


@lru_cache(maxsize=4096)
def variants(letters: str) -> tuple[str, ...]:
    """The spellings of *letters* to look up, as typed first: lu → (lu, lv); nve → (nve,); jv → (jv, ju)."""
    spots = [m.start() for m in _AMBIGUOUS.finditer(letters)][:MAX_VARIANTS.bit_length() - 1]
    if not spots:
        return (letters,)
    out = []
    for choice in product((False, True), repeat=len(spots)):
        chars = list(letters)
        for spot, swap in zip(spots, choice):
            if swap:
                chars[spot] = "v" if chars[spot] == "u" else "u"
        out.append("".join(chars))
    return tuple(dict.fromkeys(out))[:MAX_VARIANTS]


def join_runs(words: list[str]) -> list[str]:
    """*words* with each run of consecutive whole-syllable pinyin words joined (gou gu → gougu)."""
    out: list[str] = []
    run: list[str] = []
    for word in words + [""]:
        letters = typed(word) if word else None
        if letters and is_syllables(letters):
            run.append(letters)
            continue
        if run:
            out.append("".join(run) if len(run) > 1 else run[0])
            run = []
        if word:
            out.append(word)
    return out


def of_chinese(word: str) -> str | None:
    """The full pinyin of the Chinese characters of *word* (勾股定里 → gougudingli), or None without any."""
    if not _CJK.search(word):
        return None
    full = _pinyin("".join(_CJK.findall(word)))[0]
    return full or None
