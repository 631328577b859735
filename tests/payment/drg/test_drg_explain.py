"""Explain mode: the trace of MDCs, ADRGs and secondaries, and its one-line rendering."""

from __future__ import annotations

from dataclasses import replace

from drg_testkit import case

from yilian.payment.drg import Grouper
from yilian.payment.drg.result import AdrgTried, MdcTried, SecondaryChecked


def test_trace_names_every_step_and_each_secondary(demo: Grouper) -> None:
    c = case("I50.900", "J96.000", "I50.000", "E11.900", "M54.500")
    result = demo.group(c, explain=True)
    assert result.trace is not None and demo.group(c).trace is None
    assert replace(result, trace=None) == demo.group(c)
    steps = result.trace.steps
    mdcs = [s for s in steps if isinstance(s, MdcTried)]
    assert [m.mdc for m in mdcs] == ["MDCA", "MDCP", "MDCZ", "MDCM", "MDCN", "MDCE", "MDCF"]
    assert [m.entered for m in mdcs] == [False] * 6 + [True]
    assert mdcs[0].rule == "pproc_or" and mdcs[-1].rule == "pdx"
    adrgs = [s for s in steps if isinstance(s, AdrgTried)]
    assert [a.adrg for a in adrgs] == ["FB1", "FB2", "FC1", "FM1", "FR1", "FR2"]
    assert [a.matched for a in adrgs] == [False] * 5 + [True]
    assert adrgs[0].rule == "proc:1 & proc:2"
    assert result.trace.principal_table == 1
    assert result.trace.secondaries == (
        SecondaryChecked("J96.000", "mcc", 3, excluded=False),
        SecondaryChecked("I50.000", "mcc", 1, excluded=True),
        SecondaryChecked("E11.900", "cc", 999, excluded=False),
        SecondaryChecked("M54.500", "", None, excluded=False),
    )
    assert [s.counted for s in result.trace.secondaries] == [True, False, True, False]


def test_rendered_trace_is_one_chinese_line(demo: Grouper) -> None:
    result = demo.group(case("I50.900", "J96.000", "I50.000"), explain=True)
    assert result.trace is not None
    text = result.trace.render()
    assert "\n" not in text
    assert text.startswith("未进入 MDCA、MDCP、MDCZ、MDCM、MDCN、MDCE；进入 MDCF（pdx）")
    assert "不符 FB1、FB2、FC1、FM1、FR1；符合 FR2（pdx）" in text
    assert "主要诊断排除表 1" in text
    assert "J96.000 MCC 计入" in text and "I50.000 MCC 被排除表 1 排除" in text


def test_fall_through_is_visible_in_the_trace(demo: Grouper) -> None:
    result = demo.group(case("J96.000", px=("31.1x00",)), explain=True)
    assert result.drg == "EZ19" and result.trace is not None
    text = result.trace.render()
    assert text.startswith("进入 MDCA（pproc_or）；不符 AC1、AE1、AH1、AH2；未进入 MDCP")
    assert "符合 EZ1（pdx）" in text


def test_ungrouped_trace_lists_what_was_tried(demo: Grouper) -> None:
    result = demo.group(case("K35.800"), explain=True)
    assert result.trace is not None and result.drg == "0000"
    assert "进入 MDCG（pdx）；不符 GC1、GB1、GU1、GZ1" in result.trace.render()
    assert result.trace.secondaries == () and result.trace.principal_table is None
