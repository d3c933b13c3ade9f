"""Learning from past launches: calibrated outcome model, cross-validated against the transparent score."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from launchlab.concepts import MODEL_NAME, ConceptsConfig, score_concepts
from launchlab.errors import InputError

PRAISE = ["pretty print skirt", "beautiful color blouse", "vibrant print dress", "gorgeous colors scarf", "pretty floral print top"]
PAIN = ["true-size dress that never runs small", "tee that is not see through", "dress with sizing true in the bust",
        "thick tee, no camisole needed", "jeans that do not run small or tight"]  # fmt: skip
OTHER = ["egg cooker for the kitchen", "garden hose with a brass nozzle", "cordless drill with batteries"]


def _history(n: int, *, winners: list[str], seed: int = 0, numeric: bool = False) -> pd.DataFrame:
    """Past launches whose outcome depends on the kind of concept (with noise)."""
    rng = np.random.default_rng(seed)
    pools = {"praise": PRAISE, "pain": PAIN, "other": OTHER}
    rows = []
    for i in range(n):
        kind = ["praise", "pain", "other"][i % 3]
        text = pools[kind][rng.integers(len(pools[kind]))]
        p = 0.85 if kind in winners else 0.1
        sales = (1000 if kind in winners else 200) + rng.normal(0, 100)
        rows.append({"concept_id": f"past-{i}", "name": text.split()[0].title(), "description": f"A {text}.",
                     "outcome": round(sales, 1) if numeric else int(rng.random() < p)})  # fmt: skip
    return pd.DataFrame(rows)


def test_without_history_the_transparent_score_is_used_and_said(concepts, needs, embedder):
    result = score_concepts(concepts, needs, embedder=embedder)
    assert result.params["score_source"] == "transparent"
    assert any("no history of past launches" in w for w in result.warnings)
    scores = result.tables["scores"]
    assert (scores["score"] == scores["score_transparent"]).all()


def test_history_that_contradicts_the_weights_is_learned(concepts, needs, embedder):
    plain = score_concepts(concepts, needs, embedder=embedder).tables["scores"].set_index("concept_id")
    history = _history(45, winners=["praise"])
    result = score_concepts(concepts, needs, embedder=embedder, history=history)
    m = result.metrics
    assert m["history_n"] == 45 and m["cv_auc"] > 0.8 and m["baseline_auc"] < 0.5 and m["history_improves"] == 1.0
    assert 0 <= m["cv_brier"] < 0.2
    assert result.params["score_source"] == "learned"
    scores = result.tables["scores"].set_index("concept_id")
    # The transparent ranking puts the pain-relieving dress first; past launches say prints sell.
    assert plain["score"].idxmax() == "fit"
    assert scores["score"].idxmax() == "print" and scores.loc["print", "rank"] == 1
    assert scores.loc["eggs", "rank"] == len(scores)  # no evidence ranks last, whatever the model says
    np.testing.assert_allclose(scores["score_transparent"], plain.loc[scores.index, "score"])
    assert (scores["score_lo"] <= scores["score"]).all() and (scores["score"] <= scores["score_hi"]).all()
    scorer = pickle.loads(pickle.dumps(result.models[MODEL_NAME]))
    assert scorer.head_ is not None
    # The registered estimator predicts the same learned score for a concept without claims.
    vec = embedder.encode(["Print skirt. A skirt with a beautiful vibrant print in pretty colors."])
    assert scorer.predict(vec)[0] == pytest.approx(scores.loc["print", "score"], abs=0.05)


def test_the_learned_model_is_used_only_when_it_wins(concepts, needs, embedder):
    for winners, seed in ((["pain"], 3), (["pain", "praise"], 2)):
        result = score_concepts(concepts, needs, embedder=embedder, history=_history(30, winners=winners, seed=seed))
        m = result.metrics
        wins = m["cv_auc"] > m["baseline_auc"]
        assert m["history_improves"] == float(wins)
        assert result.params["score_source"] == ("learned" if wins else "transparent")
        assert wins or any("does not beat the transparent score" in w for w in result.warnings)


def test_too_little_history_is_said_and_ignored(concepts, needs, embedder):
    result = score_concepts(concepts, needs, embedder=embedder, history=_history(6, winners=["praise"]))
    assert result.params["score_source"] == "transparent"
    assert any("too few to learn from" in w for w in result.warnings)


def test_numeric_outcome_is_regression_with_mae(concepts, needs, embedder):
    history = _history(36, winners=["praise"], numeric=True)
    result = score_concepts(concepts, needs, embedder=embedder, history=history)
    m = result.metrics
    assert m["history_task_classification"] == 0.0
    assert m["cv_mae"] < m["baseline_mae"] and result.params["score_source"] == "learned"
    assert result.tables["scores"]["score"].between(0, 100).all()


def test_bad_history_is_an_input_error(concepts, needs, embedder):
    history = _history(20, winners=["praise"])
    with pytest.raises(InputError, match="'outcome'"):
        score_concepts(concepts, needs, embedder=embedder, history=history.drop(columns=["outcome"]))
    bad = history.astype({"outcome": object})
    bad.loc[4, "outcome"] = "maybe"
    with pytest.raises(InputError, match=r"row 5.*'outcome'"):
        score_concepts(concepts, needs, embedder=embedder, history=bad, config=ConceptsConfig(history_task="classification"))
