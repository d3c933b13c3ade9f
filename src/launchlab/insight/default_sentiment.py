"""Build the default sentiment model shipped in ``models/sentiment/``.

    python -m launchlab.insight.default_sentiment [--data PARQUET] [--n 8000] [--seed 42] [--out FILE]
                                                  [--cache-dir DIR]

Trains a :class:`~launchlab.insight.sentiment.SentimentHead` on real-model embeddings of the
CC0 Women's E-Commerce Clothing Reviews (text = Title + Review Text; 1-2 stars negative, 4-5
positive, 3 left out), a seeded subsample to keep the build to a few minutes on two cores, and
writes plain JSON coefficients together with the embedder's model id, the training data and the
cross-validated accuracy. Nothing here runs at import.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from launchlab import __version__
from launchlab.insight.sentiment import (
    SentimentHead,
    cross_validated_accuracy,
    default_sentiment_path,
    save_default_head,
    star_labels,
)

CLOTHING = Path(__file__).resolve().parents[4] / "shared" / "data" / "reviews" / "womens_clothing_reviews.parquet"
# 5-fold CV log-loss on the clothing sample over C in {0.3, 1, 3, 10}: 0.202 / 0.172 / 0.160 / 0.157;
# C = 3 is within noise of the best and transfers better to other domains (models/sentiment/README.md).
DEFAULT_C = 3.0


def clothing_texts(path: Path) -> tuple[list[str], np.ndarray]:
    """Texts (Title + Review Text) and star ratings of the clothing reviews that have a review text."""
    df = pd.read_parquet(path, columns=["Title", "Review Text", "Rating"])
    df = df[df["Review Text"].notna() & (df["Review Text"].str.strip() != "")]
    title = df["Title"].fillna("").str.strip()
    body = df["Review Text"].str.strip()
    texts = [f"{t}. {b}" if t else b for t, b in zip(title, body)]
    return texts, df["Rating"].to_numpy(dtype=float)


def build(
    data: Path = CLOTHING,
    out: Path | None = None,
    *,
    n: int = 8000,
    seed: int = 42,
    C: float = DEFAULT_C,
    embedder=None,
    cache_dir: Path | None = None,
) -> dict:
    """Embed a seeded sample of the clothing reviews, fit the head, write it, return its metadata."""
    from launchlab.embeddings import SentenceTransformerEmbedder

    embedder = embedder or SentenceTransformerEmbedder()
    if cache_dir is not None:
        from launchlab.insight.cache import CachedEmbedder

        embedder = CachedEmbedder(embedder, cache_dir)
    texts, rating = clothing_texts(data)
    y_all = star_labels(rating)
    usable = np.flatnonzero(y_all >= 0)
    rng = np.random.default_rng(seed)
    pick = np.sort(rng.choice(usable, size=min(n, len(usable)), replace=False))
    started = time.perf_counter()
    X = embedder.encode([texts[i] for i in pick], batch_size=64)
    embed_seconds = time.perf_counter() - started
    y = y_all[pick]
    cv = cross_validated_accuracy(X, y, folds=5, seed=seed, C=C)
    head = SentimentHead(C=C, seed=seed).fit(X, y)
    info = {
        "data": "Women's E-Commerce Clothing Reviews (Kaggle nicapotato, CC0), Title + Review Text",
        "labels": "stars 1-2 negative, 4-5 positive, 3 excluded",
        "n_train": int(len(pick)),
        "n_negative": int(np.sum(y == 0)),
        "n_positive": int(np.sum(y == 1)),
        "seed": seed,
        "C": C,
        "class_weight": None,
        "cv_accuracy": round(cv.get("accuracy", float("nan")), 4),
        "cv_balanced_accuracy": round(cv.get("balanced_accuracy", float("nan")), 4),
        "built_with": f"launchlab {__version__}: python -m launchlab.insight.default_sentiment --n {n} --seed {seed}",
    }
    info.update(_semeval_accuracy(head, embedder))
    out = out or default_sentiment_path()
    save_default_head(head, out, model_id=embedder.model_id, info=info)
    return {**info, "out": str(out), "embed_seconds": round(embed_seconds, 1)}


def _semeval_accuracy(head: SentimentHead, embedder) -> dict:
    """Held-out sentence polarity accuracy on SemEval-2015 (when the files are there)."""
    from launchlab.insight.evaluate import ABSA, SEMEVAL15, load_semeval15, polarity_accuracy

    out = {}
    for domain, name in SEMEVAL15.items():
        if not (ABSA / name).is_file():
            continue
        df = load_semeval15(ABSA / name)
        df = df[df["polarity"].notna()]
        X = embedder.encode(df["text"].tolist(), batch_size=64)
        out[f"semeval15_{domain}_sentence_accuracy"] = round(polarity_accuracy(head.polarity(X), df["polarity"]), 4)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=CLOTHING, help="womens_clothing_reviews.parquet")
    parser.add_argument("--n", type=int, default=8000, help="reviews sampled for training (seeded)")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--C", type=float, default=DEFAULT_C, help="inverse regularisation strength")
    parser.add_argument("--out", type=Path, default=None, help="output JSON (default: models/sentiment/)")
    parser.add_argument("--cache-dir", type=Path, default=None, help="embedding cache directory (optional)")
    args = parser.parse_args(argv)
    if not args.data.is_file():
        print(f"{args.data}: not found; pass --data PATH to womens_clothing_reviews.parquet", file=sys.stderr)
        return 2
    info = build(args.data, args.out, n=args.n, seed=args.seed, C=args.C, cache_dir=args.cache_dir)
    for key, value in info.items():
        print(f"{key}: {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
