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
    balanced_weights,
    build,
    clothing_split,
    load_semeval14,
    normalise_text,
    semeval14_sources,
)
from launchlab.insight.evaluate import balanced_polarity_accuracy
from launchlab.insight.sentiment import SentimentHead, describe_default_head, load_default_head

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
    assert names == ["semeval14_restaurants", "semeval14_laptops", "clothing_reviews"]
    assert meta["info"]["semeval14_removed_as_semeval15_duplicates"] == {"restaurants": 1, "laptops": 1}
    assert meta["info"]["n_train"] == sum(s["n"] for s in meta["info"]["sources"]) == info["n_train"]
    assert meta["info"]["C"] in (1.0, 3.0) and meta["info"]["clothing_weight"] in (0.1, 0.3)
    assert len(meta["info"]["selection_cv_accuracy"]) == 4
    held_out = meta["info"]["held_out"]
    assert held_out["semeval15_restaurants"]["n"] == 21 and held_out["semeval15_laptops"]["n"] == 21
    # The word-coded toy sentences are easy: a working build separates them.
    assert held_out["semeval15_restaurants"]["accuracy"] > 0.8 and held_out["clothing_reviews"]["accuracy"] > 0.8
    assert set(meta["info"]["in_domain_cv"]) == {"semeval15_restaurants", "semeval15_laptops"}
    head = load_default_head(out, model_id="hashing-64", dim=64)
    pol = head.polarity(emb.encode(["It was great and lovely.", "It was awful and broken."]))
    assert -1 <= pol[1] < 0 < pol[0] <= 1
    again = tmp_path / "again.json"
    build(absa, clothing, again, seed=1, clothing_held_out=60, embedder=emb)
    assert again.read_bytes() == out.read_bytes()
    assert json.loads(out.read_text())["format_version"] == 1
