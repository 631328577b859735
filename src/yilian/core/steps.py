"""A feature's step in ``yilian simulate county``.

Features sit below ``yilian.simulation`` in the layer contract and cannot import its ``Stage``; each keeps
its step in ``yilian.<feature>.simulate`` as ``STAGES = (SimulationStep(...),)``, which
``simulation.pipeline.discover_feature_stages`` finds and registers.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class SimulationStep:
    name: str
    label_zh: str
    order: int
    run: Callable[[Any, Any], None]  # (SimContext, Tracker): typed loosely, the feature cannot name them
