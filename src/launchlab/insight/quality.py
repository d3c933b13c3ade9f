"""Topic quality measures of the needs: NPMI coherence and topic diversity of their keywords."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import CountVectorizer


def _top_words(keywords: Sequence[str], n: int) -> list[str]:
    """The first ``n`` distinct words of a need's keyphrases (bigrams contribute both words)."""
    words: list[str] = []
    for phrase in keywords:
        for w in phrase.split():
            if w not in words:
                words.append(w)
    return words[:n]


def topic_diversity(keywords: Sequence[Sequence[str]], n: int = 10) -> float:
    """Share of distinct words among the top ``n`` words of all needs (1 = no overlap)."""
    tops = [_top_words(k, n) for k in keywords]
    total = sum(len(t) for t in tops)
    return len({w for t in tops for w in t}) / total if total else float("nan")


def npmi_coherence(keywords: Sequence[Sequence[str]], texts: Sequence[str], n: int = 10) -> float:
    """Mean normalised PMI of word pairs within each need's top ``n`` words, with the texts as
    documents (co-occurrence = both words in one text). In [-1, 1]; higher is more coherent;
    pairs that never co-occur count as -1."""
    tops = [_top_words(k, n) for k in keywords]
    vocab = sorted({w for t in tops for w in t})
    if not vocab or not len(texts):
        return float("nan")
    vec = CountVectorizer(vocabulary=vocab, binary=True, token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z]+\b")
    docs = vec.transform([str(t) for t in texts]).tocsc().astype(np.float64)
    n_docs = docs.shape[0]
    p = np.asarray(docs.sum(axis=0)).ravel() / n_docs
    joint = (docs.T @ docs).toarray() / n_docs
    index = {w: i for i, w in enumerate(vocab)}
    scores = []
    for top in tops:
        pair_scores = []
        for a, b in itertools.combinations([index[w] for w in top], 2):
            pab = joint[a, b]
            if pab <= 0 or p[a] <= 0 or p[b] <= 0:
                pair_scores.append(-1.0)
            elif pab >= 1.0:
                pair_scores.append(1.0)
            else:
                pair_scores.append(float(np.log(pab / (p[a] * p[b])) / -np.log(pab)))
        if pair_scores:
            scores.append(float(np.mean(pair_scores)))
    return float(np.mean(scores)) if scores else float("nan")
