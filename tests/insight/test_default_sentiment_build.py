"""Building the default sentiment head: SemEval-2014 loading, deduplication against 2015, the
clothing split, sample weights, and a whole (tiny, hashing-embedder) build."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from launchlab.embeddings import HashingEmbedder
from launchlab.insight.default_sentiment import (
    GRID_LAYER_C,
    GRID_LAYERS,
    balanced_weights,
    build,
    clothing_split,
    load_semeval14,
    normalise_text,
    semeval14_sources,
)
from launchlab.insight.evaluate import balanced_polarity_accuracy
from launchlab.insight.sentiment import (
    LayerHead,
    SentimentHead,
    describe_default_head,
    fit_standardised,
    load_default_head,
    load_default_layer_head,
    save_default_head,
)

GOOD = ["great", "lovely", "excellent", "delicious", "perfect", "superb"]
BAD = ["awful", "terrible", "broken", "rude", "bland", "horrible"]


def _sentence(i: int, positive: bool, thing: str) -> str:
    words = GOOD if positive else BAD
    return f"The {thing} number {i} was {words[i % 6]} and {words[(i + 1) % 6]}."


def _xml14(path, rows):
    """``rows``: (text, [term polarities], [category polarities])."""
    body = []
    for i, (text, terms, cats) in enumerate(rows):
        t = "".join(f'<aspectTerm term="x" polarity="{p}" from="0" to="1"/>' for p in terms)
        c = "".join(f'<aspectCategory category="food" polarity="{p}"/>' for p in cats)
        body.append(f'<sentence id="{i}"><text>{text}</text>'
                    + (f"<aspectTerms>{t}</aspectTerms>" if t else "")
                    + (f"<aspectCategories>{c}</aspectCategories>" if c else "") + "</sentence>")
    path.write_text('<?xml version="1.0" encoding="UTF-8"?><sentences>' + "".join(body) + "</sentences>")


def _xml15(path, rows):
    """``rows``: (text, [opinion polarities])."""
    body = []
    for i, (text, pols) in enumerate(rows):
        ops = "".join(f'<Opinion target="x" category="FOOD#QUALITY" polarity="{p}" from="0" to="1"/>' for p in pols)
        body.append(f'<sentence id="r:{i}"><text>{text}</text><Opinions>{ops}</Opinions></sentence>')
    path.write_text('<?xml version="1.0" encoding="UTF-8"?><Reviews><Review rid="r"><sentences>'
                    + "".join(body) + "</sentences></Review></Reviews>")


@pytest.fixture
def corpus(tmp_path):
    absa = tmp_path / "absa"
    absa.mkdir()
    shared = {"restaurants": "The soup was great and lovely.", "laptops": "The screen was awful and broken."}
    for domain, thing in (("restaurants", "dish"), ("laptops", "keyboard")):
        rows14 = [(_sentence(i, i % 2 == 0, thing), ["positive" if i % 2 == 0 else "negative"], []) for i in range(24)]
        rows14 += [(shared[domain].upper().replace(".", "!"), ["positive"], []), ("So-so.", ["neutral"], [])]
        _xml14(absa / f"semeval14_{domain}_train.xml", rows14)
        rows15 = [(_sentence(i + 100, i % 2 == 0, thing), ["positive" if i % 2 == 0 else "negative"]) for i in range(20)]
        _xml15(absa / f"semeval15_{domain}_train.xml", rows15 + [(shared[domain], ["positive"])])
    rating = np.tile([5, 1, 4, 2, 3, 5, 5, 4], 40)
    texts = [_sentence(i, r >= 4, "dress") if r != 3 else f"The dress {i} is a dress." for i, r in enumerate(rating)]
    clothing = tmp_path / "clothing.parquet"
    pd.DataFrame({"Title": [f"Title {i}" for i in range(len(rating))], "Review Text": texts, "Rating": rating}).to_parquet(clothing)
    return absa, clothing


def test_normalise_text_ignores_case_punctuation_and_spacing():
    assert normalise_text("  The FOOD was   great!! ") == normalise_text("the food was great") == "the food was great"
    assert normalise_text("don't") == "don t" != normalise_text("dont")


def test_semeval14_polarity_needs_all_opinions_to_agree(tmp_path):
    path = tmp_path / "s14.xml"
    _xml14(path, [("a", ["positive"], ["positive"]), ("b", ["positive"], ["negative"]), ("c", ["negative", "negative"], []),
                  ("d", [], ["neutral"]), ("e", ["conflict"], []), ("f", [], [])])
    df = load_semeval14(path)
    assert df["text"].tolist() == ["a", "b", "c", "d", "e"]  # "f" has no opinions at all
    assert df["polarity"].tolist() == ["positive", None, "negative", None, None]


def test_semeval14_sentences_that_occur_in_2015_are_removed(corpus):
    absa, _ = corpus
    exclude = {normalise_text("The soup was great and lovely."), normalise_text("The screen was awful and broken.")}
    sources, removed = semeval14_sources(absa, exclude)
    assert removed == {"restaurants": 1, "laptops": 1}
    for source in sources:
        assert len(source.texts) == len(source.y) == 24  # 26 sentences, one neutral, one duplicate
        assert not {normalise_text(t) for t in source.texts} & exclude
    untouched, none_removed = semeval14_sources(absa, set())
    assert none_removed == {"restaurants": 0, "laptops": 0} and len(untouched[0].texts) == 25


def test_clothing_split_is_balanced_disjoint_and_seeded(corpus):
    _, clothing = corpus
    train, test = clothing_split(clothing, seed=3, held_out_size=60)
    assert len(test.y) == 60 and set(np.unique(test.y)) == {0, 1}
    assert np.sum(train.y == 0) == np.sum(train.y == 1) > 0
    assert not set(train.texts) & set(test.texts)
    again, _ = clothing_split(clothing, seed=3, held_out_size=60)
    assert again.texts == train.texts
    assert clothing_split(clothing, seed=4, held_out_size=60)[0].texts != train.texts


def test_sample_weight_moves_the_head_and_balanced_weights_equalise_classes():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 6))
    y = (X[:, 0] + 0.8 * rng.normal(size=300) > -0.5).astype(int)
    w = balanced_weights(y)
    assert np.isclose(w[y == 0].sum(), w[y == 1].sum()) and np.isclose(w.mean(), 1.0)
    plain = SentimentHead().fit(X, y)
    weighted = SentimentHead().fit(X, y, sample_weight=w)
    assert weighted.intercept_[0] < plain.intercept_[0]  # the majority (positive) class counts less
    assert np.mean(weighted.predict(X)[y == 0] == 0) > np.mean(plain.predict(X)[y == 0] == 0)
    ones = SentimentHead().fit(X, y, sample_weight=np.ones(len(y)))
    assert np.allclose(ones.coef_, plain.coef_)
    prior = SentimentHead().fit(X[:4], np.ones(4), sample_weight=np.array([1.0, 2.0, 3.0, 4.0]))
    assert (prior.polarity(X) > 0.9).all()
    assert clone(weighted).get_params() == weighted.get_params()
    with pytest.raises(ValueError):
        SentimentHead().fit(X, y, sample_weight=np.ones(3))


def test_balanced_polarity_accuracy():
    gold = pd.Series(["positive"] * 8 + ["negative"] * 2)
    always_positive = np.ones(10)
    assert balanced_polarity_accuracy(always_positive, gold) == 0.5
    assert balanced_polarity_accuracy(np.r_[np.ones(8), -np.ones(2)], gold) == 1.0


def test_build_writes_a_reproducible_head_with_its_provenance(corpus, tmp_path):
    absa, clothing = corpus
    emb = HashingEmbedder(64)
    out = tmp_path / "head.json"
    info = build(absa, clothing, out, seed=1, clothing_held_out=60, embedder=emb)
    meta = describe_default_head(out)
    assert meta["embedder_model_id"] == "hashing-64" and meta["dim"] == 64 and "coef" not in meta
    names = [s["name"] for s in meta["info"]["sources"]]
    assert names == ["semeval14_restaurants", "semeval14_laptops", "semeval15_restaurants", "semeval15_laptops", "clothing_reviews"]
    assert meta["info"]["semeval14_removed_as_semeval15_duplicates"] == {"restaurants": 1, "laptops": 1}
    assert meta["info"]["n_train"] == sum(s["n"] for s in meta["info"]["sources"]) == info["n_train"]
    assert meta["info"]["C"] in (1.0, 3.0) and meta["info"]["clothing_weight"] in (0.1, 0.3)
    assert len(meta["info"]["selection_cv_accuracy"]) == 4
    # No hidden layers to read: only the sentence head is built.
    assert "layer_head" not in meta and set(meta["info"]["in_domain_cv"]) == {"sentence"}
    in_domain, cross_year = meta["info"]["in_domain_cv"]["sentence"], meta["info"]["cross_year"]["sentence"]
    assert in_domain["semeval15_restaurants"]["n"] == 21 and cross_year["semeval15_laptops"]["n"] == 21
    # The word-coded toy sentences are easy: a working build separates them.
    assert in_domain["semeval15_restaurants"]["accuracy"] > 0.8 and cross_year["semeval15_laptops"]["accuracy"] > 0.8
    assert meta["info"]["held_out"]["clothing_reviews"]["sentence"]["accuracy"] > 0.8
    assert load_default_layer_head(out, model_id="hashing-64", dim=64) is None
    head = load_default_head(out, model_id="hashing-64", dim=64)
    pol = head.polarity(emb.encode(["It was great and lovely.", "It was awful and broken."]))
    assert -1 <= pol[1] < 0 < pol[0] <= 1
    again = tmp_path / "again.json"
    build(absa, clothing, again, seed=1, clothing_held_out=60, embedder=emb)
    assert again.read_bytes() == out.read_bytes()
    assert json.loads(out.read_text())["format_version"] == 2


def test_build_with_hidden_layers_adds_a_layer_head_chosen_on_semeval14(corpus, tmp_path, layered_hashing):
    absa, clothing = corpus
    emb = layered_hashing(64)
    out = tmp_path / "layers.json"
    build(absa, clothing, out, seed=1, clothing_held_out=60, embedder=emb)
    meta = describe_default_head(out)
    info = meta["info"]
    assert tuple(info["layers"]) in GRID_LAYERS and info["layer_C"] in GRID_LAYER_C
    assert len(info["layer_selection_cv_accuracy"]) == len(GRID_LAYERS) * len(GRID_LAYER_C)
    # The recorded choice is the grid's best (first of ties) on SemEval-2014.
    best = max(info["layer_selection_cv_accuracy"].values())
    chosen = f"layers={'-'.join(map(str, info['layers']))},C={info['layer_C']:g}"
    assert info["layer_selection_cv_accuracy"][chosen] == best
    assert set(info["in_domain_cv"]) == set(info["cross_year"]) == {"sentence", "layers"}
    assert meta["layer_head"]["layers"] == info["layers"] and "coef" not in meta["layer_head"]

    layer = load_default_layer_head(out, model_id=emb.model_id, dim=64)
    assert layer is not None and layer.layers == tuple(info["layers"])
    assert layer.head.coef_.shape == (1, 64 * (1 + len(layer.layers))) and not layer.head.coef_[0, :64].any()
    features = emb.with_layers(layer.layers).encode(["It was great and lovely.", "It was awful and broken."])
    pol = layer.head.polarity(features)
    assert -1 <= pol[1] < pol[0] <= 1
    assert all(v["accuracy"] > 0.8 for v in info["in_domain_cv"]["layers"].values())
    # The sentence head is still there, for the need model's direction and sentence-only input.
    assert load_default_head(out, model_id=emb.model_id, dim=64).coef_.shape == (1, 64)
    assert load_default_layer_head(out, model_id=emb.model_id, dim=32) is None
    again = tmp_path / "again.json"
    build(absa, clothing, again, seed=1, clothing_held_out=60, embedder=emb)
    assert again.read_bytes() == out.read_bytes()


def test_fit_standardised_folds_the_scaling_into_the_coefficients():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(3)
    X = rng.normal(size=(400, 5)) * np.array([100.0, 0.01, 1.0, 5.0, 0.5]) + np.array([7.0, -3.0, 0.0, 50.0, 1.0])
    y = ((X[:, 0] - 7.0) / 100 + (X[:, 1] + 3.0) / 0.01 + rng.normal(size=400) > 0).astype(int)
    head = fit_standardised(X, y, C=0.05)
    reference = make_pipeline(StandardScaler(), LogisticRegression(C=0.05, max_iter=2000)).fit(X, y)
    assert np.allclose(head.predict_proba(X)[:, 1], reference.predict_proba(X)[:, 1], atol=1e-4)
    # Without standardising, C = 0.05 would all but ignore the tiny-scale feature that matters.
    raw = SentimentHead(C=0.05).fit(X, y)
    assert np.mean(head.predict(X) == y) > np.mean(raw.predict(X) == y) + 0.05


def test_a_layer_head_must_not_weigh_the_sentence_embedding(tmp_path):
    sentence = SentimentHead.from_coefficients(np.ones(4), 0.0)
    bad = LayerHead((2,), SentimentHead.from_coefficients(np.ones(8), 0.0))
    with pytest.raises(ValueError, match="no weight"):
        save_default_head(sentence, tmp_path / "x.json", model_id="m", info={}, layer_head=bad)
    good = LayerHead((2,), SentimentHead.from_coefficients(np.r_[np.zeros(4), np.arange(4.0)], 0.5))
    save_default_head(sentence, tmp_path / "x.json", model_id="m", info={}, layer_head=good)
    loaded = load_default_layer_head(tmp_path / "x.json", model_id="m", dim=4)
    assert np.array_equal(loaded.head.coef_, good.head.coef_) and loaded.head.intercept_[0] == 0.5
