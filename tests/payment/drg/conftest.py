"""Fixtures of the DRG tests: the demo pack compiled once per session."""

from __future__ import annotations

import pytest

from yilian.payment.drg import DEMO_PACK_DIR, Grouper, load_grouper


@pytest.fixture(scope="session")
def demo() -> Grouper:
    return load_grouper(DEMO_PACK_DIR)
