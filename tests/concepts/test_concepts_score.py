"""The concept-scoring stage on handmade needs with the deterministic test embedder."""

from __future__ import annotations

import copy
import json
import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from launchlab.concepts import COMPONENTS, DEFAULT_WEIGHTS, MODEL_NAME, SCORE_COLUMNS, ConceptScorer, ConceptsConfig, score_concepts
from launchlab.errors import InputError


def _scores(result) -> pd.DataFrame:
    return result.tables["scores"].set_index("concept_id")


def test_concept_for_big_negative_need_outranks_unrelated(concepts, needs, embedder, need_texts):
    scores = _scores(score_concepts(concepts, needs, embedder=embedder))
    assert scores.loc["fit", "score"] > scores.loc["eggs", "score"] + 40
    assert scores.loc["eggs", "rank"] == len(scores)
    assert scores.loc["fit", "top_needs"][0] == "runs small"
    assert scores.loc["opaque", "top_needs"][0] == "see-through fabric"
    assert scores.loc["eggs", "top_needs"] == []
    assert scores.loc["eggs", "relevance"] < 0.2
    assert "no customer evidence" in scores.loc["eggs", "explanation"]
    facts = json.loads(scores.loc["opaque", "top_need_facts"])
    assert facts[0]["label"] == "see-through fabric" and facts[0]["share"] == 0.25 and facts[0]["neg_share"] == 0.5
    assert len(facts[0]["quotes"]) == 2 and all(q in need_texts["see-through fabric"][3] for q in facts[0]["quotes"])


def test_pain_relief_separates_complaint_from_praise(concepts, needs, embedder):
    scores = _scores(score_concepts(concepts, needs, embedder=embedder))
    # "love the color" is a large need (30%) but hardly negative; "see-through" a painful one.
    assert scores.loc["print", "need_fit"] > scores.loc["opaque", "need_fit"]
    assert scores.loc["opaque", "pain_relief"] > scores.loc["print", "pain_relief"] + 20


def test_adding_a_pain_relief_claim_raises_the_score(build_concepts, needs, embedder):
    base = {"concept_id": "tee", "name": "Everyday tee", "description": "A basic cotton tee for every day.", "claims": []}
    better = dict(base, concept_id="tee+", claims=["Thick fabric that is not see through, no camisole needed"])
    scores = _scores(score_concepts(build_concepts([base, better]), needs, embedder=embedder))
    assert scores.loc["tee+", "pain_relief"] > scores.loc["tee", "pain_relief"] + 10
    assert scores.loc["tee+", "score"] > scores.loc["tee", "score"] + 5
    assert "see-through fabric" in scores.loc["tee+", "top_needs"]


def test_adding_a_claim_that_repeats_a_complaint_lowers_the_score(build_concepts, needs, embedder):
    base = {"concept_id": "tee", "name": "Everyday tee", "description": "A soft and comfy tee in pretty colors.", "claims": []}
    worse = dict(base, concept_id="tee-", claims=["Sheer, thin and lightweight fabric"])
    scores = _scores(score_concepts(build_concepts([base, worse]), needs, embedder=embedder))
    assert scores.loc["tee-", "risk"] > 20 and scores.loc["tee", "risk"] == 0
    assert scores.loc["tee-", "score"] < scores.loc["tee", "score"] - 5
    assert scores.loc["tee-", "risk_terms"] == ["sheer", "thin"]
    assert "Risk" in scores.loc["tee-", "explanation"] and "“sheer”" in scores.loc["tee-", "explanation"]


def test_white_space_is_low_for_more_of_what_is_already_praised(concepts, needs, embedder):
    scores = _scores(score_concepts(concepts, needs, embedder=embedder))
    # The print skirt matches the most praised need: high need fit, no white space.
    assert scores.loc["print", "white_space"] < 5 < scores.loc["opaque", "white_space"]
    assert scores.loc["eggs", "white_space"] < 5  # no evidence is not white space


def test_same_seed_same_result_other_seed_same_point_score(concepts, needs, embedder):
    a = score_concepts(concepts, needs, embedder=embedder, config=ConceptsConfig(seed=7))
    b = score_concepts(concepts, needs, embedder=embedder, config=ConceptsConfig(seed=7))
    c = score_concepts(concepts, needs, embedder=embedder, config=ConceptsConfig(seed=8))
    pd.testing.assert_frame_equal(a.tables["scores"], b.tables["scores"])
    assert a.metrics == b.metrics
    pd.testing.assert_series_equal(a.tables["scores"]["score"], c.tables["scores"]["score"])
    assert not np.allclose(a.tables["scores"]["score_lo"], c.tables["scores"]["score_lo"])


def test_schema_range_band_and_rank_order(concepts, needs, embedder):
    result = score_concepts(concepts, needs, embedder=embedder)
    scores = result.tables["scores"]
    assert list(scores.columns[: len(SCORE_COLUMNS)]) == list(SCORE_COLUMNS)
    assert scores["score"].between(0, 100).all()
    assert (scores["score_lo"] <= scores["score"]).all() and (scores["score"] <= scores["score_hi"]).all()
    assert (scores["score_hi"] - scores["score_lo"]).max() > 0
    assert list(scores["rank"]) == list(range(1, len(scores) + 1))
    assert scores["score"].is_monotonic_decreasing
    for c in ("need_fit", "pain_relief"):
        assert scores[c].between(0, 100).all()
    # Scores spread: the set is not bunched around one value.
    assert scores["score"].max() - scores["score"].min() > 50
    assert result.metrics["top_score_gap"] == pytest.approx(scores["score"].iloc[0] - scores["score"].iloc[1])
    assert result.metrics["n_concepts"] == 4 and result.metrics["score_max"] == scores["score"].max()
    assert [r["concept_id"] for r in result.summary["ranking"]] == list(scores["concept_id"])
    assert isinstance(result.models[MODEL_NAME], ConceptScorer)


def test_overall_is_documented_weighted_mean(build_concepts, needs, embedder):
    rows = [
        {"concept_id": "a", "name": "Sheer tee", "description": "A thin, sheer tee that runs small.", "claims": []},
        {"concept_id": "b", "name": "Opaque tee", "description": "A tee that is not see through.", "claims": []},
    ]
    config = ConceptsConfig(weights={"need_fit": 1.0, "pain_relief": 3.0, "white_space": 1.0, "risk": 0.25})
    scores = score_concepts(build_concepts(rows), needs, embedder=embedder, config=config).tables["scores"]
    expected = (scores["need_fit"] + 3 * scores["pain_relief"] + scores["white_space"]) / 5 - 0.25 * scores["risk"]
    np.testing.assert_allclose(scores["score"], expected.clip(0, 100), atol=0.05)
    assert scores.set_index("concept_id").loc["a", "risk"] > 20


def test_no_trends_leaves_momentum_out_and_says_so(concepts, needs, embedder):
    result = score_concepts(concepts, needs, embedder=embedder)
    assert result.tables["scores"]["momentum"].isna().all()
    assert any("momentum not scored" in w for w in result.warnings)
    assert "momentum not scored (no need trends)" in result.tables["scores"]["explanation"].iloc[0]
    assert result.params["momentum_scored"] is False


def test_empty_concepts_is_a_clear_input_error(needs, embedder):
    empty = pd.DataFrame(columns=["concept_id", "name", "description", "claims", "price", "category", "source_row"])
    with pytest.raises(InputError, match="concepts table is empty"):
        score_concepts(empty, needs, embedder=embedder)


def test_missing_column_and_duplicate_id_are_input_errors(concepts, needs, embedder):
    with pytest.raises(InputError, match="'description'"):
        score_concepts(concepts.drop(columns=["description"]), needs, embedder=embedder)
    dup = concepts.copy()
    dup.loc[2, "concept_id"] = "fit"
    with pytest.raises(InputError, match=r"row 3.*'concept_id'.*unique"):
        score_concepts(dup, needs, embedder=embedder)


def test_blank_description_is_quarantined_and_counted(concepts, needs, embedder):
    bad = concepts.copy()
    bad.loc[1, "description"] = "   "
    result = score_concepts(bad, needs, embedder=embedder)
    assert list(result.quarantine["concept_id"]) == ["opaque"]
    assert result.quarantine["reason"].iloc[0] == "description is empty"
    m = result.metrics
    assert m["rows_in"] == m["rows_used"] + m["rows_quarantined"] == 4
    assert "opaque" not in set(result.tables["scores"]["concept_id"])
    all_bad = concepts.assign(description="")
    with pytest.raises(InputError, match="no usable concept"):
        score_concepts(all_bad, needs, embedder=embedder)


def test_needs_from_another_embedder_are_rejected(concepts, needs, embedder):
    from launchlab.embeddings import HashingEmbedder

    with pytest.raises(InputError, match=r"centroid.*same embedding model"):
        score_concepts(concepts, needs, embedder=HashingEmbedder(dim=64))
    with pytest.raises(InputError, match="needs table is empty"):
        score_concepts(concepts, needs.iloc[:0], embedder=embedder)


def test_claims_as_pipe_separated_text_match_list(concepts, needs, embedder):
    as_text = concepts.assign(claims=[" | ".join(c) for c in concepts["claims"]])
    a = score_concepts(concepts, needs, embedder=embedder).tables["scores"]
    b = score_concepts(as_text, needs, embedder=embedder).tables["scores"]
    pd.testing.assert_series_equal(a["score"], b["score"])


def test_scorer_is_a_sklearn_estimator(concepts, needs, embedder):
    result = score_concepts(concepts, needs, embedder=embedder)
    scorer = result.models[MODEL_NAME]
    restored = pickle.loads(pickle.dumps(scorer))
    vecs = embedder.encode(["A thick tee that is not see through", "A kitchen appliance for eggs"])
    np.testing.assert_allclose(restored.predict(vecs), scorer.predict(vecs))
    assert restored.transform(vecs).shape == (2, len(COMPONENTS))
    fresh = clone(scorer)
    assert fresh.get_params() == scorer.get_params() and not hasattr(fresh, "centroids_")
    assert fresh.fit(needs) is fresh
    # Fitting on bare centroids works too (equal shares and pains).
    bare = ConceptScorer().fit(np.vstack(needs["centroid"].to_list()))
    assert bare.predict(vecs)[0] > bare.predict(vecs)[1]
    assert copy.deepcopy(scorer).effective_weights() == DEFAULT_WEIGHTS


def test_config_rejects_unknown_or_negative_weights():
    with pytest.raises(ValueError, match="unknown score components"):
        ConceptsConfig(weights={"novelty": 1.0})
    with pytest.raises(ValueError, match="non-negative"):
        ConceptsConfig(weights={"need_fit": -1.0})
    assert ConceptsConfig(weights={"need_fit": 1.0}).weights == {
        "need_fit": 1.0, "pain_relief": 0.0, "momentum": 0.0, "white_space": 0.0, "risk": 0.0
    }  # fmt: skip
    with pytest.raises(ValueError, match="must be positive"):
        ConceptsConfig(weights={"risk": 1.0})


def test_unmet_score_from_insight_drives_pain_relief(concepts, needs, embedder):
    # The insight stage ranks "love the color" as the worst unmet need: pain relief follows it.
    flipped = needs.assign(unmet_score=[0.1, 0.1, 0.9, 0.0])
    plain = _scores(score_concepts(concepts, needs, embedder=embedder))
    result = score_concepts(concepts, flipped, embedder=embedder)
    scores = _scores(result)
    assert result.params["pain_source"] == "unmet_score"
    assert plain.loc["print", "pain_relief"] < plain.loc["opaque", "pain_relief"]
    assert scores.loc["print", "pain_relief"] > scores.loc["opaque", "pain_relief"]
    np.testing.assert_allclose(scores["need_fit"], plain.loc[scores.index, "need_fit"])


def test_tables_survive_a_parquet_round_trip_and_one_need_works(concepts, needs, embedder, reviews, tmp_path):
    needs.to_parquet(tmp_path / "needs.parquet")
    concepts.to_parquet(tmp_path / "concepts.parquet")
    loaded_needs = pd.read_parquet(tmp_path / "needs.parquet")  # list columns come back as arrays
    loaded_concepts = pd.read_parquet(tmp_path / "concepts.parquet")
    a = score_concepts(concepts, needs, embedder=embedder, reviews=reviews)
    b = score_concepts(loaded_concepts, loaded_needs, embedder=embedder, reviews=reviews)
    pd.testing.assert_series_equal(a.tables["scores"]["score"], b.tables["scores"]["score"])
    for name, table in b.tables.items():
        table.to_parquet(tmp_path / f"{name}.parquet")
        assert len(pd.read_parquet(tmp_path / f"{name}.parquet")) == len(table)
    one = score_concepts(concepts, needs.iloc[[1]], embedder=embedder).tables["scores"].set_index("concept_id")
    assert one["score"].idxmax() == "opaque" and one.loc["opaque", "need_fit"] > 50


def test_trends_without_need_series_leave_momentum_out(concepts, needs, embedder):
    external = pd.DataFrame({"unique_id": ["uci-P1", "uci-P2"], "growth": [0.5, -0.2], "class": ["rising", "declining"]})
    with_external = score_concepts(concepts, needs, embedder=embedder, trends=external)
    without = score_concepts(concepts, needs, embedder=embedder)
    assert with_external.tables["scores"]["momentum"].isna().all()
    assert any("no need-<id> series" in w for w in with_external.warnings)
    assert with_external.params["momentum_scored"] is False
    pd.testing.assert_series_equal(with_external.tables["scores"]["score"], without.tables["scores"]["score"])
