"""Names, phone numbers and place names for synthetic people and places.

Written for this project: common surnames with rough frequencies (per mille, after the
national 2020 household-register ranking, rounded), and given-name characters that read
naturally for men and women.  Nothing here identifies a real person.
"""

from __future__ import annotations

import random
from itertools import accumulate
from typing import Final

from yilian.simulation.rng import pick

_SURNAMES: Final = (
    ("王", 73), ("李", 72), ("张", 69), ("刘", 54), ("陈", 46), ("杨", 33), ("黄", 25), ("赵", 23),
    ("吴", 21), ("周", 21), ("徐", 18), ("孙", 16), ("马", 15), ("朱", 14), ("胡", 14), ("郭", 13),
    ("何", 12), ("林", 11), ("高", 11), ("罗", 11), ("郑", 10), ("梁", 10), ("谢", 8), ("宋", 8),
    ("唐", 8), ("许", 7), ("韩", 7), ("邓", 7), ("冯", 7), ("曹", 7), ("彭", 6), ("曾", 6),
    ("肖", 6), ("田", 6), ("董", 5), ("潘", 5), ("袁", 5), ("蔡", 5), ("蒋", 5), ("余", 5),
    ("于", 5), ("杜", 5), ("叶", 4), ("程", 4), ("魏", 4), ("苏", 4), ("吕", 4), ("丁", 4),
    ("任", 4), ("卢", 4), ("姚", 3), ("沈", 3), ("钟", 3), ("姜", 3), ("崔", 3), ("谭", 3),
    ("陆", 3), ("范", 3), ("汪", 3), ("廖", 3), ("石", 3), ("金", 3), ("韦", 2), ("贾", 2),
    ("夏", 2), ("付", 2), ("方", 2), ("邹", 2), ("熊", 2), ("白", 2), ("孟", 2), ("秦", 2),
    ("邱", 2), ("侯", 2), ("江", 2), ("尹", 2), ("薛", 2), ("闫", 2), ("段", 2), ("雷", 2),
    ("欧阳", 1), ("司马", 1), ("上官", 1),
)
_SURNAME_LIST: Final = tuple(s for s, _ in _SURNAMES)
_SURNAME_CUM: Final = tuple(accumulate(w for _, w in _SURNAMES))

_MALE: Final = "伟强军磊涛明超勇杰峰建国华平刚斌波辉宇浩鹏飞俊凯文志东海林成龙鑫晨阳亮忠庆春祥德荣才松"
_FEMALE: Final = "芳娜敏静丽艳娟霞秀英玲红梅琳燕萍雪婷慧佳欣怡颖倩莉兰凤洁琴云桂晶丹月萱悦彤菲雨"
_SHARED: Final = "子思嘉一新明天文晓雅诗安瑞泽宁海春金永玉"

_PHONE_PREFIXES: Final = (
    "130", "131", "132", "133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
    "156", "157", "158", "159", "166", "173", "177", "180", "181", "182", "183", "185", "186", "187",
    "188", "189", "191", "198", "199",
)

# Syllables for township and village names beyond a preset's own list.
_PLACE_FIRST: Final = "东西南北新老大小上下前后中高长永太平安兴隆丰富宝金石青红白黄"
_PLACE_SECOND: Final = "河桥湾庄集店港口埠沟塘圩湖山岭坝营堡园林田洲"
_VILLAGE_SECOND: Final = "兴旺和民丰福胜利光明华阳星荣盛乐庆湖桥庄河"


def person_name(rng: random.Random, sex: int) -> str:
    surname = pick(rng, _SURNAME_LIST, _SURNAME_CUM)
    pool = _MALE if sex == 1 else _FEMALE
    first = rng.choice(pool if rng.random() < 0.7 else _SHARED)
    if rng.random() < 0.18:  # single-character given names
        return surname + first
    return surname + first + rng.choice(pool)


def mobile(rng: random.Random) -> str:
    return rng.choice(_PHONE_PREFIXES) + f"{rng.randrange(100_000_000):08d}"


def township_name(index: int) -> str:
    """A plausible township name for indexes past a preset's own list (deterministic)."""
    a = _PLACE_FIRST[index % len(_PLACE_FIRST)]
    b = _PLACE_SECOND[(index // len(_PLACE_FIRST)) % len(_PLACE_SECOND)]
    return f"{a}{b}镇"


def village_name(township_index: int, index: int) -> str:
    a = _PLACE_FIRST[(township_index * 7 + index) % len(_PLACE_FIRST)]
    b = _VILLAGE_SECOND[(township_index * 3 + index * 5) % len(_VILLAGE_SECOND)]
    return f"{a}{b}村"
