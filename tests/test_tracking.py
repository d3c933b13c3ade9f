"""The tracking package on a temporary SQLite store: runs and the queries behind `launchlab cycles`
and `launchlab diff` (the champion policy: tests/test_champion.py)."""

from __future__ import annotations

import pandas as pd

from launchlab.config import Settings
from launchlab.tracking import Tracker


def test_cycle_history_and_recorded_outputs(isolated_store, tmp_path):
    tracker = Tracker(Settings()).connect()
    parent = tracker.start_cycle("c-1", tags={"launchlab.cycle_id": "c-1", "decision": "scale", "model.launchlab-needs": "3"}, params={})
    outputs = tmp_path / "insight"
    outputs.mkdir()
    pd.DataFrame({"label": ["fit"]}).to_parquet(outputs / "needs.parquet")
    child = tracker.start_stage(parent, "01-insight", tags={"launchlab.cache_hit": "true"})
    tracker.record_stage(
        child, {"inputs": {"reviews": {"sha256": "abc", "rows_in": 3}}, "params": {"a": 1}, "metrics": {"n_needs": 1.0},
                "out_dir": str(outputs), "warnings": ["w"], "models": {}},
        reused=False,
    )
    tracker.end_run(child)
    tracker.end_run(parent)
    tracker.start_cycle("c-2", tags={"launchlab.cycle_id": "c-2"}, params={})

    history = tracker.cycle_history(limit=5)
    assert [e.cycle_id for e in history] == ["c-2", "c-1"]
    first = history[1]
    assert first.status == "FINISHED" and first.tags["decision"] == "scale" and set(first.stages) == {"01-insight"}
    assert first.stages["01-insight"].seconds >= 0 and first.stages["01-insight"].cached is False  # record_stage set the tag
    assert tracker.client.get_run(child).data.tags["data.reviews.sha256"] == "abc"

    recorded = tracker.recorded_cycle("c-1", [("01-insight", "needs.parquet"), ("02-trends", "trends.parquet")])
    assert recorded.cycle_id == "c-1" and recorded.decision == "scale" and recorded.models == {"launchlab-needs": "3"}
    assert recorded.outputs[("01-insight", "needs.parquet")]["label"].tolist() == ["fit"]
    assert recorded.outputs[("02-trends", "trends.parquet")] is None
    assert tracker.recorded_cycle("previous", []).run_id == parent
    assert tracker.recorded_cycle("no-such-cycle", []) is None
