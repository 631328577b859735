"""Indicator catalogue, engine, snapshots and scorecards (issue 6; not built yet)."""
