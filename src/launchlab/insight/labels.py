"""Readable need labels (class-based TF-IDF keyphrases) and representative quotes."""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from scipy import sparse
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, CountVectorizer

# Words that carry sentiment or filler but no need: they would otherwise label every need.
_EXTRA_STOP = {
    "love", "loved", "like", "liked", "great", "good", "really", "just", "nice", "bought", "buy",
    "ordered", "order", "got", "did", "does", "went", "way", "think", "thought", "also", "would",
    "wanted", "want", "one", "bit", "little", "lot", "overall", "definitely", "absolutely", "product",
    "item", "im", "ive", "dont", "didnt", "doesnt", "isnt", "wasnt", "stars", "star", "star",
    "amazing", "perfect", "beautiful", "wonderful", "excellent", "awesome", "pretty", "super", "very",
    "bad", "disappointed", "disappointing", "terrible", "awful", "happy", "glad", "sad", "sadly",
    "made", "make", "makes", "use", "used", "using", "thing", "things", "time", "times", "say", "said",
    "gorgeous", "lovely", "adorable", "stunning", "fantastic", "fabulous", "horrible", "ok", "okay", "winner",
    # Contraction stubs left by the tokenizer ("didn't" → "didn").
    "didn", "doesn", "don", "isn", "wasn", "weren", "aren", "couldn", "wouldn", "shouldn", "won", "ll", "ve",
    "going", "got", "get", "gets", "tried", "try", "came", "come", "comes", "look", "looks", "looked",
}
STOP_WORDS = frozenset(ENGLISH_STOP_WORDS | _EXTRA_STOP)
_WORD = re.compile(r"[a-z][a-z]+")
_CHUNK = re.compile(r"[.!?;:,()\n]+")


def phrase_terms(text: str) -> list[str]:
    """Unigrams and bigrams of the non-stop words of a text, never across punctuation, so
    "the zipper broke. battery died" gives "zipper broke" and "battery died" but not "broke battery"."""
    terms: list[str] = []
    for chunk in _CHUNK.split(str(text).lower()):
        words = [w for w in _WORD.findall(chunk) if w not in STOP_WORDS]
        terms.extend(words)
        terms.extend(f"{a} {b}" for a, b in zip(words, words[1:]))
    return terms


def class_tfidf_keywords(
    texts: Sequence[str], labels: np.ndarray, n_keywords: int = 10
) -> dict[int, list[str]]:
    """Top keyphrases (uni- and bigrams) per cluster by class-based TF-IDF.

    Each cluster's documents are joined into one; a term's weight is its frequency in the cluster,
    normalised by the cluster's length, times ``log(1 + A / f)`` where ``A`` is the mean cluster
    length and ``f`` the term's frequency over all clusters (BERTopic's c-TF-IDF). Unigrams already
    inside a chosen bigram are skipped so keywords are not repetitive.
    """
    labels = np.asarray(labels)
    ids = [int(c) for c in np.unique(labels) if c >= 0]
    if not ids:
        return {}
    rows = np.flatnonzero(labels >= 0)
    vec = CountVectorizer(analyzer=phrase_terms)
    try:
        doc_terms = vec.fit_transform([str(texts[i]) for i in rows]).tocsr()
    except ValueError:  # empty vocabulary: the texts are only stop words
        return {c: [] for c in ids}
    # Per-document counts summed per cluster (joining documents would invent bigrams across them).
    lab = labels[rows]
    member = sparse.csr_matrix((np.ones(len(rows)), (np.searchsorted(ids, lab), np.arange(len(rows)))),
                               shape=(len(ids), len(rows)))
    counts = np.asarray((member @ doc_terms).todense(), dtype=np.float64)
    present = doc_terms.copy()
    present.data[:] = 1
    support = np.asarray((member @ present).todense())
    terms = vec.get_feature_names_out()
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1.0)
    freq = counts.sum(axis=0)
    avg = counts.sum() / len(ids)
    weight = tf * np.log1p(avg / np.maximum(freq, 1.0))
    # A term used in a single review says nothing about a need.
    sizes = np.bincount(np.searchsorted(ids, lab), minlength=len(ids))
    weight = np.where((support >= 2) | (sizes[:, None] < 4), weight, 0.0)
    out: dict[int, list[str]] = {}
    for row, c in enumerate(ids):
        order = np.lexsort((terms, -weight[row]))
        chosen: list[str] = []
        for j in order:
            if weight[row, j] <= 0 or len(chosen) >= n_keywords:
                break
            term = terms[j]
            words = term.split()
            if any(term in kept.split() or (len(words) > 1 and set(words) <= set(kept.split()))
                   for kept in chosen):
                continue
            # A bigram that contains an already chosen unigram replaces it (more readable).
            chosen = [k for k in chosen if not (len(words) > 1 and k in words)]
            chosen.append(term)
        out[c] = chosen[:n_keywords]
    return out


def make_label(keywords: list[str], max_terms: int = 3) -> str:
    """A short readable label from the top keyphrases: ``"true to size / runs small"``."""
    return " / ".join(keywords[:max_terms]) if keywords else "(no keywords)"


def unique_labels(keywords: dict[int, list[str]], max_terms: int = 3) -> dict[int, str]:
    """Labels from keywords, extended with further keywords until no two needs share a label."""
    labels = {c: make_label(k, max_terms) for c, k in keywords.items()}
    seen: dict[str, int] = {}
    for c in sorted(labels):
        lab = labels[c]
        extra = max_terms
        while lab in seen and extra < len(keywords[c]):
            extra += 1
            lab = make_label(keywords[c], extra)
        if lab in seen:
            lab = f"{lab} ({c})"
        seen[lab] = c
        labels[c] = lab
    return labels


_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def best_sentence(text: str, keywords: list[str], max_chars: int = 280) -> str:
    """The review itself when short, else its sentence that mentions the need's keywords most."""
    text = " ".join(str(text).split())
    if len(text) <= max_chars:
        return text
    sentences = [s.strip() for s in _SENTENCE.split(text) if s.strip()]
    if not sentences:
        return text[:max_chars]
    words = [set(k.split()) for k in keywords]

    def score(s: str) -> tuple[int, int]:
        toks = set(re.findall(r"[a-z]+", s.lower()))
        return (sum(len(w & toks) for w in words), -abs(len(s) - 140))

    best = max(sentences, key=score)
    return best if len(best) <= max_chars else best[: max_chars - 1].rstrip() + "…"


def pick_quotes(
    texts: Sequence[str],
    embeddings: np.ndarray,
    centroid: np.ndarray,
    keywords: list[str],
    n_quotes: int,
    max_similarity: float = 0.9,
    min_words: int = 5,
) -> list[str]:
    """Up to ``n_quotes`` real, non-duplicate quotes closest to the need's centroid.

    Candidates are taken in order of cosine similarity to the centroid, those of at least
    ``min_words`` words first; a candidate is skipped when its normalised text repeats a chosen
    quote or its embedding is a near-duplicate (cosine > ``max_similarity``) of one.
    """
    if n_quotes <= 0 or len(texts) == 0:
        return []
    sims = embeddings @ centroid
    # Quotes of a few words ("Love it!") say little about the need: they go after the others.
    short = np.array([len(str(t).split()) < min_words for t in texts])
    order = np.lexsort((np.arange(len(sims)), -sims, short))
    quotes: list[str] = []
    chosen_vecs: list[np.ndarray] = []
    seen: set[str] = set()
    for i in order:
        quote = best_sentence(texts[i], keywords)
        key = re.sub(r"[^a-z0-9]+", " ", quote.lower()).strip()
        if not key or key in seen:
            continue
        if any(float(embeddings[i] @ v) > max_similarity for v in chosen_vecs):
            continue
        quotes.append(quote)
        seen.add(key)
        chosen_vecs.append(embeddings[i])
        if len(quotes) >= n_quotes:
            break
    return quotes
