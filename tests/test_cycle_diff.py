"""Cycle diffs: needs matched by centroid, trend class and concept rank changes, model versions."""

from __future__ import annotations

import numpy as np
import pandas as pd

from launchlab.cycle_diff import diff_cycles, match_needs


def _needs(labels, vectors):
    return pd.DataFrame({"label": labels, "centroid": [list(np.asarray(v, float)) for v in vectors]})


def test_needs_match_by_centroid_even_when_relabelled():
    a = _needs(["fit / size", "zipper broke", "colour"], [[1, 0, 0], [0, 1, 0], [0, 0, 1]])
    b = _needs(["size runs small", "colour", "pockets"], [[0.98, 0.05, 0], [0, 0.02, 1], [0.5, -0.5, 0.7]])
    matched, new, vanished = match_needs(a, b)
    assert {(x, y) for x, y, _ in matched} == {("fit / size", "size runs small"), ("colour", "colour")}
    assert new == ["pockets"] and vanished == ["zipper broke"]


def test_diff_reports_trends_ranks_models_and_decision():
    needs = _needs(["a"], [[1, 0]])
    trends_a = pd.DataFrame({"unique_id": ["x", "y"], "class": ["stable", "rising"], "growth": [0.0, 0.3]})
    trends_b = pd.DataFrame({"unique_id": ["x", "y"], "class": ["rising", "rising"], "growth": [0.2, 0.3]})
    scores_a = pd.DataFrame({"concept_id": ["c1", "c2"], "name": ["One", "Two"], "rank": [1, 2], "score": [80.0, 60.0]})
    scores_b = pd.DataFrame({"concept_id": ["c2", "c3"], "name": ["Two", "Three"], "rank": [1, 2], "score": [75.0, 50.0]})
    diff = diff_cycles((needs, needs), (trends_a, trends_b), (scores_a, scores_b),
                       ({"launchlab-needs": "1", "launchlab-forecaster": "2"}, {"launchlab-needs": "1", "launchlab-forecaster": "3"}),
                       ("iterate", "scale"))
    assert diff.trend_changes[["unique_id", "class_a", "class_b"]].values.tolist() == [["x", "stable", "rising"]]
    ranks = diff.rank_changes.set_index("concept_id")
    assert ranks.loc["c2", "moved"] == 1 and np.isnan(ranks.loc["c3", "rank_a"]) and np.isnan(ranks.loc["c1", "rank_b"])
    assert diff.model_changes == {"launchlab-forecaster": ("2", "3")}
    assert diff.decision == ("iterate", "scale") and diff.new_needs == [] and diff.vanished_needs == []
