"""Builders shared by the DRG tests (imported as a top-level module: tests have no packages)."""

from __future__ import annotations

import shutil
from pathlib import Path

from yilian.payment.drg import DEMO_PACK_DIR, DrgCase

REPO_ROOT = Path(__file__).resolve().parents[3]
SHARED_PACK = REPO_ROOT.parent / "shared" / "data" / "chs-drg-1.1"
ORACLE_CASES = SHARED_PACK / "oracle-cases.csv"
NEEDS_SHARED = f"the shared CHS-DRG 1.1 pack is not at {SHARED_PACK} (checkout without ../shared)"


def case(
    *diagnoses: str,
    px: tuple[str, ...] = (),
    sex: int = 1,
    age: int = 60,
    days: int | None = None,
    weight: int | None = None,
) -> DrgCase:
    """A discharge: principal diagnosis first; a 60-year-old man unless told otherwise."""
    return DrgCase(sex=sex, age_years=age, diagnoses=diagnoses, procedures=px, age_days=days, birth_weight_g=weight)


def newborn(*diagnoses: str, days: int = 3, weight: int | None = 3200, px: tuple[str, ...] = ()) -> DrgCase:
    return case(*diagnoses, px=px, sex=2, age=0, days=days, weight=weight)


def copy_demo_pack(target: Path) -> Path:
    """A writable copy of the demo pack (our own data) to break or switch in a test."""
    shutil.copytree(DEMO_PACK_DIR, target)
    return target


def link_shared_pack(target: Path) -> Path:
    """The shared pack's files linked (not copied) into ``target``, with a writable pack.tsv."""
    target.mkdir()
    for f in SHARED_PACK.glob("*.tsv"):
        if f.name != "pack.tsv":
            (target / f.name).symlink_to(f)
    shutil.copyfile(SHARED_PACK / "pack.tsv", target / "pack.tsv")
    return target


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, fragment: str) -> int:
    """1-based line number of the first line containing ``fragment``."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if fragment in line:
            return number
    raise AssertionError(f"{fragment!r} not in {path.name}")
