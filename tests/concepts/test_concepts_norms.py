"""Norms: percentiles against past concepts of the same category."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from launchlab.concepts import score_concepts
from launchlab.concepts.norms import percentile
from launchlab.errors import InputError


def _past(embedder_id: str) -> pd.DataFrame:
    knits = pd.DataFrame(
        {"concept_id": [f"k{i}" for i in range(25)], "category": "knits", "score": np.arange(25) * 4.0}
    )
    dresses = pd.DataFrame({"concept_id": ["d1", "d2", "d3"], "category": "Dresses", "score": [10.0, 90.0, 95.0]})
    return pd.concat([knits, dresses], ignore_index=True).assign(embedder=embedder_id)


def test_percentile_counts_ties_half():
    assert percentile(50.0, np.array([10.0, 50.0, 90.0, 20.0])) == pytest.approx(62.5)
    assert np.isnan(percentile(50.0, np.array([])))


def test_without_norms_says_so_and_starts_the_table(concepts, needs, embedder):
    result = score_concepts(concepts, needs, embedder=embedder)
    scores = result.tables["scores"]
    assert scores["norm_percentile"].isna().all() and (scores["norm_basis"] == "none").all()
    assert any("no norms given" in w for w in result.warnings)
    norms = result.tables["norms"]
    assert sorted(norms["concept_id"]) == sorted(concepts["concept_id"])
    assert (norms["embedder"] == embedder.model_id).all()
    assert np.allclose(norms.set_index("concept_id")["score"], scores.set_index("concept_id")["score"])


def test_percentile_against_same_category_with_enough_norms(concepts, needs, embedder):
    result = score_concepts(concepts, needs, embedder=embedder, norms=_past(embedder.model_id))
    scores = result.tables["scores"].set_index("concept_id")
    opaque = scores.loc["opaque"]  # category "Knits" matches "knits"
    assert opaque["norm_basis"] == "category" and opaque["norm_n"] == 25 and opaque["norm_enough"]
    expected = percentile(opaque["score"], np.arange(25) * 4.0)
    assert opaque["norm_percentile"] == pytest.approx(expected, abs=0.05)
    fit = scores.loc["fit"]  # three past dresses: reported, flagged
    assert fit["norm_basis"] == "category" and fit["norm_n"] == 3 and not fit["norm_enough"]
    assert any("fewer than 20 past concepts" in w and "'fit'" in w for w in result.warnings)
    assert scores.loc["print", "norm_basis"] == "all" and scores.loc["print", "norm_n"] == 28
    assert len(result.tables["norms"]) == 28 + len(concepts)
    assert result.metrics["norms_n"] == 28


def test_rescoring_replaces_a_concept_and_ignores_other_embedders(concepts, needs, embedder):
    first = score_concepts(concepts, needs, embedder=embedder, norms=_past(embedder.model_id))
    mixed = pd.concat([first.tables["norms"], _past("another-model").assign(concept_id=lambda f: "x" + f["concept_id"])])
    again = score_concepts(concepts, needs, embedder=embedder, norms=mixed)
    assert len(again.tables["norms"]) == len(mixed)  # the four concepts replaced, not appended
    scores = again.tables["scores"].set_index("concept_id")
    assert scores.loc["opaque", "norm_n"] == 25  # itself and the other model's norms excluded
    assert any("another embedding model" in w for w in again.warnings)


def test_bad_norms_are_input_errors(concepts, needs, embedder):
    with pytest.raises(InputError, match="'score'"):
        score_concepts(concepts, needs, embedder=embedder, norms=pd.DataFrame({"concept_id": ["a"]}))
    with pytest.raises(InputError, match=r"row 2.*between 0 and 100"):
        score_concepts(concepts, needs, embedder=embedder, norms=pd.DataFrame({"concept_id": ["a", "b"], "score": [5, 500]}))
