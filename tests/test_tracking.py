"""The tracking package on a temporary SQLite store: runs, the champion policy, and the queries
behind `launchlab cycles` and `launchlab diff`."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.dummy import DummyRegressor

from launchlab.config import Settings
from launchlab.stages import ChampionMetric
from launchlab.tracking import CHAMPION, Tracker


def _model() -> DummyRegressor:
    return DummyRegressor().fit(np.zeros((2, 1)), [0.0, 1.0])


def _champion(tracker: Tracker, name: str) -> str:
    return str(tracker.client.get_model_version_by_alias(name, CHAMPION).version)


def test_champion_moves_only_when_the_deciding_metric_improves(isolated_store):
    tracker = Tracker(Settings()).connect()
    lower = ChampionMetric("mase", higher_is_better=False)

    def register(metrics: dict[str, float]) -> str:
        run_id = tracker.start_stage(None, "02-trends")
        tracker.log_metrics(run_id, metrics)
        version = tracker.log_models(run_id, {"m": _model()}, metrics, {"m": lower})["m"]
        tracker.end_run(run_id)
        return version

    assert register({"mase": 1.0}) == "1" and _champion(tracker, "m") == "1"  # the first version is champion
    assert register({"mase": 1.2}) == "2" and _champion(tracker, "m") == "1"  # worse: stays
    assert register({}) == "3" and _champion(tracker, "m") == "1"  # no deciding metric: stays
    assert register({"mase": float("nan")}) == "4" and _champion(tracker, "m") == "1"
    assert register({"mase": 0.8}) == "5" and _champion(tracker, "m") == "5"  # better: moves
    # without a deciding metric for the model, only the first version becomes champion
    run_id = tracker.start_stage(None, "01-insight")
    tracker.log_models(run_id, {"other": _model()}, {"x": 1.0})
    tracker.log_models(run_id, {"other": _model()}, {"x": 2.0})
    assert _champion(tracker, "other") == "1"
    assert tracker.client.get_run(run_id).data.tags["model.other"] == "2"


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
